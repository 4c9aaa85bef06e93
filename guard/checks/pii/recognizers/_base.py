"""What every Chinese PII recognizer here shares: its contract code, its mask, its context words.

Recognizers are Presidio `PatternRecognizer`s (or `LocalRecognizer`s for names): declarative
`PATTERNS`, `CONTEXT` and a `validate_result` hook for checksums. Each also names the guard code
it reports (contract §4) and, through `REQUIRES_CONTEXT`, the patterns that only count when a
context word stands close before them (a bare 8-digit number is a landline only after 电话).
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from presidio_analyzer import Pattern, PatternRecognizer, RecognizerResult

__all__ = [
    "ASCII_EDGE",
    "GROUPED_END",
    "GROUPED_START",
    "GROUP_MARK",
    "GROUP_SEP",
    "SEP_CHARS",
    "ChinesePatternRecognizer",
    "digits_only",
    "has_context",
    "listed_amounts",
]

# An identifier never starts or ends inside a run of ASCII letters or digits (order numbers,
# longer digit runs); Chinese characters around it are fine.
ASCII_EDGE = r"(?<![0-9A-Za-z])", r"(?![0-9A-Za-z])"

# What may stand between the digit groups of an identifier (138 1234 5678, 138.1234.5678,
# 138，1234，5678 — a voice reply marks its pauses with commas —, 138、1234、5678, 138—1234—5678,
# 6222·0212·…): a space of any width, or one or two marks among . ． , ， 、 / ／ · ・ • ‧ and the
# hyphens and dashes, with an optional space either side (138 - 1234, 138, 1234, 138——1234).
# A sentence end (。；！？ or a line break) is never a separator: a value cut by one is not read.
_SPACES = " \u00a0\u2007\u2009\u202f\u3000"
_MARKS = ".．,，、/／·・•‧-‐‑‒–—―−－"
SEP_CHARS = _SPACES + _MARKS
_MARK_CLASS = _MARKS.replace("-", "\\-")
GROUP_MARK = rf"(?:[{_SPACES}]?[{_MARK_CLASS}]{{1,2}}[{_SPACES}]?|[{_SPACES}])"  # one separator, not none
GROUP_SEP = GROUP_MARK + "?"
# Around a value read with `GROUP_SEP`: no mask character (the digits a partial mask keeps,
# 440305*****0452，20261231, are not read again with the next number), and after it no money unit
# or percent sign (150，2000，3000元 lists amounts, not a phone number).
GROUPED_START = r"(?<![*＊])"
GROUPED_END = rf"(?![*＊])(?![{_SPACES}]?[元块圆万千百%％])"
# A separator other than the space and hyphen that identifiers have always been read with.
_LISTY = re.compile("[" + re.escape(SEP_CHARS.replace(" ", "").replace("-", "")) + "]")
_GROUPS = re.compile(r"[0-9]+")


def listed_amounts(text: str) -> bool:
    """Digit groups joined by a list-like separator (，、. …), every group after the first a round
    hundred (150，2000，3000; 3000、5000、6000、8000): a list of amounts, not an identifier.

    A real number has such groups by chance once in ten thousand (two groups) or less.
    """
    if _LISTY.search(text) is None:
        return False
    rest = _GROUPS.findall(text)[1:]
    return len(rest) >= 2 and all(len(g) >= 3 and g.endswith("00") for g in rest)


_NON_DIGIT = re.compile(r"[^0-9Xx]")
_CONTEXT_WINDOW = 12
_CLAUSE_END = re.compile(r".*[，。；！？,;!?\n\]】]")


def has_context(text: str, start: int, words: tuple[str, ...]) -> bool:
    """A context word in the same clause, at most 12 characters before `start`.

    Presidio's own context enhancer compares context words with tokens; a blank spaCy `zh`
    pipeline makes every character a token, so multi-character Chinese words never match there.
    """
    window = text[max(0, start - _CONTEXT_WINDOW) : start]
    window = _CLAUSE_END.sub("", window, count=1)
    return any(w in window for w in words)


def digits_only(text: str) -> str:
    """The digits (and an ID card's final X) of a matched identifier, separators dropped."""
    return _NON_DIGIT.sub("", text)


class ChinesePatternRecognizer(PatternRecognizer):
    """A Presidio pattern recognizer for one Chinese entity, built once per process."""

    ENTITY: ClassVar[str]
    CODE: ClassVar[str]
    LABEL: ClassVar[str]  # the Chinese name used in findings' details and corrections
    PATTERNS: ClassVar[tuple[Pattern, ...]]
    CONTEXT: ClassVar[tuple[str, ...]] = ()
    REQUIRES_CONTEXT: ClassVar[frozenset[str]] = frozenset()  # pattern names that need context
    # A character class every match starts with ("" for none): the quick test checks it first at
    # each position, which makes it several times faster on Chinese text (no pattern is entered).
    QUICK_START: ClassVar[str] = ""

    def __init__(self) -> None:
        super().__init__(
            supported_entity=self.ENTITY,
            name=type(self).__name__,
            supported_language="zh",
            patterns=[Pattern(p.name, p.regex, p.score) for p in self.PATTERNS],
            context=list(self.CONTEXT),
            global_regex_flags=re.DOTALL | re.MULTILINE,
        )
        # The same patterns for the standard `re` engine: a quick "could any pattern match?" test
        # (≈1 µs) before paying Presidio's per-call overhead (≈15–25 µs a recognizer).
        start = f"(?=[{self.QUICK_START}])" if self.QUICK_START else ""
        self._quick = re.compile(
            start + "(?:" + "|".join(f"(?:{p.regex})" for p in self.PATTERNS) + ")", re.DOTALL | re.MULTILINE
        )

    def could_match(self, text: str) -> bool:
        """Whether any of this recognizer's patterns matches somewhere in `text` (before validation)."""
        return self._quick.search(text) is not None

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: Any = None, regex_flags: int | None = None
    ) -> list[RecognizerResult]:
        """Presidio's pattern matching and validation, then the context rule of `REQUIRES_CONTEXT`."""
        results: list[RecognizerResult] = super().analyze(text, entities, nlp_artifacts, regex_flags)
        if not self.REQUIRES_CONTEXT:
            return results
        return [
            r
            for r in results
            if getattr(r.analysis_explanation, "pattern_name", None) not in self.REQUIRES_CONTEXT
            or has_context(text, r.start, self.CONTEXT)
        ]
