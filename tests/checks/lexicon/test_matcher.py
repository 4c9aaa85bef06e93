"""Evasion-tolerant matching: one table per evasion kind, allow-list precedence, span property."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from guard.checks.lexicon.lexicon_file import check_keys, parse_lexicon
from guard.checks.lexicon.matcher import LexiconMatcher

LEXICON = """
[tier=3 | category=收益承诺]
稳赚
稳赚不赔
保本
无风险
零风险
[tier=2 | category=审批承诺]
百分百通过
秒批
包过
[tier=3 | category=辱骂]
sb
傻b
[tier=3 | category=催收威胁]
告诉你家人
[tier=1 | category=称呼]
亲爱的
[allow]
风险提示
确保本
红包过
"""


def build(text: str = LEXICON, max_gap: int = 6) -> LexiconMatcher:
    entries = parse_lexicon(text, "t.txt", {1, 2, 3})
    deny, allow = check_keys(entries, LexiconMatcher({}, {}).key, strict=lambda e: True)
    return LexiconMatcher(deny, allow, max_gap=max_gap)


M = build()


def found(text: str, m: LexiconMatcher = M) -> list[tuple[str, str]]:
    return [(h.entry.word, text[h.start : h.end]) for h in m.find(text)]


def table(*rows: tuple[str, list[tuple[str, str]]]) -> pytest.MarkDecorator:
    return pytest.mark.parametrize(("text", "expected"), rows)


@table(
    ("我们稳 赚", [("稳赚", "稳 赚")]),
    ("稳\t\t赚", [("稳赚", "稳\t\t赚")]),
    ("稳\u3000赚不 赔的", [("稳赚不赔", "稳\u3000赚不 赔")]),
    ("保 本 产品", [("保本", "保 本")]),
)
def test_spaces(text: str, expected: list[tuple[str, str]]) -> None:
    assert found(text) == expected


@table(
    ("稳*赚", [("稳赚", "稳*赚")]),
    ("秒-批", [("秒批", "秒-批")]),
    ("无|风.险", [("无风险", "无|风.险")]),
    ("保、本", [("保本", "保、本")]),
    ("秒~_~批", [("秒批", "秒~_~批")]),
    ("稳\u0336赚\u0336", [("稳赚", "稳\u0336赚")]),  # strike-through combining marks
    ("保\u0332本", [("保本", "保\u0332本")]),  # underline
    ("稳【】赚", [("稳赚", "稳【】赚")]),
)
def test_symbols_and_punctuation(text: str, expected: list[tuple[str, str]]) -> None:
    assert found(text) == expected


@table(
    ("稳＊赚", [("稳赚", "稳＊赚")]),
    ("你是ＳＢ吗", [("sb", "ＳＢ")]),
    ("傻Ｂ", [("傻b", "傻Ｂ")]),
    ("１００％通过", [("百分百通过", "１００％通过")]),
)
def test_full_width(text: str, expected: list[tuple[str, str]]) -> None:
    assert found(text) == expected


@table(
    ("穩賺不賠", [("稳赚不赔", "穩賺不賠")]),
    ("零風險", [("零风险", "零風險")]),
    ("告訴你家人", [("告诉你家人", "告訴你家人")]),
    ("秒批", [("秒批", "秒批")]),
)
def test_traditional(text: str, expected: list[tuple[str, str]]) -> None:
    assert found(text) == expected


@table(
    ("稳\u200b赚", [("稳赚", "稳\u200b赚")]),
    ("保\u200d\u200c本", [("保本", "保\u200d\u200c本")]),
    ("\ufeff秒\u2060批", [("秒批", "秒\u2060批")]),
    # Invisible characters never count against the gap bound.
    ("稳" + "\u200b" * 30 + "赚", [("稳赚", "稳" + "\u200b" * 30 + "赚")]),
)
def test_zero_width(text: str, expected: list[tuple[str, str]]) -> None:
    assert found(text) == expected


@table(
    ("稳稳赚", [("稳赚", "稳稳赚")]),
    ("稳稳稳赚赚", [("稳赚", "稳稳稳赚赚")]),
    ("保 保 本", [("保本", "保 保 本")]),
    ("秒秒批批", [("秒批", "秒秒批批")]),
)
def test_repeats(text: str, expected: list[tuple[str, str]]) -> None:
    assert found(text) == expected


@table(
    ("稳😀赚", [("稳赚", "稳😀赚")]),
    ("秒👍🏻批", [("秒批", "秒👍🏻批")]),
    ("保❤️本", [("保本", "保❤️本")]),
    ("无🇨🇳风险", [("无风险", "无🇨🇳风险")]),
)
def test_emoji(text: str, expected: list[tuple[str, str]]) -> None:
    assert found(text) == expected


@table(
    ("穩 ＊ 賺\u200b😀不賠", [("稳赚不赔", "穩 ＊ 賺\u200b😀不賠")]),
    ("零　風\u200b險險", [("零风险", "零　風\u200b險險")]),
    ("告 訴 你 家 人", [("告诉你家人", "告 訴 你 家 人")]),
)
def test_mixed(text: str, expected: list[tuple[str, str]]) -> None:
    assert found(text) == expected


@table(
    ("百分之百通过", [("百分百通过", "百分之百通过")]),
    ("百分之一百通过", [("百分百通过", "百分之一百通过")]),
    ("100%通过", [("百分百通过", "100%通过")]),
    ("100 % 通 过", [("百分百通过", "100 % 通 过")]),
    ("0风险", [("零风险", "0风险")]),
    ("〇风险", [("零风险", "〇风险")]),
    # Without the % sign 100 is just a number: "还款100。通过支付宝" is innocent.
    ("还款100。通过支付宝", []),
    ("年化10风险", []),
)
def test_digits_and_chinese_numerals(text: str, expected: list[tuple[str, str]]) -> None:
    assert found(text) == expected


@table(
    ("你是sb吗", [("sb", "sb")]),
    ("SB!", [("sb", "SB")]),
    ("s b", [("sb", "s b")]),
    ("this is sbi bank", []),
    ("absolutely", []),
    ("usb接口", []),
    ("3sb", []),
)
def test_latin_entries_match_whole_words_only(text: str, expected: list[tuple[str, str]]) -> None:
    assert found(text) == expected


def test_av_does_not_match_have() -> None:
    m = build("[tier=3 | category=x]\nav\n")
    assert found("I have a plan", m) == []
    assert found("看av吗", m) == [("av", "av")]


@table(
    ("稳" + " " * 6 + "赚", [("稳赚", "稳" + " " * 6 + "赚")]),
    ("稳" + " " * 7 + "赚", []),
    ("稳。\n\n\n\n\n\n赚", []),
)
def test_gap_is_bounded(text: str, expected: list[tuple[str, str]]) -> None:
    assert found(text) == expected


@table(
    ("本产品有风险提示", []),
    ("无风险提示", []),  # allow 风险提示 overlaps deny 无风险: allow wins
    ("请确保本人操作", []),  # allow a long word holding a short denied word
    ("您的红包过期了", []),
    ("这个无风险", [("无风险", "无风险")]),
    ("无风险，请看风险提示", [("无风险", "无风险")]),  # allow elsewhere does not hide it
    ("包过", [("包过", "包过")]),
    ("风险 提示", []),  # spaces inside an allowed phrase are fine
    ("无风险，提示", [("无风险", "无风险")]),  # clause punctuation splits the allowed phrase
    ("确保，本金", [("保本", "保，本")]),
)
def test_allow_list_beats_deny_list_where_they_overlap(text: str, expected: list[tuple[str, str]]) -> None:
    assert found(text) == expected


def test_overlapping_denied_words_keep_the_longest_highest_tier() -> None:
    assert found("稳赚不赔") == [("稳赚不赔", "稳赚不赔")]
    assert found("稳赚，保本，亲爱的") == [("稳赚", "稳赚"), ("保本", "保本"), ("亲爱的", "亲爱的")]


def test_no_match_on_clean_text_and_empty_text() -> None:
    assert found("张先生您好，您的额度已经审核通过了。") == []
    assert found("") == []
    assert build("[allow]\n风险提示\n").find("无风险提示") == []


ENTRIES = ["稳赚不赔", "告诉你家人", "百分百通过", "无风险"]
JUNK = st.text(alphabet=" \t*-_.,，。！!?~|·…、\u200b\u200d\ufeff😀👍❤\ufe0f🇨🇳", min_size=0, max_size=3)
# Outside text: characters that are in no entry, so nothing outside can join a match.
OUTSIDE = st.text(alphabet="您好张先生我们的产品额度已经审核了今天明白 ，。", max_size=12)


@settings(max_examples=200, deadline=None)
@given(
    word=st.sampled_from(ENTRIES),
    data=st.data(),
    prefix=OUTSIDE,
    suffix=OUTSIDE,
)
def test_span_covers_exactly_the_word_and_the_junk_inside_it(
    word: str, data: st.DataObject, prefix: str, suffix: str
) -> None:
    gaps = [data.draw(JUNK) for _ in range(len(word) - 1)]
    inside = word[0] + "".join(g + c for g, c in zip(gaps, word[1:], strict=True))
    text = prefix + inside + suffix
    hits = M.find(text)
    assert [(h.entry.word, h.start, h.end) for h in hits] == [(word, len(prefix), len(prefix) + len(inside))]
    assert text[: hits[0].start] == prefix and text[hits[0].end :] == suffix


@settings(max_examples=300, deadline=None)
@given(
    st.text(alphabet="稳赚穩賺保本 *，。\u200b\u0336😀👍🏻ＡaB１00%〇零㍿ﬁ\t", max_size=30),
    st.integers(0, 40),
)
def test_prefix_map_equals_the_full_map_up_to_the_limit(text: str, limit: int) -> None:
    full = M._norm.map(text)
    part = M._map_prefix(text, limit)
    n = min(limit, len(full.text))
    assert full.text.startswith(part.text) and len(part.text) >= n
    assert part.starts[:n] == full.starts[:n] and part.ends[:n] == full.ends[:n]
    if len(part.text) > limit:
        assert part.starts[limit] == full.starts[limit]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("人人可贷", [("人人可贷", "人人可贷")]),
        ("人 人 可 贷", [("人人可贷", "人 人 可 贷")]),
        ("人人人可贷", [("人人可贷", "人人人可贷")]),
        ("每个人可贷多少", []),  # the entry writes 人 twice: one 人 is not enough
        ("扣扣号", [("扣扣", "扣扣")]),
        ("扣款失败", []),
    ],
)
def test_entries_with_a_doubled_character_need_it_doubled(text: str, expected: list[tuple[str, str]]) -> None:
    m = build("[tier=2 | category=x]\n人人可贷\n扣扣\n")
    assert found(text, m) == expected


def test_a_100_percent_entry_keeps_all_spellings() -> None:
    m = build("[tier=2 | category=x]\n100%通过\n")
    for text in ("100%通过", "百分百通过", "百分之百通过", "1 0 0 ％ 通 过"):
        assert [h.entry.word for h in m.find(text)] == ["100%通过"], text
    assert m.find("100通过") == []
