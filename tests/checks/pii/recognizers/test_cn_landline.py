from __future__ import annotations

import pytest

from guard.checks.pii.analyzer import PiiAnalyzer
from tests.checks.pii.conftest import found


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("座机0571-88886666", ["0571-88886666"]),
        ("打(010)66554433", ["(010)66554433"]),
        ("021 5888 6666", ["021 5888 6666"]),
        ("075588886666", ["075588886666"]),
        ("电话88886666", ["88886666"]),  # bare number after a context word
        ("0571-88886666转123", ["0571-88886666转123"]),
        ("座机0571.8888.6666", ["0571.8888.6666"]),
        ("打010，6655，4433", ["010，6655，4433"]),
        ("座机0571—8888—6666", ["0571—8888—6666"]),
    ],
)
def test_landlines_found(analyzer: PiiAnalyzer, text: str, expected: list[str]) -> None:
    assert found(analyzer, text, "CN_LANDLINE") == expected


@pytest.mark.parametrize(
    "text",
    [
        "请于20261231前还款",  # a date has the shape of a bare 8-digit number
        "客服热线95588",
        "2026-12-31到期",
        "编号88886666",  # bare number without a phone context word
        "利率0.05%",
        "分别是010，2000，3000",  # round hundreds after the first group: a list of amounts
        "分别是021，5800，6600元",
    ],
)
def test_not_landlines(analyzer: PiiAnalyzer, text: str) -> None:
    assert found(analyzer, text, "CN_LANDLINE") == []
