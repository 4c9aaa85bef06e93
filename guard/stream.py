"""Sentence-at-a-time release of a streamed reply (contract §7: streamed, text is released only
after it was checked, a sentence at a time).

`StreamGuard` is pure (no I/O, no clock): the proxy feeds it the model's deltas and relays what
it returns. How it decides:

- Deltas accumulate. As soon as the unreleased text holds a complete sentence (it ends at a
  contract §3 terminator or line break), the whole reply so far is evaluated with the policy —
  the whole prefix, so reply-level limits and context-dependent checks see everything — and the
  new sentence is released, masked or fixed if the verdict revised it. A sentence is released on
  its own last token: a closing quote that arrives later simply joins the next check.
- At most one sentence is held back: the one still being written. A sentence that grows past the
  policy's `length.sentence_max` is already a violation, so it is checked right then; if its
  action stops the reply it stops now. Any sentence past `max_sentence_chars` (its characters,
  the whitespace around it not counted; with it, twice that) fails closed: the one still being
  written as soon as it grows past it, a completed one before it is checked, however the deltas
  cut it.
- The text is made valid Unicode as it comes in (`mend_surrogates`): a JSON-escaped UTF-16
  surrogate pair becomes its character, even split across two deltas (a trailing high surrogate
  waits for the next delta), and a surrogate left alone becomes U+FFFD. What is checked,
  released and recorded is that text.
- A blocking verdict stops the stream: the policy's fallback sentence is released after what was
  already released and `finish_reason` is `content_filter`. A truncating verdict stops it too,
  with what was released so far.
- Regeneration: released text cannot be taken back, so a `regenerate` finding asks the model
  again only while nothing has been released yet (`wants_regenerate`); after that it blocks.
- `fail()` is called when the upstream breaks (disconnect, malformed chunk, timeout): fallback.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from guard.checks.length import LengthCheck
from guard.engine import evaluate
from guard.policy.model import Policy
from guard.text.sentences import CLOSERS, LINE_BREAKS, TERMINATORS, split_sentences
from guard.types import Action, CustomerRecord, Decision, Verdict

__all__ = ["StreamGuard", "StreamOutcome", "mend_surrogates"]

_ENDED = re.compile(rf"(?:[{TERMINATORS}]+[{re.escape(CLOSERS)}]*|[{LINE_BREAKS}])\s*\Z")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def mend_surrogates(text: str) -> str:
    """`text` as valid Unicode: each UTF-16 surrogate pair (JSON `\\ud83d\\ude00`) joined into
    its character, each surrogate left alone replaced by U+FFFD. Such a string cannot be encoded
    as UTF-8 (not for the client, not for the ledger), and the checks would raise on it.
    The text itself when it has no surrogate (the search is the only cost then)."""
    if _SURROGATE.search(text) is None:
        return text
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def _too_long(sentence: str, limit: int) -> bool:
    """Whether a sentence (or the start of one) is past the cap: more than `limit` characters, the
    whitespace around it not counted (whitespace after a sentence end goes with that sentence or,
    cut off from it by a delta boundary, with the next one: either way the same sentences are past
    the cap), or more than twice `limit` with it (a run of whitespace is held back too)."""
    n = len(sentence)
    return n > limit and (n > 2 * limit or len(sentence.strip()) > limit)


def _sentence_limit(policy: Policy) -> int | None:
    for check in policy.checks:
        if isinstance(check, LengthCheck):
            return check.config.sentence_max
    return None


@dataclass
class StreamOutcome:
    """How the stream ended: the decision, its codes and what the customer got in total."""

    decision: Decision
    codes: list[str]
    released: str
    finish_reason: str | None
    verdict: Verdict | None
    error: str | None = None


class StreamGuard:
    """Checks a streamed reply sentence by sentence; see the module docstring."""

    def __init__(
        self,
        policy: Policy,
        record: CustomerRecord,
        *,
        model_in_loop: bool = False,
        max_sentence_chars: int = 1000,
        timings: dict[str, float] | None = None,
    ) -> None:
        self.policy = policy
        # Each check's run time over every evaluation of this stream, in ms (for the audit record);
        # the caller may pass one dict to add up several streams of a call.
        self.timings: dict[str, float] = {} if timings is None else timings
        self.record = record
        self.model_in_loop = model_in_loop
        self.max_sentence_chars = max_sentence_chars
        self.sentence_limit = _sentence_limit(policy)
        self.source = ""  # everything the model sent
        self.checked = 0  # source[:checked] has been checked and released (as `released`)
        self.evaluated = 0  # source[:evaluated] is what the last verdict looked at
        self.released = ""
        self.done = False
        self.wants_regenerate = False
        self.blocked = False
        self.revised = False
        self.error: str | None = None
        self.verdict: Verdict | None = None
        self._over_limit_checked = False
        self._high = ""  # a high surrogate that ended the last delta: its low half may come next

    # -- feeding ---------------------------------------------------------------------------

    def feed(self, delta: str) -> str:
        """Add a delta; return the text that may be released now ('' if none)."""
        if self.done or not delta:
            return ""
        if self._high or _SURROGATE.search(delta) is not None:
            delta = self._mend(delta)
            if not delta:
                return ""
        self.source += delta
        pending = self.source[self.checked :]
        pieces = split_sentences(pending)
        if not pieces:
            return ""
        last = pieces[-1]
        complete_end = last.end if _ENDED.search(last.text) else (pieces[-2].end if len(pieces) > 1 else 0)
        if complete_end:
            for piece in pieces:
                if piece.end > complete_end:
                    break
                if _too_long(piece.text, self.max_sentence_chars):
                    # A completed sentence past the cap: the ones before it are checked as usual,
                    # then the stream stops, as it would have had the sentence come in pieces.
                    out = self._check(self.checked + piece.start) if piece.start else ""
                    if self.done:
                        return out
                    self.error = "sentence_too_long"
                    return out + self._block(None)
            out = self._check(self.checked + complete_end)
            if self.done:
                return out
            rest = split_sentences(self.source[self.checked :])
            return out + self._check_open_sentence(rest[-1].length if rest else 0)
        return self._check_open_sentence(last.length)

    def _mend(self, delta: str) -> str:
        """The delta as valid Unicode (`mend_surrogates`), with the high surrogate the last one
        ended with in front; a high surrogate at its end is held for the next delta."""
        text = self._high + delta
        if 0xD800 <= ord(text[-1]) <= 0xDBFF:
            self._high = text[-1]
            text = text[:-1]
        else:
            self._high = ""
        return mend_surrogates(text)

    def _check_open_sentence(self, length: int) -> str:
        """The sentence still being written: stop early if it is already too long."""
        held = len(self.source) - self.checked
        if held > self.max_sentence_chars and _too_long(self.source[self.checked :], self.max_sentence_chars):
            self.error = "sentence_too_long"
            return self._block(None)
        if self.sentence_limit is None or length <= self.sentence_limit or self._over_limit_checked:
            return ""
        self._over_limit_checked = True
        self.evaluated = len(self.source)
        verdict = evaluate(
            self.policy, self.record, self.source, model_in_loop=self._in_loop, timings=self.timings
        )
        if verdict.decision is Decision.BLOCK or _truncates(verdict):
            return self._apply(verdict, len(self.source))
        return ""  # the limit's action lets it pass (warn): hold it until it is complete

    def finish(self) -> str:
        """The upstream finished normally: check the rest; return the text to release."""
        if self.done:
            return ""
        out = ""
        if self._high:  # a high surrogate nothing followed
            self._high = ""
            out = self.feed("\ufffd")
            if self.done:
                return out
        if self.checked < len(self.source) or not self.verdict:
            out += self._check(len(self.source))
        self.done = True
        return out

    def fail(self, reason: str) -> str:
        """The upstream broke: stop with the fallback (fail closed)."""
        if self.done:
            return ""
        self.error = reason
        return self._block(None)

    # -- deciding --------------------------------------------------------------------------

    @property
    def _in_loop(self) -> bool:
        return self.model_in_loop and not self.released

    @property
    def evaluated_source(self) -> str:
        """The part of the model's text the last verdict looked at; its findings' spans index it.
        Anything after it was never checked (e.g. held back when the stream stopped)."""
        return self.source[: self.evaluated]

    def _check(self, upto: int) -> str:
        self.evaluated = upto
        verdict = evaluate(
            self.policy, self.record, self.source[:upto], model_in_loop=self._in_loop, timings=self.timings
        )
        return self._apply(verdict, upto)

    def _apply(self, verdict: Verdict, upto: int) -> str:
        self.verdict = verdict
        if verdict.decision is Decision.BLOCK:
            if verdict.regenerate and not self.released:
                self.wants_regenerate = True
                self.done = True
                return ""
            return self._block(verdict)
        revised_text = verdict.released or ""
        truncated = _truncates(verdict)
        if revised_text.startswith(self.released):
            new = revised_text[len(self.released) :]
        elif truncated and self.released.startswith(revised_text):
            new = ""
        else:
            # The verdict revised text that is already out: it cannot be taken back. Stop.
            return self._block(verdict)
        if verdict.decision is Decision.REVISE:
            self.revised = True
        self.released += new
        self.checked = upto
        self._over_limit_checked = False
        if truncated:
            self.done = True
        return new

    def _block(self, verdict: Verdict | None) -> str:
        if verdict is not None:
            self.verdict = verdict
        self.blocked = True
        self.done = True
        fallback = self.policy.fallback or ""
        self.released += fallback
        return fallback

    # -- result ----------------------------------------------------------------------------

    def outcome(self, upstream_finish_reason: str | None = "stop") -> StreamOutcome:
        """The decision for the whole stream (call after it is done)."""
        codes = self.verdict.codes if self.verdict is not None else []
        finish: str | None
        if self.blocked:
            decision, finish = Decision.BLOCK, "content_filter"
        elif self.revised:
            decision = Decision.REVISE
            finish = "stop" if self.verdict and _truncates(self.verdict) else upstream_finish_reason
        else:
            decision, finish = Decision.ALLOW, upstream_finish_reason
        return StreamOutcome(
            decision=decision,
            codes=list(codes),
            released=self.released,
            finish_reason=finish,
            verdict=self.verdict,
            error=self.error,
        )


def _truncates(verdict: Verdict) -> bool:
    return verdict.decision is not Decision.BLOCK and any(f.action is Action.TRUNCATE for f in verdict.violations)
