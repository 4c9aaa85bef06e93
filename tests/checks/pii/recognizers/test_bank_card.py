from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from guard.checks.pii import samples
from guard.checks.pii.analyzer import PiiAnalyzer
from guard.checks.pii.recognizers import ENTITY_CODES
from guard.checks.pii.recognizers.bank_card import luhn_ok
from tests.checks.pii.conftest import found

_ANALYZER = PiiAnalyzer(ENTITY_CODES)


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
        # groups of four joined by other separators
        ("卡号6222.0212.3456.7890.128", ["6222.0212.3456.7890.128"]),
        ("卡号6222，0212，3456，7890，128，请核对", ["6222，0212，3456，7890，128"]),
        ("卡号6222、0212、3456、7890、128", ["6222、0212、3456、7890、128"]),
        ("您的卡4111—1111—1111—1111已绑定", ["4111—1111—1111—1111"]),
        ("您的卡4111 - 1111 - 1111 - 1111已绑定", ["4111 - 1111 - 1111 - 1111"]),
        ("银行卡号2222，4200，0000，1113", ["2222，4200，0000，1113"]),  # unusual first digit, card context
        ("卡号4111 1111 1111 1111，12期", ["4111 1111 1111 1111"]),
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
        "卡号6222，0212，3456，7890，123",  # separated, fails Luhn
        "订单2222，4200，0000，1113",  # passes Luhn, no card context and no card issuer digit
        "额度档位3500、1000、2500、4000，任选",  # passes Luhn, but a list of round amounts
        "额度档位3500、1000、2500、4000元",
        "日期2024.12.07，2025.01.08",
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


@settings(max_examples=100, deadline=None)
@given(
    st.integers(0, 10**9),
    st.sampled_from([".", "，", "、", "—", "·", ", ", " - "]),
    st.sampled_from([16, 19]),
)
def test_generated_cards_found_with_any_separator(seed: int, sep: str, length: int) -> None:
    number = samples.bank_card(random.Random(seed), length)
    written = sep.join(number[i : i + 4] for i in range(0, len(number), 4))
    assert found(_ANALYZER, f"您的卡号{written}已绑定", "CN_BANK_CARD") == [written]
