from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from guard.checks.pii import samples
from guard.checks.pii.analyzer import PiiAnalyzer
from guard.checks.pii.masking import mask
from guard.checks.pii.recognizers import ENTITY_CODES
from guard.checks.pii.recognizers._base import digits_only
from tests.checks.pii.conftest import found

_ANALYZER = PiiAnalyzer(ENTITY_CODES)


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
        # the other separators between the 3-4-4 groups (a voice reply marks pauses with commas)
        ("请拨打138.1234.5678联系我", ["138.1234.5678"]),
        ("请拨打138—1234—5678联系我", ["138—1234—5678"]),
        ("请拨打138——1234——5678联系我", ["138——1234——5678"]),
        ("请拨打138，1234，5678联系我", ["138，1234，5678"]),
        ("请拨打138、1234、5678联系我", ["138、1234、5678"]),
        ("请拨打138, 1234, 5678联系我", ["138, 1234, 5678"]),
        ("请拨打138 - 1234 - 5678联系我", ["138 - 1234 - 5678"]),
        ("请拨打138·1234·5678联系我", ["138·1234·5678"]),
        ("请拨打138/1234/5678联系我", ["138/1234/5678"]),
        ("请拨打138–1234–5678联系我", ["138–1234–5678"]),
        ("请拨打138．1234．5678联系我", ["138．1234．5678"]),
        ("请拨打138\u30001234\u30005678联系我", ["138\u30001234\u30005678"]),
        ("请拨打138\u202f1234\u202f5678联系我", ["138\u202f1234\u202f5678"]),
        ("请拨打+86，138，1234，5678", ["+86，138，1234，5678"]),
        ("号码是一三八，一二三四，五六七八", ["一三八，一二三四，五六七八"]),
        ("号码138，1234，5678和139.8765.4321", ["138，1234，5678", "139.8765.4321"]),
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
        # lists of amounts and dates with the separators a phone number may now use
        "请于2024.12.07前还款",
        "额度可选4000，5000，6000元",
        "分别是150，2000，3000元",
        "分别是150、2000、3000、5000",  # every group after the first a round hundred: amounts
        "可借139，1400，2000元",
        "利率13.5，14.2，15.8",
        "版本1.38.1234.5678",  # inside a longer dotted run: no 3-4-4 start at a clean edge
        "138.1234.5678%",
    ],
)
def test_not_mobiles(analyzer: PiiAnalyzer, text: str) -> None:
    assert found(analyzer, text, "CN_MOBILE") == []


_SEPARATORS = [
    " ",
    "-",
    ".",
    "．",
    ",",
    "，",
    "、",
    "—",
    "——",
    "–",
    "·",
    "/",
    "\u3000",
    "\u00a0",
    ", ",
    " - ",
]


@settings(max_examples=150, deadline=None)
@given(
    st.integers(0, 10**9),
    st.sampled_from(_SEPARATORS),
    st.sampled_from(["请拨打{}联系我。", "手机{}", "{}，谢谢"]),
)
def test_any_separator_between_the_groups_is_read_and_masked_whole(
    seed: int, sep: str, template: str
) -> None:
    number = samples.mobile(random.Random(seed))
    written = sep.join((number[:3], number[3:7], number[7:]))
    text = template.format(written)
    spans = [s for s in _ANALYZER.analyze(text) if s.entity == "CN_MOBILE"]
    assert [(text[s.start : s.end], digits_only(s.value)) for s in spans] == [(written, number)]
    assert mask(spans[0].entity, spans[0].value) == f"{number[:3]}****{number[7:]}"
