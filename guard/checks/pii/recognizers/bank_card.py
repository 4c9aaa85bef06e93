"""Bank card numbers (ISO/IEC 7812): 16–19 digits with a valid Luhn check digit.

Written as one run (6222021234567890123), with spaces or dashes anywhere (6222 0212 3456 7890 123),
or in groups of four (and a last group of three) each joined to the next by a separator of `GROUP_SEP`
(6222.0212.3456.7890.123, 6222，0212，3456，7890，123, 6222—0212—…) unless a money unit follows or
every group after the first is a round hundred (3000、5000、6000、8000: a list of amounts). Without a card
context word, the issuer digit must be one a payment card uses (3 American Express/JCB, 4 Visa,
5 Mastercard, 6 UnionPay, 9 older domestic cards): an order number rarely starts like that and
still has to pass Luhn. A card near 卡号 / 银行卡 counts whatever its first digit.
"""

from __future__ import annotations

from typing import ClassVar

from presidio_analyzer import Pattern

from guard.checks.pii.recognizers._base import (
    ASCII_EDGE,
    GROUP_MARK,
    GROUPED_END,
    GROUPED_START,
    ChinesePatternRecognizer,
    digits_only,
    listed_amounts,
)

__all__ = ["BankCardRecognizer", "luhn_ok"]

_L, _R = ASCII_EDGE


def _card(first: str) -> str:
    """A card starting with a digit of `first`: spaces or dashes anywhere (as always), or else groups
    of four (and a last group of three) joined by any separator. The second form is tried only
    where the first finds nothing, so a number read before is read the same way. It needs a
    separator between every two groups: with one left out, numbers listed with commas
    (`010-36841947，20261231，010-86515553`) read as a card one time in ten (Luhn), and the card
    hid the landline after it."""
    return (
        _L
        + rf"(?:{first}(?:[ \-]?[0-9]){{15,18}}"
        + rf"|{GROUPED_START}{first}[0-9]{{3}}(?:{GROUP_MARK}[0-9]{{4}}){{3}}(?:{GROUP_MARK}[0-9]{{3}})?{GROUPED_END})"
        + _R
    )


def luhn_ok(digits: str) -> bool:
    """True when `digits` passes the Luhn (mod 10) check."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


class BankCardRecognizer(ChinesePatternRecognizer):
    """银行卡号: 16–19 digits, grouped or not, passing Luhn."""

    ENTITY: ClassVar[str] = "CN_BANK_CARD"
    CODE: ClassVar[str] = "pii.bank_card"
    LABEL: ClassVar[str] = "银行卡号"
    PATTERNS: ClassVar[tuple[Pattern, ...]] = (
        Pattern("bank_card_issuer", _card("[3-69]"), 0.5),
        Pattern("bank_card_any", _card("[1-278]"), 0.2),
    )
    QUICK_START: ClassVar[str] = "0-9+(（"
    CONTEXT: ClassVar[tuple[str, ...]] = (
        "卡号",
        "银行卡",
        "储蓄卡",
        "信用卡",
        "借记卡",
        "账号",
        "帐号",
        "收款卡",
        "还款卡",
    )
    REQUIRES_CONTEXT: ClassVar[frozenset[str]] = frozenset({"bank_card_any"})

    def validate_result(self, pattern_text: str) -> bool:
        if listed_amounts(pattern_text):
            return False
        digits = digits_only(pattern_text)
        return 16 <= len(digits) <= 19 and digits.isdigit() and luhn_ok(digits)
