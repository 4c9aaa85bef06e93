"""Mainland China fixed-line numbers: area code (010, 02x, 0xxx) and a 7–8 digit subscriber number.

With an area code (0571-88886666, (010)66554433, 021 5888 6666, and with the other separators of
`GROUP_SEP` between its groups: 0571.8888.6666, 010，6655，4433 — unless a money unit follows or
the groups after the area code are round hundreds, a list of amounts) a number counts on its own. A bare
7–8 digit number (a date like 20261231 has the same shape) counts only right after a context word
such as 电话 or 座机. Service numbers (95xxx, 400/800) are a company's, not a person's, and are
left alone.
"""

from __future__ import annotations

from typing import ClassVar

from presidio_analyzer import Pattern

from guard.checks.pii.recognizers._base import (
    ASCII_EDGE,
    GROUP_SEP,
    GROUPED_END,
    GROUPED_START,
    ChinesePatternRecognizer,
    digits_only,
    listed_amounts,
)

__all__ = ["ChineseLandlineRecognizer"]

_L, _R = ASCII_EDGE
_AREA = r"(?:010|02[0-9]|0[3-9][0-9]{2})"
_S = GROUP_SEP


class ChineseLandlineRecognizer(ChinesePatternRecognizer):
    """座机号: area code + 7–8 digit number (extension optional); bare numbers need context."""

    ENTITY: ClassVar[str] = "CN_LANDLINE"
    CODE: ClassVar[str] = "pii.phone"
    LABEL: ClassVar[str] = "电话"
    PATTERNS: ClassVar[tuple[Pattern, ...]] = (
        Pattern(
            "cn_landline_area",
            _L + r"(?:(?:\+?86[ \-]?)?(?:\(" + _AREA + r"\)|（" + _AREA + r"）|" + _AREA + r")[ \-]?"
            r"[2-9][0-9]{2,3}[ \-]?[0-9]{4}(?:(?:转|-|ext)[0-9]{1,5})?"
            + rf"|{GROUPED_START}(?:\+?86{_S})?(?:\({_AREA}\)|（{_AREA}）|{_AREA}){_S}[2-9][0-9]{{2,3}}{_S}[0-9]{{4}}{GROUPED_END})"
            + _R,
            0.7,
        ),
        Pattern("cn_landline_bare", _L + r"[2-8][0-9]{2,3}[ \-]?[0-9]{4}" + _R, 0.3),
    )
    QUICK_START: ClassVar[str] = "0-9+(（"
    CONTEXT: ClassVar[tuple[str, ...]] = ("电话", "座机", "固话", "致电", "拨打", "来电", "联系方式", "号码")
    REQUIRES_CONTEXT: ClassVar[frozenset[str]] = frozenset({"cn_landline_bare"})

    def validate_result(self, pattern_text: str) -> bool:
        if listed_amounts(pattern_text):
            return False
        digits = digits_only(pattern_text)
        return 7 <= len(digits) <= 17
