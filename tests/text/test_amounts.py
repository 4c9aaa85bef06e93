from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from guard.text.amounts import (
    DIGIT_GLUE,
    GROUP_SEPS,
    NumberStyle,
    format_number,
    parse_number,
    plain_number,
    scan_numbers,
)

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
    ("兩萬", D(20000)),  # traditional characters
    ("兩千五百", D(2500)),
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
    # grouped by thousands with a space of any width or an apostrophe, like 4,000
    ("5 000元", D(5000)),
    ("5\u00a0000元", D(5000)),
    ("5\u202f000元", D(5000)),
    ("5\u2009000元", D(5000)),
    ("5\u3000000元", D(5000)),
    ("5'000元", D(5000)),
    ("1 234 567.50元", D("1234567.50")),
    ("５ ０００元", D(5000)),
    ("5 000 元", D(5000)),
    # K = 千, W = 万
    ("5K", D(5000)),
    ("5k元", D(5000)),
    ("1.5W", D(15000)),
    ("2w", D(20000)),
    ("５Ｋ", D(5000)),
    ("RMB5K", D(5000)),
]


@pytest.mark.parametrize(("text", "value"), PARSE)
def test_parse(text: str, value: Decimal) -> None:
    assert parse_number(text) == value


@pytest.mark.parametrize(
    "text",
    ["千万", "万一", "百分之", "万", "", "元", "四五", "五十千", "万万", "abc", "4..0", "K", "5KB", "5kg", "5 00", "5 0000"],
)
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


SCANS = [
    # a space-grouped number ends after a group of exactly three digits
    ("138 1234 5678", [("138", D(138)), ("1234", D(1234)), ("5678", D(5678))]),
    ("额度5 000 000元", [("5 000 000", D(5000000))]),
    ("5 0001", [("5", D(5)), ("0001", D(1))]),
    # K / W only after digits, not inside a name, not before another letter or digit
    ("GPT-4K很强", [("4", D(4))]),
    ("A5K型号", [("5", D(5))]),
    ("iPhone 5K", [("5", D(5))]),
    ("RMB 5K", [("5K", D(5000))]),
    ("5KB的文件", [("5", D(5))]),
    ("5k5", [("5", D(5)), ("5", D(5))]),
    ("5k-8k", [("5k", D(5000)), ("8k", D(8000))]),
    ("额度1.5w", [("1.5w", D(15000))]),
    # the comma forms as before: 4,0000 runs on, a list after ， stays a list
    ("4,0000元", [("4,0000", D(40000))]),
    ("4000，5000，6000元", [("4000", D(4000)), ("5000", D(5000)), ("6000", D(6000))]),
]


@pytest.mark.parametrize(("text", "expected"), SCANS)
def test_scan_reads_grouped_and_k_forms(text: str, expected: list[tuple[str, Decimal]]) -> None:
    assert [(text[m.start : m.end], m.value) for m in scan_numbers(text)] == expected


GLUED = [
    ("您的额度是5 000元", [False]),
    ("您的额度是5,000元", [False]),
    ("您的额度是5-000元", [True, True]),
    ("您的额度是5—000元", [True, True]),
    ("您的额度是3000-5000元", [True, True]),
    ("您的额度是4000，5000元", [True, True]),
    ("您的额度是5 0001元", [True, True]),
    ("您的额度是5000元-6000元", [False, False]),
    ("您的额度是5000元，还款300元", [False, False]),
    ("您的额度是5K元", [False]),
]


@pytest.mark.parametrize(("text", "glued"), GLUED)
def test_glued_says_another_digit_touches_the_number(text: str, glued: list[bool]) -> None:
    assert [m.glued for m in scan_numbers(text)] == glued


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=1000, max_value=10**12), st.sampled_from(GROUP_SEPS), st.sampled_from(["", ".00", ".5"]))
def test_any_thousands_grouping_reads_as_the_number(n: int, sep: str, frac: str) -> None:
    grouped = f"{n:,}".replace(",", sep) + frac
    value = D(f"{n}{frac}")
    assert parse_number(grouped) == value
    (m,) = scan_numbers(f"您的额度是{grouped}元。")
    assert (m.value, m.money, m.glued, m.style.sep) == (value, True, False, sep)
    # a fix keeps the grouping (and 4000.00's decimals; 4000.5 is a value, not a style)
    assert format_number(D(4000), m.style) == f"4{sep}000" + (".00" if frac == ".00" else "")


