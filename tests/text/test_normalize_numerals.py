"""The `numerals` and `marks` normalisation options."""

from __future__ import annotations

import pytest

from guard.text.normalize import NormalizeOptions, Normalizer

NUM = Normalizer(NormalizeOptions(numerals=True))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("零风险", "0风险"),
        ("〇风险", "0风险"),
        ("一二三四五六七八九", "123456789"),
        ("壹贰叁肆伍陆柒捌玖", "123456789"),
        ("两天", "2天"),
        ("十拿九稳", "十拿9稳"),  # positional characters stay: they have no one-character digit
        ("百分百", "百分百"),
        ("１００％", "100%"),  # full-width digits were already folded by NFKC
    ],
)
def test_numerals_option(text: str, expected: str) -> None:
    assert NUM.fast(text) == expected
    nt = NUM.map(text)
    assert nt.text == expected
    assert nt.to_original(0, len(nt.text)) == (0, len(text))


def test_off_by_default_keeps_existing_behaviour() -> None:
    assert NormalizeOptions().numerals is False
    assert Normalizer().fast("零风险一二") == "零风险一二"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("稳\u0336赚", "稳赚"), ("保\u0332本", "保本"), ("秒\u20dd批", "秒批"), ("稳赚", "稳赚")],
)
def test_marks_option_removes_combining_marks(text: str, expected: str) -> None:
    norm = Normalizer(NormalizeOptions(marks=True))
    assert norm.fast(text) == expected
    assert Normalizer().fast(text) == text  # off by default


@pytest.mark.parametrize("text", ["稳稳稳赚", "谢谢谢谢您", "", "a", "aab\n\nbb", "😀😀"])
def test_collapse_repeats_output_is_unchanged(text: str) -> None:
    import re

    norm = Normalizer(NormalizeOptions(collapse_repeats=True))
    assert norm.fast(text) == re.sub(r"(.)\1+", r"\1", text.translate(dict(norm.table)), flags=re.DOTALL)
    assert norm.map(text).text == norm.fast(text)
