from __future__ import annotations

import re

import pytest

from guard.text.sentences import split_sentences, text_length

CASES = [
    ("", []),
    ("没有结束", ["没有结束"]),
    ("张先生您好。您的额度是4000元！请问？", ["张先生您好。", "您的额度是4000元！", "请问？"]),
    ("好的……那我们\n\n下次再聊", ["好的……", "那我们\n\n", "下次再聊"]),
    ("他说：“好的。”然后走了", ["他说：“好的。”", "然后走了"]),
    ("真的吗？！”对", ["真的吗？！”", "对"]),
    ("a!?b", ["a!?", "b"]),
    ("一，二，三", ["一，二，三"]),
    ("第一；第二;第三", ["第一；", "第二;", "第三"]),
    ("好的…行", ["好的…", "行"]),
    ("行\r\n好", ["行\r\n", "好"]),
    ("（备注。）后面", ["（备注。）", "后面"]),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_split(text: str, expected: list[str]) -> None:
    assert [s.text for s in split_sentences(text)] == expected


@pytest.mark.parametrize(
    ("text", "length"),
    [("", 0), ("  ", 0), ("你好。", 3), ("4 000 元", 5), ("Hi there!", 8), ("😀好", 2), ("a\tb\nc", 3)],
)
def test_length(text: str, length: int) -> None:
    assert text_length(text) == length


from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

SENTENCE_TEXT = st.text(alphabet=st.sampled_from(list("张先生您好额度4000元，。！？!?；;…\n\r ”）』a😀")), max_size=80)


@given(text=SENTENCE_TEXT)
def test_split_then_join_loses_nothing(text: str) -> None:
    parts = split_sentences(text)
    assert "".join(s.text for s in parts) == text
    pos = 0
    for s in parts:
        assert s.start == pos and s.end > s.start and text[s.start : s.end] == s.text
        assert s.length == text_length(s.text)
        pos = s.end
    assert sum(s.length for s in parts) == text_length(text)


@given(text=SENTENCE_TEXT)
def test_no_sentence_has_a_terminator_inside_its_body(text: str) -> None:
    for s in split_sentences(text):
        body = s.text.rstrip()
        # strip the closing run: terminators and closers at the end
        core = body.rstrip("”’\"'）)】」』》〉]}〕〗").rstrip("。！？!?；;…")
        assert not any(c in "。！？!?；;…\n\r" for c in core)


def test_long_reply_is_split_in_bounded_time() -> None:
    import time

    text = "好" * 100_000 + "。" + "！" * 50_000 + "\n" * 10_000
    t0 = time.perf_counter()
    parts = split_sentences(text)
    assert time.perf_counter() - t0 < 2.0
    assert parts[0].length == 100_000 + 1 + 50_000


@given(st.text(st.characters(codec="utf-8")))
def test_length_counts_what_the_whitespace_class_does_not_match(text: str) -> None:
    assert text_length(text) == len(text) - sum(len(m) for m in re.findall(r"\s", text))


def test_sentences_are_values() -> None:
    # A plain (compiled) class, not a dataclass: it still compares, hashes and prints by value.
    a, b = split_sentences("您好。"), split_sentences("您好。")
    assert a == b and a[0] is not b[0]
    assert hash(a[0]) == hash(b[0])
    assert a[0] != split_sentences("你好。")[0]
    assert repr(a[0]) == "Sentence(start=0, end=3, text='您好。', length=3)"
    assert a[0].content_end == 3
