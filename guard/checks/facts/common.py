"""What every fact rule shares: one scan of the reply (numbers, keywords, clauses) and findings.

`KeywordIndex` is built once at policy load (one Aho-Corasick automaton over every trigger word
of every rule, leftmost-longest). `ReplyView` is built once per reply: the numbers, the keyword
hits and the clause bounds (a clause ends at ，,。！？!?；;、… or a line break), so each rule only
looks things up.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any, Final, final

import ahocorasick_rs

from guard.text.amounts import NumberMatch, format_number, scan_numbers
from guard.types import Action, CustomerRecord, Finding

__all__ = [
    "CLAUSE_ENDS",
    "Hit",
    "KeywordIndex",
    "ReplyView",
    "finding",
    "number_fix",
    "record_value",
    "spans_overlap",
]

CLAUSE_ENDS = frozenset("，,。！？!?；;、…\n\r")
_SOFT_ENDS = frozenset("，,、")
_CLAUSE_END = re.compile("[，,。！？!?；;、…\n\r]")


@final
class Hit:
    """One keyword found in the reply, with every label its word carries.

    A plain class rather than a NamedTuple: in the compiled build (`guard.native`) mypyc compiles
    this `__init__`; a NamedTuple's `__new__` runs interpreted (0.25 µs a hit against 0.04 µs).
    """

    __slots__ = ("end", "labels", "start", "word")

    def __init__(self, start: int, end: int, word: str, labels: frozenset[str]) -> None:
        self.start: Final = start
        self.end: Final = end
        self.word: Final = word
        self.labels: Final = labels

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Hit):
            return NotImplemented
        return (self.start, self.end, self.word, self.labels) == (other.start, other.end, other.word, other.labels)

    def __hash__(self) -> int:
        return hash((self.start, self.end, self.word, self.labels))

    def __repr__(self) -> str:
        return f"Hit(start={self.start!r}, end={self.end!r}, word={self.word!r}, labels={self.labels!r})"


class KeywordIndex:
    """Every labelled keyword of a policy in one automaton (leftmost-longest)."""

    def __init__(self, groups: Iterable[tuple[str, Iterable[str]]]) -> None:
        labels: dict[str, set[str]] = {}
        for label, words in groups:
            for w in words:
                if w:
                    labels.setdefault(w, set()).add(label)
        self.words = sorted(labels)
        self.labels = [frozenset(labels[w]) for w in self.words]
        self._ac = ahocorasick_rs.AhoCorasick(self.words, matchkind=ahocorasick_rs.MatchKind.LeftmostLongest)

    def find(self, text: str) -> list[Hit]:
        return [
            Hit(start, end, self.words[idx], self.labels[idx])
            for idx, start, end in self._ac.find_matches_as_indexes(text)
        ]


_DIGITS = frozenset("0123456789０１２３４５６７８９")


def _in_number(text: str, i: int) -> bool:
    """A comma between digits (4,000) is a thousands separator, not a clause end."""
    return text[i] in ",，" and 0 < i < len(text) - 1 and text[i - 1] in _DIGITS and text[i + 1] in _DIGITS


class ReplyView:
    """One reply, scanned once: numbers, keyword hits, clause bounds."""

    __slots__ = ("_by_start", "_clause_starts", "_numbers", "_starts", "hits", "reply")

    def __init__(self, reply: str, index: KeywordIndex) -> None:
        self.reply = reply
        self.hits: list[Hit] = index.find(reply)
        # Built on first use: most replies state no amount, coupon or age, and never ask.
        self._numbers: list[NumberMatch] | None = None
        self._clause_starts: list[int] | None = None
        self._by_start: list[int] = []
        self._starts: list[int] | None = None

    @property
    def numbers(self) -> list[NumberMatch]:
        """Every number of the reply (`scan_numbers`), scanned on first use.

        A rule asks only once the reply has its keyword (额度, 岁 …): Chinese text is full of
        numeral characters (一下, 万一, 两个), and reading each as a number is most of a scan.
        """
        numbers = self._numbers
        if numbers is None:
            numbers = self._numbers = scan_numbers(self.reply)
        return numbers

    def _hits_within(self, start: int, end: int) -> list[Hit]:
        """Hits inside [start, end], in their original order."""
        if self._starts is None:
            # Hit indices ordered by start, so a clause's hits are found by bisection instead of
            # a scan of every hit per number (quadratic on a long reply full of amounts).
            self._by_start = sorted(range(len(self.hits)), key=lambda i: self.hits[i].start)
            self._starts = [self.hits[i].start for i in self._by_start]
        lo = bisect.bisect_left(self._starts, start)
        hi = bisect.bisect_right(self._starts, end)
        return [self.hits[i] for i in sorted(self._by_start[lo:hi]) if self.hits[i].end <= end]

    def clause(self, pos: int) -> tuple[int, int]:
        """The clause [start, end) holding position `pos`."""
        starts = self._clause_starts
        if starts is None:
            reply = self.reply
            starts = self._clause_starts = [0] + [
                m.end() for m in _CLAUSE_END.finditer(reply) if not _in_number(reply, m.start())
            ]
        k = bisect.bisect_right(starts, pos) - 1
        start = starts[k]
        end = starts[k + 1] - 1 if k + 1 < len(starts) else len(self.reply)
        return start, end

    def hits_in(self, start: int, end: int, label: str | None = None) -> list[Hit]:
        return [h for h in self._hits_within(start, end) if label is None or label in h.labels]

    def nearest(
        self,
        start: int,
        end: int,
        labels: frozenset[str],
        *,
        spill: bool = False,
        before_only: frozenset[str] = frozenset(),
    ) -> Hit | None:
        """The keyword closest to [start, end) in the same clause among those with any of `labels`.

        Distance is the gap between the spans; on a tie the keyword before the number wins. A
        keyword with any of `before_only` counts only before the number in its own clause. With
        `spill`, a clause without any such keyword looks at the previous clause of its sentence
        (joined by a comma, not a full stop).
        """
        c_start, c_end = self.clause(start)
        best: Hit | None = None
        best_key: tuple[int, int] | None = None
        for h in self._hits_within(c_start, c_end):
            if not (h.labels & labels):
                continue
            if h.end <= start:
                key = (start - h.end, 0)
            elif h.start >= end:
                if before_only and not before_only.isdisjoint(h.labels):
                    continue
                key = (h.start - end, 1)
            else:
                continue
            if best_key is None or key < best_key:
                best, best_key = h, key
        if best is None and spill and c_start >= 2 and self.reply[c_start - 1] in _SOFT_ENDS:
            # Nothing in this clause: the claim may run on from the previous clause of the same
            # sentence (您的额度已审批通过，金额为5000元). Take the keyword nearest its end.
            p_start, p_end = self.clause(c_start - 2)
            for h in self._hits_within(p_start, p_end):
                if (h.labels & labels) and (best is None or h.end > best.end):
                    if before_only and not before_only.isdisjoint(h.labels):
                        continue
                    best = h
        return best


def record_value(record: CustomerRecord, field: str) -> Any:
    """A record field by name, contract fields or extra ones; None when absent."""
    if field in type(record).model_fields:
        return getattr(record, field)
    return record.extra_fields().get(field)


def finding(
    code: str,
    span: tuple[int, int],
    detail: str,
    action: str,
    fallback: str,
    *,
    replacement: str | None = None,
    correction: str | None = None,
) -> Finding:
    """A fact finding; a `fix` without a replacement falls back to the rule's `fallback` action."""
    act = Action(action)
    if act is Action.FIX and replacement is None:
        act = Action(fallback)
    return Finding(
        code=code,
        start=span[0],
        end=span[1],
        detail=detail,
        action=act,
        replacement=replacement if act is Action.FIX else None,
        correction=correction,
    )


def number_fix(n: NumberMatch, value: Decimal) -> str | None:
    """`value` written in `n`'s style to replace `n`'s span, or None when `n` cannot be spliced.

    A number another digit touches (`NumberMatch.glued`: 5-000, 4000，5000) has no certain extent:
    replacing only the part read (000) would release a garbled amount (5-4000). Nor is a number
    spliced that is one end of a range (5000-8000元 → 4000-8000元), in doubt (4.000元, 5000多元 →
    4000多元, 5000美元 → 4000美元). None makes the finding fall back to the rule's `fallback`
    action (regenerate or block) instead.
    """
    if n.glued or n.doubt or n.pair is not None:
        return None
    return format_number(value, n.style)


def spans_overlap(a: tuple[int, int], spans: Sequence[tuple[int, int]]) -> bool:
    return any(a[0] < e and s < a[1] for s, e in spans)
