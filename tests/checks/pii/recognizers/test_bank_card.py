from __future__ import annotations

import random

import pytest

from guard.checks.pii import samples
from guard.checks.pii.analyzer import PiiAnalyzer
from guard.checks.pii.recognizers.bank_card import luhn_ok
from tests.checks.pii.conftest import found


@pytest.mark.parametrize(
    ("digits", "ok"),
    [
        ("4111111111111111", True),
        ("4111111111111112", False),
        ("6222021234567890128", True),
        ("79927398713", True),
    ],
)
def test_luhn(digits: str, ok: bool) -> None:
    assert luhn_ok(digits) is ok


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("卡号6222021234567890128", ["6222021234567890128"]),
        ("卡号6222 0212 3456 7890 128", ["6222 0212 3456 7890 128"]),
        ("4111-1111-1111-1111", ["4111-1111-1111-1111"]),
        ("银行卡号2222420000001113", ["2222420000001113"]),  # unusual first digit, card context
    ],
)
def test_cards_found(analyzer: PiiAnalyzer, text: str, expected: list[str]) -> None:
    assert found(analyzer, text, "CN_BANK_CARD") == expected


@pytest.mark.parametrize(
    "text",
    [
        "卡号6222021234567890123",  # fails Luhn
        "订单2222420000001113",  # passes Luhn but no card context and no card issuer digit
        "尾号0123的储蓄卡",
        "41111111111111111111",  # 20 digits
    ],
)
def test_not_cards(analyzer: PiiAnalyzer, text: str) -> None:
    assert found(analyzer, text, "CN_BANK_CARD") == []


def test_generated_cards_all_found(analyzer: PiiAnalyzer) -> None:
    rng = random.Random(9)
    for _ in range(300):
        number = samples.bank_card(rng)
        grouped = " ".join(number[i : i + 4] for i in range(0, len(number), 4))
        text = rng.choice((number, grouped))
        assert found(analyzer, f"您的卡{text}已绑定", "CN_BANK_CARD") == [text]
