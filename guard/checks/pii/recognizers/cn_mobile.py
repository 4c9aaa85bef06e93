"""Mainland China mobile numbers (MIIT numbering plan: 11 digits, 13x–19x).

All current prefixes (130–139, 145–149, 150–159, 162, 165–167, 170–178, 180–189, 190–199) share
`1[3-9]` and nine more digits. An optional +86 / 0086 country code and single spaces or dashes
between digits are allowed (138 1234 5678, 138-1234-5678); a number is never taken from inside a
longer run of digits or letters (an order number).
"""

from __future__ import annotations

from typing import ClassVar

from presidio_analyzer import Pattern

from guard.checks.pii.recognizers._base import ASCII_EDGE, ChinesePatternRecognizer, digits_only

__all__ = ["ChineseMobileRecognizer"]

_L, _R = ASCII_EDGE


class ChineseMobileRecognizer(ChinesePatternRecognizer):
    """手机号: 11 digits starting 13–19, optional +86/0086, spaces or dashes between digits."""

    ENTITY: ClassVar[str] = "CN_MOBILE"
    CODE: ClassVar[str] = "pii.phone"
    LABEL: ClassVar[str] = "手机号"
    PATTERNS: ClassVar[tuple[Pattern, ...]] = (
        Pattern(
            "cn_mobile",
            _L + r"(?:(?:\+|00)86[ \-]?)?(?:\(\+?86\)[ \-]?)?1[3-9](?:[ \-]?[0-9]){9}" + _R,
            0.9,
        ),
    )
    CONTEXT: ClassVar[tuple[str, ...]] = ("手机", "电话", "号码", "联系", "拨打", "致电", "来电", "微信")

    def validate_result(self, pattern_text: str) -> bool:
        digits = digits_only(pattern_text)
        if len(digits) == 13 and digits.startswith("86"):
            digits = digits[2:]
        elif len(digits) == 15 and digits.startswith("0086"):
            digits = digits[4:]
        return len(digits) == 11 and digits[0] == "1" and digits[1] in "3456789"
