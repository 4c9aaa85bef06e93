"""Lexicon file format: parsing, and broken files reported as file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from guard.checks.base import ConfigError, PolicyContext
from guard.checks.lexicon import LexiconConfig, build_lexicon_check, parse_lexicon, parse_plain_list
from guard.checks.lexicon.lexicon_file import LexiconFileError

FIXTURES = Path(__file__).parent / "fixtures"
TIERS = {1, 2, 3}


def test_sections_comments_and_aliases() -> None:
    text = (
        "# 整行注释\n"
        "[tier=3 | category=收益承诺 | reason=广告法第二十五条]\n"
        "稳赚   # 行尾注释\n"
        "\n"
        "[等级=1 | 类别=称呼]\n"
        "亲爱的\n"
        "[allow]\n"
        "风险提示\n"
    )
    entries = parse_lexicon(text, "x.txt", TIERS)
    assert [(e.word, e.tier, e.category, e.source) for e in entries] == [
        ("稳赚", 3, "收益承诺", "x.txt:3"),
        ("亲爱的", 1, "称呼", "x.txt:6"),
        ("风险提示", None, "", "x.txt:8"),
    ]
    assert entries[0].reason == "广告法第二十五条"
    assert entries[2].allowed


def test_same_word_in_allow_and_deny_sections_is_not_a_plain_duplicate() -> None:
    # The parser sees two sections; the cross-check (`check_keys`) reports it, tested below.
    entries = parse_lexicon("[tier=2 | category=a]\n稳赚\n[allow]\n稳赚\n", "x.txt", TIERS)
    assert len(entries) == 2


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        ("duplicate.txt", ["duplicate.txt:5: 重复词条「稳赚」（第 3 行已有）"]),
        ("unknown_tier.txt", ["unknown_tier.txt:3: 未知等级 tier=9（策略里配置的等级：1、2、3）"]),
        ("tier_not_number.txt", ["tier_not_number.txt:1: 未知等级 tier=two（策略里配置的等级：1、2、3）"]),
        (
            "no_header.txt",
            ["no_header.txt:1: 词条「稳赚」前面没有段落标题，请先写 [tier=… | category=…] 或 [allow]"],
        ),
        (
            "bad_header_key.txt",
            [
                "bad_header_key.txt:1: 无法识别的段落设置「colour=红」，应为 tier=… | category=… | reason=…，或 [allow]"
            ],
        ),
        (
            "missing_category.txt",
            ["missing_category.txt:1: 段落缺少 category（类别），例如 category=收益承诺"],
        ),
        ("unclosed_header.txt", ["unclosed_header.txt:1: 段落标题缺少右方括号 ]"]),
    ],
)
def test_broken_files_report_file_and_line(fixture: str, expected: list[str]) -> None:
    text = (FIXTURES / fixture).read_text(encoding="utf-8")
    with pytest.raises(LexiconFileError) as exc:
        parse_lexicon(text, fixture, TIERS)
    assert exc.value.problems == expected


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        (
            "duplicate_normalised.txt",
            "duplicate_normalised.txt:3: 词条「穩賺」与 duplicate_normalised.txt:2 的「稳赚」规范化后相同（重复）",
        ),
        (
            "empty_entry.txt",
            "empty_entry.txt:3: 词条「，。！」规范化后为空（只有空格、标点或符号），无法匹配",
        ),
        (
            "allow_and_deny.txt",
            "allow_and_deny.txt:4: 允许词「无风险」同时是 allow_and_deny.txt:2 的禁用词「无风险」，请删掉其中一个",
        ),
        ("unknown_tier.txt", "unknown_tier.txt:3: 未知等级 tier=9（策略里配置的等级：1、2、3）"),
    ],
)
def test_build_reports_normalised_problems_as_config_errors(fixture: str, expected: str) -> None:
    cfg = LexiconConfig(files=(fixture,))
    with pytest.raises(ConfigError) as exc:
        build_lexicon_check(cfg, PolicyContext(FIXTURES))
    assert exc.value.message == expected
    assert exc.value.field[0] == "files"


def test_tiers_come_from_the_policy_actions() -> None:
    cfg = LexiconConfig(files=("unknown_tier.txt",), actions={9: "block"})
    check = build_lexicon_check(cfg, PolicyContext(FIXTURES))
    assert [(h.entry.word, h.entry.tier) for h in check.matcher.find("稳赚")] == [("稳赚", 9)]
    assert check.actions[9].value == "block"


def test_missing_file_is_a_config_error_with_field() -> None:
    with pytest.raises(ConfigError) as exc:
        build_lexicon_check(LexiconConfig(files=("nope.txt",)), PolicyContext(FIXTURES))
    assert exc.value.field == ("files", 0)
    assert "nope.txt" in exc.value.message


def test_plain_list_strips_commas_merges_repeats_and_skips_blanks() -> None:
    entries = parse_plain_list("兼职\n招聘,\n\n兼职\n,\n# c\nQQ，\n", "ad.txt", 1, "外部")
    assert [(e.word, e.source) for e in entries] == [
        ("兼职", "ad.txt:1"),
        ("招聘", "ad.txt:2"),
        ("QQ", "ad.txt:7"),
    ]
    assert all(e.tier == 1 and e.category == "外部" for e in entries)
