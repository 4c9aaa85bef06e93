from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from guard.text.amounts import NumberStyle, format_number, parse_number, scan_numbers

D = Decimal

PARSE = [
    ("4000元", D(4000)),
    ("4,000元", D(4000)),
    ("4，000元", D(4000)),
    ("4000.00元", D(4000)),
    ("￥4000", D(4000)),
    ("¥4000", D(4000)),
    ("¥ 4000", D(4000)),
    ("RMB4000", D(4000)),
    ("人民币4000元", D(4000)),
    ("4000块", D(4000)),
    ("4000块钱", D(4000)),
    ("4000圆", D(4000)),
    ("四千元", D(4000)),
    ("肆仟元", D(4000)),
    ("4千元", D(4000)),
    ("0.4万元", D(4000)),
    ("４０００元", D(4000)),
    ("４，０００元", D(4000)),
    ("1.55万", D(15500)),
    ("20万", D(200000)),
    ("四千五百", D(4500)),
    ("四千五", D(4500)),
    ("两万", D(20000)),
    ("两万五", D(25000)),
    ("一万零五百", D(10500)),
    ("一千零五", D(1005)),
    ("伍万", D(50000)),
    ("贰拾万", D(200000)),
    ("壹拾万", D(100000)),
    ("十万", D(100000)),
    ("十五万", D(150000)),
    ("一百二十万", D(1200000)),
    ("1万5", D(15000)),
    ("4万5千", D(45000)),
    ("5千万", D(50000000)),
    ("三点五万", D(35000)),
    ("一亿", D(100000000)),
    ("1.2亿", D(120000000)),
    ("一万亿", D(10**12)),
    ("一亿零五十万", D(100500000)),
    ("叁仟伍佰元", D(3500)),
    ("零", D(0)),
    ("0", D(0)),
    ("3.14", D("3.14")),
]


@pytest.mark.parametrize(("text", "value"), PARSE)
def test_parse(text: str, value: Decimal) -> None:
    assert parse_number(text) == value


@pytest.mark.parametrize("text", ["千万", "万一", "百分之", "万", "", "元", "四五", "五十千", "万万", "abc", "4..0"])
def test_malformed_is_not_a_number(text: str) -> None:
    assert parse_number(text) is None


def test_scan_spans_and_money() -> None:
    text = "您的额度是４，０００元，30天免息，年满18周岁，电话13812345678"
    found = [(text[m.start : m.end], m.value, m.money) for m in scan_numbers(text)]
    assert found == [
        ("４，０００", D(4000), True),
        ("30", D(30), False),
        ("18", D(18), False),
        ("13812345678", D(13812345678), False),
    ]


def test_scan_full_span_includes_currency() -> None:
    text = "可借￥4000元"
    (m,) = scan_numbers(text)
    assert text[m.full_start : m.full_end] == "￥4000元"
    assert text[m.start : m.end] == "4000"


def test_huge_and_long_numbers_do_not_crash() -> None:
    text = "额度" + "9" * 60 + "元，" + "一万" * 30 + "元"
    found = scan_numbers(text)
    assert all(m.value >= 0 for m in found)
    assert parse_number("9" * 30 + "元") == D("9" * 30)


STYLE_FIX = [
    ("五千", D(4000), "四千"),
    ("5000", D(4000), "4000"),
    ("0.5万", D(4000), "0.4万"),
    ("5千", D(4000), "4千"),
    ("伍仟", D(4000), "肆仟"),
    ("5,000", D(4000), "4,000"),
    ("5,000", D(12000), "12,000"),
    ("5000.00", D(4000), "4000.00"),
    ("５０００", D(4000), "４０００"),
    ("两万", D(20000), "两万"),
    ("两万", D(25000), "两万五千"),
    ("一万零五百", D(10500), "一万零五百"),
    ("十万", D(100000), "十万"),
    ("十万", D(150000), "十五万"),
    ("贰拾万", D(200000), "贰拾万"),
    ("贰拾万", D(100000), "壹拾万"),
    ("1.55万", D(15500), "1.55万"),
    ("20万", D(4000), "0.4万"),
    ("五千", D("4000.5"), "四千点五"),
    ("五千", D(1005), "一千零五"),
    ("五千", D(100010), "十万零一十"),
]


@pytest.mark.parametrize(("original", "value", "expected"), STYLE_FIX)
def test_format_keeps_style(original: str, value: Decimal, expected: str) -> None:
    (m,) = scan_numbers(original)
    out = format_number(value, m.style)
    assert out == expected
    assert parse_number(out) == value


STYLES = [
    NumberStyle(),
    NumberStyle(sep=","),
    NumberStyle(sep="，"),
    NumberStyle(decimals=2),
    NumberStyle(fullwidth=True),
    NumberStyle(sep=",", fullwidth=True),
    NumberStyle(form="scaled", scale="万"),
    NumberStyle(form="scaled", scale="千"),
    NumberStyle(form="scaled", scale="亿"),
    NumberStyle(form="scaled", scale="万", fullwidth=True),
    NumberStyle(form="chinese"),
    NumberStyle(form="chinese", liang=True),
    NumberStyle(form="capital"),
]


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.integers(min_value=0, max_value=10**15).map(Decimal),
        st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False, allow_infinity=False),
    ),
    st.sampled_from(STYLES),
)
def test_every_rendering_parses_back(value: Decimal, style: NumberStyle) -> None:
    text = format_number(value, style)
    assert parse_number(text) == value, text
    assert parse_number(text + "元") == value
    (m,) = scan_numbers("额度" + text + "元")
    assert m.value == value


def test_negative_amount_is_refused() -> None:
    with pytest.raises(ValueError):
        format_number(D(-1), NumberStyle())
