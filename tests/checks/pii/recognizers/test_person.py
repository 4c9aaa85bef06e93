from __future__ import annotations

import pytest

from guard.checks.pii.analyzer import PiiAnalyzer
from tests.checks.pii.conftest import found


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("您的朋友王小明的电话", ["王小明"]),
        ("联系人李建国", ["李建国"]),
        ("经理刘德华会联系您", ["刘德华"]),
        ("欧阳修远表示同意", ["欧阳修远"]),
        ("记者张丽报道", ["张丽"]),
    ],
)
def test_names_found(analyzer: PiiAnalyzer, text: str, expected: list[str]) -> None:
    assert found(analyzer, text, "CN_PERSON") == expected


@pytest.mark.parametrize(
    "text",
    [
        "张先生您好",  # surname + honorific: the facts check's business
        "王女士，您的额度已到账",
        "张总您好",
        "王国的高兴方法",  # dictionary words starting with surname characters
        "马拉加也是本赛季的黑马",  # transliterated place name
        "您的额度是4000元",
        "支付宝还花呗可以自动吗",  # finance brands with a surname character (支, 余)
        "余额宝，金条，白条。",
    ],
)
def test_not_names(analyzer: PiiAnalyzer, text: str) -> None:
    assert found(analyzer, text, "CN_PERSON") == []
