from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from guard.checks.pii import samples
from guard.checks.pii.analyzer import PiiAnalyzer
from guard.checks.pii.recognizers import ENTITY_CODES
from guard.checks.pii.recognizers.cn_id_card import id_check_digit, is_valid_id18
from tests.checks.pii.conftest import found

_ANALYZER = PiiAnalyzer(ENTITY_CODES)


@pytest.mark.parametrize(
    ("first17", "check"),
    [("11010519491231002", "X"), ("44052418800101001", "4")],
)
def test_check_digit(first17: str, check: str) -> None:
    assert id_check_digit(first17) == check


@pytest.mark.parametrize(
    ("number", "valid"),
    [
        ("11010519491231002X", True),
        ("11010519491231002x", True),
        ("110105194912310021", False),  # wrong check digit
        ("110105194902300029", False),  # 30 February
        ("110105189912310021", False),  # born before 1900
    ],
)
def test_is_valid_id18(number: str, valid: bool) -> None:
    assert is_valid_id18(number) is valid


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("身份证11010519491231002X", ["11010519491231002X"]),
        ("证件号110105 19491231 002X", ["110105 19491231 002X"]),
        ("旧证号110105491231002", ["110105491231002"]),
        # separators after the area code, the birth year and the birth date
        ("身份证号110105，19491231，002X，请核对", ["110105，19491231，002X"]),
        ("身份证号110105.19491231.002X", ["110105.19491231.002X"]),
        ("身份证号110105—19491231—002X", ["110105—19491231—002X"]),
        ("身份证号110105、19491231、002X", ["110105、19491231、002X"]),
        ("身份证号110105 1949 1231 002X", ["110105 1949 1231 002X"]),
        ("身份证号110105.1949.1231.002X", ["110105.1949.1231.002X"]),
        ("身份证号110105, 19491231, 002X", ["110105, 19491231, 002X"]),
        ("身份证号一一零一零五，一九四九一二三一，零零二X", ["一一零一零五，一九四九一二三一，零零二X"]),
    ],
)
def test_ids_found(analyzer: PiiAnalyzer, text: str, expected: list[str]) -> None:
    assert found(analyzer, text, "CN_ID_CARD") == expected


@pytest.mark.parametrize(
    "text",
    [
        "身份证110105194912310021",  # fails the check digit (and Luhn)
        "单号990105491231002",  # 15 digits, no such province
        "单号110105491331002",  # 15 digits, month 13
        "身份证110105，19491231，0021",  # separated, still the wrong check digit
        "日期2024.12.07，2025.01.08，2026.02.09",
        "额度可选100000，200000，300000元",
    ],
)
def test_not_ids(analyzer: PiiAnalyzer, text: str) -> None:
    assert found(analyzer, text, "CN_ID_CARD") == []


def test_generated_ids_all_found(analyzer: PiiAnalyzer) -> None:
    rng = random.Random(7)
    for _ in range(300):
        number = samples.id_card(rng)
        assert found(analyzer, f"客户身份证号{number}。", "CN_ID_CARD") == [number]


def test_bad_checksum_decoys_never_masked(analyzer: PiiAnalyzer) -> None:
    rng = random.Random(8)
    for _ in range(300):
        assert analyzer.analyze(f"流水号{samples.bad_checksum_18(rng)}。") == []


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 10**9), st.sampled_from([" ", ".", "，", "、", "—", "-", ", "]), st.booleans())
def test_generated_ids_found_with_any_separator(seed: int, sep: str, by_year: bool) -> None:
    number = samples.id_card(random.Random(seed))
    parts = (
        (number[:6], number[6:10], number[10:14], number[14:])
        if by_year
        else (number[:6], number[6:14], number[14:])
    )
    written = sep.join(parts)
    assert found(_ANALYZER, f"客户身份证号{written}。", "CN_ID_CARD") == [written]
