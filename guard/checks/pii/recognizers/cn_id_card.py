"""Resident identity card numbers (居民身份证号码), GB 11643-1999.

18 digits: a 6-digit administrative area code, the birth date YYYYMMDD, a 3-digit sequence number
and a check digit (ISO 7064 MOD 11-2; 10 is written X). The first-generation card has 15 digits
(birth date YYMMDD, 19YY, no check digit); it is accepted only with a valid province code and
birth date. Separators (`GROUP_SEP`: spaces, dots, commas, 、, dashes …) after the area code, the
birth year and the birth date are allowed (110101 19900307 457X, 110101，19900307，457X,
110101.1990.0307.457X); the check digit and birth date still decide.
"""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from presidio_analyzer import Pattern

from guard.checks.pii.recognizers._base import ASCII_EDGE, GROUP_SEP, ChinesePatternRecognizer, digits_only

__all__ = ["ChineseIdCardRecognizer", "id_check_digit", "is_valid_id18"]

_L, _R = ASCII_EDGE
_S = GROUP_SEP
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
# GB/T 2260 province-level codes.
_PROVINCES = frozenset(
    [
        "11",
        "12",
        "13",
        "14",
        "15",
        "21",
        "22",
        "23",
        "31",
        "32",
        "33",
        "34",
        "35",
        "36",
        "37",
        "41",
        "42",
        "43",
        "44",
        "45",
        "46",
        "50",
        "51",
        "52",
        "53",
        "54",
        "61",
        "62",
        "63",
        "64",
        "65",
        "71",
        "81",
        "82",
        "83",
        "91",
    ]
)


def id_check_digit(first17: str) -> str:
    """The GB 11643-1999 check character of the first 17 digits."""
    return _CHECK[sum(int(c) * w for c, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def _valid_date(year: int, month: int, day: int) -> bool:
    try:
        born = dt.date(year, month, day)
    except ValueError:
        return False
    return dt.date(1900, 1, 1) <= born <= dt.date(2100, 12, 31)


def is_valid_id18(number: str) -> bool:
    """18 characters, a real birth date and the right check digit."""
    if len(number) != 18 or not number[:17].isdigit():
        return False
    if not _valid_date(int(number[6:10]), int(number[10:12]), int(number[12:14])):
        return False
    return id_check_digit(number[:17]) == number[17].upper()


def _is_valid_id15(number: str) -> bool:
    return (
        len(number) == 15
        and number.isdigit()
        and number[:2] in _PROVINCES
        and _valid_date(1900 + int(number[6:8]), int(number[8:10]), int(number[10:12]))
    )


class ChineseIdCardRecognizer(ChinesePatternRecognizer):
    """身份证号: 18 digits with a valid birth date and check digit, or the old 15-digit form."""

    ENTITY: ClassVar[str] = "CN_ID_CARD"
    CODE: ClassVar[str] = "pii.id_card"
    LABEL: ClassVar[str] = "身份证号"
    PATTERNS: ClassVar[tuple[Pattern, ...]] = (
        Pattern(
            "cn_id_18",
            _L + rf"[1-9][0-9]{{5}}{_S}(?:18|19|20)[0-9]{{2}}{_S}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])"
            rf"{_S}[0-9]{{3}}[0-9Xx]" + _R,
            0.5,
        ),
        Pattern(
            "cn_id_15",
            _L + r"[1-9][0-9]{5}[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])[0-9]{3}" + _R,
            0.3,
        ),
    )
    QUICK_START: ClassVar[str] = "0-9+(（"
    CONTEXT: ClassVar[tuple[str, ...]] = ("身份证", "证件", "身份号", "公民身份")

    def validate_result(self, pattern_text: str) -> bool:
        number = digits_only(pattern_text)
        return is_valid_id18(number) if len(number) == 18 else _is_valid_id15(number)
