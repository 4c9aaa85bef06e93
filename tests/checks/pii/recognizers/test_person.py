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
        ("您的担保人赵建国已经还款", ["赵建国"]),  # 建国 is also a word; a common given name
        ("您的配偶周杰同意了吗", ["周杰"]),
        ("收款人：孙丽娟", ["孙丽娟"]),  # a form field
        ("客服专员李娜为您服务", ["李娜"]),
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
        "主持人：谢谢李总",  # an interview, not a form field
        "王主任向记者透露",  # surname character + a word
        "支付宝还花呗可以自动吗",  # finance brands with a surname character (支, 余)
        "余额宝，金条，白条。",
    ],
)
def test_not_names(analyzer: PiiAnalyzer, text: str) -> None:
    assert found(analyzer, text, "CN_PERSON") == []