_NUMBERISH = st.text(st.sampled_from("0123456789 ,，.-—'\u202f\u00a0/:KkWw千万元、"), min_size=1, max_size=14)


@settings(max_examples=300, deadline=None)
@given(_NUMBERISH, _NUMBERISH)
def test_glued_is_exactly_a_digit_touching_the_span(before: str, number: str) -> None:
    text = "额度" + before + "是" + number + "元"
    for m in scan_numbers(text):
        left = text[max(0, m.start - 2) : m.start]
        right = text[m.end : m.end + 2]
        touches = (left[-1:].isdigit() or (len(left) == 2 and left[1] in DIGIT_GLUE and left[0].isdigit())) or (
            right[:1].isdigit() or (len(right) == 2 and right[0] in DIGIT_GLUE and right[1].isdigit())
        )
        assert m.glued == touches, (text, text[m.start : m.end])


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
    ("5 000", D(4000), "4 000"),
    ("5\u202f000", D(12000), "12\u202f000"),
    ("5'000.00", D(4000), "4'000.00"),
    ("5K", D(4000), "4K"),
    ("5k", D(4500), "4.5k"),
    ("0.5w", D(4000), "0.4w"),
    ("5W", D(4000), "0.4W"),
    ("５Ｋ", D(4000), "４Ｋ"),
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
    NumberStyle(sep=" "),
    NumberStyle(sep="\u202f", decimals=2),
    NumberStyle(sep="'"),
    NumberStyle(form="scaled", scale="K"),
    NumberStyle(form="scaled", scale="w"),
    NumberStyle(form="scaled", scale="K", fullwidth=True),
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


# --- dots as thousands separators (European style) -----------------------------------------------
# Two or more groups of exactly three digits after 1-3 digits are a grouped number: 5.000.000.
DOT_GROUPED = [
    ("5.000.000", D(5000000)),
    ("5.000.000元", D(5000000)),
    ("1.234.567", D(1234567)),
    ("12.000.000元", D(12000000)),
    ("４．０００．０００元", D(4000000)),
]


@pytest.mark.parametrize(("text", "value"), DOT_GROUPED)
def test_dots_grouping_two_or_more_groups_read_as_one_number(text: str, value: Decimal) -> None:
    assert parse_number(text) == value
    (m,) = scan_numbers("您的额度是" + text + "。")
    assert (m.value, m.style.sep, m.money, m.glued, m.doubt) == (value, ".", True, False, "")


# One dot then exactly three digits (4.000, 10.000, 4.500) is 4 yuan or 4000: the reader keeps the
# decimal value but says it is in doubt, so no check takes it at face value.
@pytest.mark.parametrize("text", ["4.000元", "您的额度是4.000元", "额度5.000", "额度10.000元", "额度100.000元", "4.500元", "４．０００元"])
def test_one_dot_then_three_digits_is_in_doubt(text: str) -> None:
    (m,) = scan_numbers(text)
    assert m.doubt == "dots"
    assert m.money


@pytest.mark.parametrize("text", ["0.500元", "4.00元", "4.0000元", "1234.000元", "1.550万", "4.000k", "4,000.000元", "3.14"])
def test_other_decimals_are_not_in_doubt(text: str) -> None:
    assert [m.doubt for m in scan_numbers(text)] == [""]


