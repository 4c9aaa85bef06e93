"""Mainland China mobile numbers (MIIT numbering plan: 11 digits, 13x–19x).

All current prefixes (130–139, 145–149, 150–159, 162, 165–167, 170–178, 180–189, 190–199) share
`1[3-9]` and nine more digits. An optional +86 / 0086 country code and single spaces or dashes
between digits are allowed (138 1234 5678, 138-1234-5678); so are the other group separators of
`GROUP_SEP` between the 3-4-4 groups (138.1234.5678, 138，1234，5678, 138、1234、5678,
138—1234—5678), unless a money unit follows (150，2000，3000元) or both 4-digit groups are round
hundreds (150，2000，3000: a list of amounts). A number is never taken from inside a longer run of
digits or letters (an order number).
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

__all__ = ["ChineseMobileRecognizer"]

_L, _R = ASCII_EDGE
_S = GROUP_SEP


class ChineseMobileRecognizer(ChinesePatternRecognizer):
    """手机号: 11 digits starting 13–19, optional +86/0086, separators between digits or groups."""

    ENTITY: ClassVar[str] = "CN_MOBILE"
    CODE: ClassVar[str] = "pii.phone"
    LABEL: ClassVar[str] = "手机号"
    PATTERNS: ClassVar[tuple[Pattern, ...]] = (
        Pattern(
            "cn_mobile",
            _L
            + r"(?:(?:(?:\+|00)86[ \-]?)?(?:\(\+?86\)[ \-]?)?1[3-9](?:[ \-]?[0-9]){9}"
            + rf"|{GROUPED_START}(?:(?:\+|00)86{_S})?(?:\(\+?86\){_S})?1[3-9][0-9]{_S}[0-9]{{4}}{_S}[0-9]{{4}}{GROUPED_END})"
            + _R,
            0.9,
        ),
    )
    QUICK_START: ClassVar[str] = "0-9+(（"
    CONTEXT: ClassVar[tuple[str, ...]] = ("手机", "电话", "号码", "联系", "拨打", "致电", "来电", "微信")

    def validate_result(self, pattern_text: str) -> bool:
        if listed_amounts(pattern_text):
            return False
        digits = digits_only(pattern_text)
        if len(digits) == 13 and digits.startswith("86"):
            digits = digits[2:]
        elif len(digits) == 15 and digits.startswith("0086"):
            digits = digits[4:]
        return len(digits) == 11 and digits[0] == "1" and digits[1] in "3456789"
