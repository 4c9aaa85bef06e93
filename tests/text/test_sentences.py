from __future__ import annotations

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