@pytest.mark.parametrize("text", ["5.000.0001", "2024.12.07", "1.000.000.5"])
def test_dot_runs_that_are_no_grouping_stay_glued(text: str) -> None:
    found = scan_numbers(text)
    assert found and all(m.glued for m in found)


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(
        st.integers(min_value=0, max_value=10**12).map(Decimal),
        st.decimals(min_value=0, max_value=10**7, places=2, allow_nan=False, allow_infinity=False),
    )
)
def test_a_dot_grouped_style_never_renders_an_ambiguous_number(value: Decimal) -> None:
    (m,) = scan_numbers("额度5.000.000元")
    text = format_number(value, m.style)
    assert parse_number(text) == value
    (back,) = scan_numbers("额度" + text + "元")
    assert (back.value, back.doubt, back.glued) == (value, "", False)
    # one group (4.000) would read as 4 yuan: a dot-grouped fix writes plain digits then
    assert text.count(".") != 1 or "." in plain_number(value)


# --- ranges ----------------------------------------------------------------------------------------
RANGES = [
    ("5k-8k", "5k-8k", D(5000), D(8000)),
    ("5千-8千元", "5千-8千元", D(5000), D(8000)),
    ("5000~8000元", "5000~8000元", D(5000), D(8000)),
    ("5000～8000元", "5000～8000元", D(5000), D(8000)),
    ("5000至8000元", "5000至8000元", D(5000), D(8000)),
    ("五千到八千元", "五千到八千元", D(5000), D(8000)),
    ("5000元-8000元", "5000元-8000元", D(5000), D(8000)),
    ("¥5000-¥8000", "¥5000-¥8000", D(5000), D(8000)),
    ("5000 - 8000元", "5000 - 8000元", D(5000), D(8000)),
    ("5000—8000元", "5000—8000元", D(5000), D(8000)),
    # a bare first end takes the second's unit: 3-5万 is 3万 to 5万
    ("3-5万", "3-5万", D(30000), D(50000)),
    ("3至5万元", "3至5万元", D(30000), D(50000)),
    ("1.5-2万", "1.5-2万", D(15000), D(20000)),
    ("三到五万", "三到五万", D(30000), D(50000)),
    ("5-8k", "5-8k", D(5000), D(8000)),
    ("3-5百元", "3-5百元", D(300), D(500)),
    # alternatives whose first end takes the second's unit: 4、5千 is 4千 to 5千
    ("4、5千元", "4、5千元", D(4000), D(5000)),
    ("4或5千元", "4或5千元", D(4000), D(5000)),
    ("四、五千元", "四、五千元", D(4000), D(5000)),
    # … unless that would put it above the second: 500-1万 is 500 to 10000
    ("500-1万", "500-1万", D(500), D(10000)),
    # not in order: still two amounts joined, never one of them alone
    ("8000-5000元", "8000-5000元", D(8000), D(5000)),
    ("8k-5k", "8k-5k", D(8000), D(5000)),
]


@pytest.mark.parametrize(("text", "span", "first", "second"), RANGES)
def test_two_amounts_joined_by_a_range_connector_are_a_range(text: str, span: str, first: Decimal, second: Decimal) -> None:
    reply = "您的额度是" + text + "。"
    a, b = scan_numbers(reply)
    assert a.pair is not None and a.pair is b.pair
    assert reply[a.pair.start : a.pair.end] == span
    assert (a.value, b.value) == (first, second) == (a.pair.first, a.pair.second)
    assert a.money and b.money
    assert a.pair.ascending == (first < second)


NOT_RANGES = [
    "请拨打400-123-4567",  # three numbers joined: a phone number
    "2026-12-31前还清",
    "9:00-18:00",
    "可分3-12期",
    "年满18至60岁",
    "免息7-30天",
    "从3000元提升到4000元",
    "3000，5000元",
    "7.2%-24%",
    "3、6、12期",
    "5-000元",  # 000 is no amount: a number broken by a dash, not a range
    "4000、5000元",  # a list: 、 joins a range only when the first end takes the second's unit
    "4000或5000元",
    "请拨打010-12345678",
]


