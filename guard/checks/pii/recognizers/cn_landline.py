"""Mainland China fixed-line numbers: area code (010, 02x, 0xxx) and a 7–8 digit subscriber number.

With an area code (0571-88886666, (010)66554433, 021 5888 6666) a number counts on its own. A bare
7–8 digit number (a date like 20261231 has the same shape) counts only right after a context word
such as 电话 or 座机. Service numbers (95xxx, 400/800) are a company's, not a person's, and are
left alone.
"""

from __future__ import annotations

from typing import ClassVar

from presidio_analyzer import Pattern

from guard.checks.pii.recognizers._base import ASCII_EDGE, ChinesePatternRecognizer, digits_only

__all__ = ["ChineseLandlineRecognizer"]

_L, _R = ASCII_EDGE
_AREA = r"(?:010|02[0-9]|0[3-9][0-9]{2})"


class ChineseLandlineRecognizer(ChinesePatternRecognizer):
    """座机号: area code + 7–8 digit number (extension optional); bare numbers need context."""

    ENTITY: ClassVar[str] = "CN_LANDLINE"
    CODE: ClassVar[str] = "pii.phone"
    LABEL: ClassVar[str] = "电话"
    PATTERNS: ClassVar[tuple[Pattern, ...]] = (
        Pattern(
            "cn_landline_area",
            _L + r"(?:\+?86[ \-]?)?(?:\(" + _AREA + r"\)|（" + _AREA + r"）|" + _AREA + r")[ \-]?"
            r"[2-9][0-9]{2,3}[ \-]?[0-9]{4}(?:(?:转|-|ext)[0-9]{1,5})?" + _R,
            0.7,
        ),
        Pattern("cn_landline_bare", _L + r"[2-8][0-9]{2,3}[ \-]?[0-9]{4}" + _R, 0.3),
    )
    CONTEXT: ClassVar[tuple[str, ...]] = ("电话", "座机", "固话", "致电", "拨打", "来电", "联系方式", "号码")
    REQUIRES_CONTEXT: ClassVar[frozenset[str]] = frozenset({"cn_landline_bare"})

    def validate_result(self, pattern_text: str) -> bool:
        digits = digits_only(pattern_text)
        return 7 <= len(digits) <= 17
