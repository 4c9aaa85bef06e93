"""The pure decision engine: `evaluate(policy, record, reply) -> Verdict`.

No I/O, and no clock in any decision: the same code serves the proxy, the streaming path,
`guard check` and tests. (A caller may pass `timings=` to learn each check's run time for its
audit record; that measurement never feeds the verdict.)

Decision rules (contract §5), from the actions the policy gave each finding:
- any `block`, or `regenerate` → block: the policy's fallback is released. With a model in the
  loop, `regenerate` also sets `Verdict.regenerate` and the corrections to send it;
- else `truncate` → the reply is cut before the sentence holding the earliest such finding;
- then `mask` / `fix` replace their spans with the check's replacement text;
- `warn` changes nothing (the finding is still listed).
A revised text is checked again with the same policy; if anything but a `warn` remains, the reply
is blocked. So whatever the decision, the released text carries no finding that must not pass.
A check that raises fails closed: the reply is blocked with a `guard.check_error` finding.

Campaigns: the engine reads no clock, so the caller passes the date (`today=`); the policy's
campaign variant in force on that date is used (`Policy.on`). Without `today` no campaign applies:
the base policy is evaluated.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence

from guard.checks.base import CheckInput
from guard.policy.model import Policy
from guard.text.sentences import Sentence, split_sentences
from guard.types import Action, CustomerRecord, Decision, Finding, Verdict

__all__ = ["apply_revisions", "evaluate", "run_checks"]

_STOPPING = (Action.BLOCK, Action.REGENERATE)


def run_checks(
    policy: Policy,
    record: CustomerRecord,
    reply: str,
    sentences: Sequence[Sentence] | None = None,
    *,
    timings: dict[str, float] | None = None,
) -> list[Finding]:
    """Every finding of every check of `policy` on `reply`, sorted by position then code.

    `timings`: see `evaluate`.
    """
    if sentences is None:
        sentences = split_sentences(reply)
    inp = CheckInput(reply, record, sentences)
    findings: list[Finding] = []
    clock = time.perf_counter
    for check in policy.checks:
        started = clock() if timings is not None else 0.0
        try:
            findings.extend(check.run(inp))
        except Exception as exc:  # fail closed: a broken check blocks, it never lets text through
            findings.append(
                Finding(
                    code="guard.check_error",
                    start=0,
                    end=len(reply),
                    detail=f"检查 {check.name} 出错（{type(exc).__name__}），按失败关闭处理",
                    action=Action.BLOCK,
                )
            )
        if timings is not None:
            timings[check.name] = timings.get(check.name, 0.0) + (clock() - started) * 1000
    findings.sort(key=lambda f: (f.start, f.end, f.code))
    return findings


def _cut_point(findings: Sequence[Finding], sentences: Sequence[Sentence]) -> int | None:
    """Start of the sentence holding the earliest `truncate` finding, or None."""
    starts = [f.start for f in findings if f.action is Action.TRUNCATE]
    if not starts:
        return None
    first = min(starts)
    for s in sentences:
        if s.start <= first < s.end:
            return s.start
    return first


def apply_revisions(reply: str, findings: Sequence[Finding], cut: int | None = None) -> str:
    """Apply `mask`/`fix` replacements left of `cut`; overlapping spans merge into one mask."""
    limit = len(reply) if cut is None else cut
    edits: list[tuple[int, int, str]] = []
    for f in findings:
        if f.action not in (Action.MASK, Action.FIX) or f.replacement is None or f.start >= limit:
            continue
        start, end, rep = f.start, min(f.end, limit), f.replacement
        if f.end > limit:
            rep = rep[: end - start]
        if edits and start < edits[-1][1]:
            # Two findings claim overlapping characters: mask the union rather than guess.
            p_start, p_end, _ = edits[-1]
            new_end = max(p_end, end)
            edits[-1] = (p_start, new_end, "*" * (new_end - p_start))
            continue
        edits.append((start, end, rep))
    out: list[str] = []
    pos = 0
    for start, end, rep in edits:
        out.append(reply[pos:start])
        out.append(rep)
        pos = end
    out.append(reply[pos:limit])
    text = "".join(out)
    return text.rstrip() if cut is not None else text


def _block(policy: Policy, findings: tuple[Finding, ...], regenerate: bool) -> Verdict:
    corrections = tuple(dict.fromkeys(f.correction for f in findings if f.correction)) if regenerate else ()
    return Verdict(
        decision=Decision.BLOCK,
        violations=findings,
        released=policy.fallback,
        policy=policy.name,
        policy_version=policy.version,
        regenerate=regenerate,
        corrections=corrections,
    )


def evaluate(
    policy: Policy,
    record: CustomerRecord,
    reply: str,
    *,
    model_in_loop: bool = False,
    today: dt.date | None = None,
    timings: dict[str, float] | None = None,
) -> Verdict:
    """Check `reply` against `record` under `policy` and decide what may be released.

    `model_in_loop`: the caller can ask the model to regenerate (the proxy); then findings whose
    action is `regenerate` set `Verdict.regenerate`. Without a model, they block.
    `today`: the caller's date, selecting the campaign in force (the engine reads no clock).
    `timings`: if given, each check's run time in milliseconds is added to it under the check's
    name (the re-check of a revision included), for the audit record.
    """
    if today is not None:
        policy = policy.on(today)
    sentences = split_sentences(reply)
    findings = tuple(run_checks(policy, record, reply, sentences, timings=timings))
    if any(f.action in _STOPPING for f in findings):
        wants_regen = model_in_loop and any(f.action is Action.REGENERATE for f in findings)
        return _block(policy, findings, wants_regen)
    cut = _cut_point(findings, sentences)
    if cut is not None and not reply[:cut].strip():
        return _block(policy, findings, False)  # nothing left to release after the cut
    released = apply_revisions(reply, findings, cut)
    if released == reply:
        decision = Decision.ALLOW
    else:
        decision = Decision.REVISE
        # The revision must itself pass: anything but a warning left means it was not safe.
        if any(f.action is not Action.WARN for f in run_checks(policy, record, released, timings=timings)):
            return _block(policy, findings, False)
    return Verdict(
        decision=decision,
        violations=findings,
        released=released,
        policy=policy.name,
        policy_version=policy.version,
    )