@pytest.mark.parametrize("text", NOT_RANGES)
def test_numbers_not_joined_as_a_range(text: str) -> None:
    assert all(m.pair is None for m in scan_numbers(text))


def test_a_bare_range_joined_by_a_dash_is_no_amount_as_a_phone_is_not() -> None:
    found = scan_numbers("请拨打400-8888")
    assert found[0].pair is not None
    assert [m.money for m in found] == [False, False]
    found = scan_numbers("额度5000到8000")
    assert [m.money for m in found] == [True, True]


# --- approximate amounts and other currencies ---------------------------------------------------
APPROX = [
    ("5000多元", "5000多元", D(5000)),
    ("4000余元", "4000余元", D(4000)),
    ("四千多块", "四千多块", D(4000)),
    ("4000多。", "4000多", D(4000)),
    ("4000+", "4000+", D(4000)),
    ("1000来块", "1000来块", D(1000)),
    ("30多万", "30多万", D(300000)),
    ("1000多万元", "1000多万元", D(10000000)),
    ("五六千元", "五六千元", D(5000)),
    ("两三万", "两三万", D(20000)),
    ("三五百块", "三五百块", D(300)),
]


@pytest.mark.parametrize(("text", "full", "value"), APPROX)
def test_an_approximate_amount_is_in_doubt(text: str, full: str, value: Decimal) -> None:
    reply = "您的额度是" + text
    (m,) = scan_numbers(reply)
    assert (m.doubt, m.money, m.value) == ("approx", True, value)
    assert reply[m.full_start : m.full_end] == full


@pytest.mark.parametrize("text", ["额度4000多久到账", "额度4000余额不足", "可借4000来周转", "额度4000多吗"])
def test_words_after_a_number_that_are_no_approximation(text: str) -> None:
    assert [m.doubt for m in scan_numbers(text)] == [""]


@pytest.mark.parametrize("text", ["4000美元", "$4000", "US$4000", "USD 4000", "4000日元", "HK$4000", "4000港币", "€4000", "4000欧元"])
def test_another_currency_is_in_doubt(text: str) -> None:
    reply = "您的额度是" + text + "。"
    (m,) = scan_numbers(reply)
    assert (m.doubt, m.money, m.value) == ("foreign", True, D(4000))
    assert reply[m.full_start : m.full_end] == text


@pytest.mark.parametrize(
    "text",
    ["4000美刀", "4000欧", "4000新加坡元", "4000新币", "4000卢比", "4000泰铢", "4000越南盾", "4000印尼盾", "4000林吉特",
     "4000比索", "4000瑞郎", "4000韩币", "4000澳币", "4000比特币", "4000 SGD", "4000 CHF", "4000 THB", "4000 USDT",
     "₩4000", "₹4000", "₽4000", "฿4000", "S$4000", "NT$4000"],
)
def test_more_currencies_are_in_doubt(text: str) -> None:
    """Each was read as yuan, and a wrong line "fixed" in it: 5000泰铢 → 4000泰铢."""
    reply = "您的额度是" + text + "。"
    (m,) = scan_numbers(reply)
    assert (m.doubt, m.money, m.value) == ("foreign", True, D(4000))
    assert reply[m.full_start : m.full_end] == text


@pytest.mark.parametrize("text", ["额度4000欧式", "额度4000新用户专享", "额度4000比较高", "额度4000 SGDX"])
def test_words_that_only_start_like_a_currency(text: str) -> None:
    assert [m.doubt for m in scan_numbers(text)] == [""]


def test_a_day_before_new_year_is_no_yen() -> None:
    assert [m.doubt for m in scan_numbers("额度在1月1日元旦后恢复")] == ["", ""]


@pytest.mark.parametrize("text", ["4000元", "RMB4000", "¥4000", "人民币4000元", "4000块钱", "4,000.00元", "4000元整"])
def test_yuan_is_not_in_doubt(text: str) -> None:
    (m,) = scan_numbers(text)
    assert (m.doubt, m.value) == ("", D(4000))
