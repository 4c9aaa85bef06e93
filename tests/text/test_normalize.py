from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from guard.text.normalize import NormalizeOptions, Normalizer, is_junk_char

DEFAULT = Normalizer()
LEXICAL = Normalizer(NormalizeOptions(t2s=True, junk=True, collapse_repeats=True))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("４０００元", "4000元"),  # full-width digits
        ("ＡＢＣabc", "abcabc"),  # full-width Latin + case folding
        ("稳\u200b赚", "稳赚"),  # zero-width space removed
        ("保\ufeff本", "保本"),  # BOM / zero-width no-break space
        ("无\u2060风险", "无风险"),  # word joiner
        ("RMB", "rmb"),
        ("①", "1"),
        ("穩賺", "穩賺"),  # no t2s by default
        ("稳 赚", "稳 赚"),  # spaces kept by default
    ],
)
def test_default_normalisation(text: str, expected: str) -> None:
    assert DEFAULT.fast(text) == expected
    assert DEFAULT.map(text).text == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("穩賺不賠", "稳赚不赔"),
        ("稳 赚", "稳赚"),
        ("稳*赚", "稳赚"),
        ("稳😀赚", "稳赚"),
        ("稳稳稳赚", "稳赚"),
        ("稳，，赚", "稳赚"),
        ("Ｗｅｎ ＺＨＵＡＮ", "wenzhuan"),
    ],
)
def test_lexical_normalisation(text: str, expected: str) -> None:
    assert LEXICAL.fast(text) == expected
    assert LEXICAL.map(text).text == expected


@pytest.mark.parametrize(("ch", "junk"), [(" ", True), ("，", True), ("😀", True), ("\u200b", True), ("稳", False), ("4", False), ("a", False)])
def test_is_junk(ch: str, junk: bool) -> None:
    assert is_junk_char(ch) is junk


def test_span_maps_back_over_removed_characters() -> None:
    text = "这款稳 赚不赔"
    nt = LEXICAL.map(text)
    i = nt.text.index("稳赚")
    assert nt.to_original(i, i + 2) == (2, 5)
    assert text[2:5] == "稳 赚"


def test_repeats_join_the_first_characters_span() -> None:
    text = "稳稳稳赚"
    nt = LEXICAL.map(text)
    assert nt.text == "稳赚"
    assert nt.to_original(0, 2) == (0, 4)


def test_to_original_rejects_spans_outside() -> None:
    nt = DEFAULT.map("abc")
    with pytest.raises(ValueError):
        nt.to_original(2, 4)
    with pytest.raises(ValueError):
        nt.to_original(1, 1)


ANY_TEXT = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8"),
        st.sampled_from(list("稳赚穩賺 　，。！？\u200b\u200d\ufeff😀①ＡＢ４ß")),
    ),
    max_size=60,
)


@pytest.mark.parametrize("normalizer", [DEFAULT, LEXICAL], ids=["default", "lexical"])
@given(text=ANY_TEXT)
@example(text="1¼")  # a repeat collapsed into the first piece of an expansion (1 + 1⁄4)
def test_offset_map_is_inside_and_monotonic(normalizer: Normalizer, text: str) -> None:
    nt = normalizer.map(text)
    assert nt.text == normalizer.fast(text)
    assert len(nt.starts) == len(nt.ends) == len(nt.text)
    previous = (0, 0)
    for s, e in zip(nt.starts, nt.ends, strict=True):
        assert 0 <= s < e <= len(text)
        # monotonic: characters from one expansion (¼ → 1⁄4) share a span, never go backwards
        assert s >= previous[0] and e >= previous[1]
        # A collapsed repeat stretches the previous span over the next character; the rest of
        # that character's expansion then starts inside it and ends with it ("1¼" → "14": 0–2, 1–2).
        stretched = normalizer.options.collapse_repeats and e == previous[1]
        assert s >= previous[1] or (s, e) == previous or s == previous[0] or stretched
        previous = (s, e)
