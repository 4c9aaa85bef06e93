from __future__ import annotations

import pytest

from guard.checks.pii.analyzer import PiiAnalyzer
from tests.checks.pii.conftest import found


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("您的手机号13812345678已绑定", ["13812345678"]),
        ("请拨打138 1234 5678联系", ["138 1234 5678"]),
        ("号码138-1234-5678", ["138-1234-5678"]),
        ("+8613812345678", ["+8613812345678"]),
        ("+86 138 1234 5678", ["+86 138 1234 5678"]),
        ("008613812345678", ["008613812345678"]),
        (
            "新号段19112345678、16712345678、19912345678、16212345678",
            ["19112345678", "16712345678", "19912345678", "16212345678"],
        ),
        ("全角１３８１２３４５６７８", ["１３８１２３４５６７８"]),
        ("手机：15000000000。", ["15000000000"]),
        ("号码幺三八一二三四五六七八", ["幺三八一二三四五六七八"]),  # spelt out for a voice reply
        ("一三八 一二三四 五六七八", ["一三八 一二三四 五六七八"]),
    ],
)
def test_mobiles_found(analyzer: PiiAnalyzer, text: str, expected: list[str]) -> None:
    assert found(analyzer, text, "CN_MOBILE") == expected


@pytest.mark.parametrize(
    "text",
    [
        "订单号2026112413812345678901",  # inside a longer digit run
        "编号A13812345678",  # inside an ASCII identifier
        "12812345678",  # 12x is not a mobile prefix
        "1381234567",  # ten digits
        "尾号5678的卡",
        "验证码138123",
        "额度50,000元，4000元",
        "二〇二六年十二月三十一日前还款，四千元",
    ],
)
def test_not_mobiles(analyzer: PiiAnalyzer, text: str) -> None:
    assert found(analyzer, text, "CN_MOBILE") == []
