"""The lexicon check inside a policy: findings, actions, loader errors, version hash, defaults."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest

from bench.bench_lexicon import CLEAN_REPLIES, VARIANT_KINDS, default_check, make_variant
from bench.common import SHARED_DATA
from guard.checks.base import CheckInput, ConfigError, PolicyContext
from guard.checks.lexicon import LEXICON, ExtraList, LexiconConfig, build_lexicon_check
from guard.checks.registry import REGISTRY
from guard.engine import evaluate
from guard.policy.errors import PolicyError
from guard.policy.loader import DEFAULT_POLICY_DIR, load_policy_file
from guard.text.sentences import split_sentences
from guard.types import Action, CustomerRecord, Decision

RECORD = CustomerRecord(customer_id="c1", name="张飞", gender="male")
CHECK = default_check()
FIXTURES = Path(__file__).parent / "fixtures"


def run(text: str, check=CHECK):  # type: ignore[no-untyped-def]
    return check.run(CheckInput(text, RECORD, split_sentences(text)))


def test_registered_under_lexicon() -> None:
    assert REGISTRY["lexicon"] is LEXICON


def test_finding_shape() -> None:
    text = "张先生，这款产品稳 * 赚，还能秒批。"
    findings = run(text)
    assert [(f.code, f.tier, f.action, text[f.start : f.end]) for f in findings] == [
        ("lexicon.tier3", 3, Action.BLOCK, "稳 * 赚"),
        ("lexicon.tier2", 2, Action.REGENERATE, "秒批"),
    ]
    assert findings[0].detail == "3级敏感词「稳赚」（收益本金承诺）"
    assert findings[1].correction is not None
    assert "秒批" in findings[1].correction and "银发〔2019〕316号" in findings[1].correction
    assert findings[0].to_json()["tier"] == 3


def test_tier1_warns_only() -> None:
    findings = run("亲爱的，您好。")
    assert [(f.code, f.action) for f in findings] == [("lexicon.tier1", Action.WARN)]


def test_mask_action_replaces_the_span() -> None:
    check = build_lexicon_check(
        LexiconConfig(
            files=("../../../../policies/lexicons/conduct.txt",), actions={1: "warn", 2: "mask", 3: "mask"}
        ),
        PolicyContext(FIXTURES),
    )
    (f,) = run("你个老 赖", check)
    assert (f.action, f.replacement, f.start, f.end) == (Action.MASK, "***", 2, 5)


@pytest.mark.parametrize(
    ("reply", "model_in_loop", "decision", "regenerate"),
    [
        ("张先生您好，我们这款产品零風險。", False, Decision.BLOCK, False),
        ("张先生您好，我们这款产品秒 批。", False, Decision.BLOCK, False),
        ("张先生您好，我们这款产品秒 批。", True, Decision.BLOCK, True),
        ("亲爱的张先生，您好。", False, Decision.ALLOW, False),
        ("张先生您好，本产品不保本，请您注意风险提示。", False, Decision.ALLOW, False),
    ],
)
def test_default_policy_decisions(
    reply: str, model_in_loop: bool, decision: Decision, regenerate: bool
) -> None:
    policy = load_policy_file(DEFAULT_POLICY_DIR / "outbound_marketing.yaml")
    verdict = evaluate(policy, RECORD, reply, model_in_loop=model_in_loop)
    assert (verdict.decision, verdict.regenerate) == (decision, regenerate)
    if decision is Decision.BLOCK:
        assert verdict.released == policy.fallback


def _policy_copy(tmp_path: Path, lexicon_text: str) -> Path:
    shutil.copy(DEFAULT_POLICY_DIR / "outbound_marketing.yaml", tmp_path / "p.yaml")
    shutil.copy(DEFAULT_POLICY_DIR / "outbound_marketing.cases.yaml", tmp_path / "outbound_marketing.cases.yaml")
    shutil.copytree(DEFAULT_POLICY_DIR / "lexicons", tmp_path / "lexicons")
    (tmp_path / "lexicons" / "service_quality.txt").write_text(lexicon_text, encoding="utf-8")
    return tmp_path / "p.yaml"


def test_policy_loader_reports_lexicon_file_and_line(tmp_path: Path) -> None:
    path = _policy_copy(tmp_path, "[tier=1 | category=测试]\n亲爱的\n\n[tier=7 | category=测试]\n宝贝\n")
    with pytest.raises(PolicyError) as exc:
        load_policy_file(path)
    (problem,) = exc.value.problems
    assert problem.field == "checks.lexicon.files.2"
    assert problem.line is not None and problem.line > 1
    assert problem.message == "lexicons/service_quality.txt:4: 未知等级 tier=7（策略里配置的等级：1、2、3）"


def test_policy_version_changes_with_a_lexicon_file(tmp_path: Path) -> None:
    path = _policy_copy(tmp_path, "[tier=1 | category=测试]\n亲爱的\n")
    v1 = load_policy_file(path)
    (tmp_path / "lexicons" / "service_quality.txt").write_text(
        "[tier=1 | category=测试]\n老铁\n", encoding="utf-8"
    )
    v2 = load_policy_file(path)
    assert "lexicons/service_quality.txt" in v1.files
    assert v1.version != v2.version


def test_extra_plain_list_is_an_extra_tier(tmp_path: Path) -> None:
    (tmp_path / "own.txt").write_text("[tier=3 | category=测试]\n稳赚\n", encoding="utf-8")
    (tmp_path / "third.txt").write_text("兼职,\n招聘\n兼职\n,\n", encoding="utf-8")
    cfg = LexiconConfig(files=("own.txt",), extra=(ExtraList(file="third.txt", tier=1, category="外部词表"),))
    check = build_lexicon_check(cfg, PolicyContext(tmp_path))
    assert [(f.code, f.detail) for f in run("兼 职招聘，稳赚", check)] == [
        ("lexicon.tier1", "1级敏感词「兼职」（外部词表）"),
        ("lexicon.tier1", "1级敏感词「招聘」（外部词表）"),
        ("lexicon.tier3", "3级敏感词「稳赚」（测试）"),
    ]


def test_every_default_tier2_entry_survives_every_evasion_kind() -> None:
    rng = random.Random(11)
    denied = [e for e in CHECK.matcher.entries() if (e.tier or 0) >= 2]
    assert len(denied) > 150
    missed = []
    for e in denied:
        for kind in VARIANT_KINDS:
            variant = make_variant(e.word, kind, rng)
            text = f"您好，{variant}。"
            if not any(h.start <= 3 and h.end >= 3 + len(variant) for h in CHECK.matcher.find(text)):
                missed.append((kind, e.word, variant))
    assert missed == []


def test_clean_agent_replies_pass() -> None:
    flagged = [r for r in CLEAN_REPLIES if run(r)]
    assert flagged == []


AFQMC = SHARED_DATA / "afqmc"


@pytest.mark.skipif(not AFQMC.is_dir(), reason="shared AFQMC data not present")
def test_afqmc_false_positive_rate_is_below_half_a_percent() -> None:
    from bench.bench_lexicon import afqmc_sentences

    sentences = afqmc_sentences()
    assert len(sentences) == 2 * (4316 + 34334)
    blocked = sum(1 for s in sentences if any((h.entry.tier or 0) >= 2 for h in CHECK.matcher.find(s)))
    assert blocked / len(sentences) <= 0.005
    assert blocked <= 40  # measured: 8; a jump means a new entry hits innocent questions


def test_third_party_words_never_break_the_policy(tmp_path: Path) -> None:
    # A plain-list word that our allow-list names stays allowed; one that repeats our own deny entry
    # keeps our tier and category; words that normalise to nothing are skipped.
    (tmp_path / "own.txt").write_text("[tier=3 | category=测试]\n稳赚\n[allow]\n风险提示\n", encoding="utf-8")
    (tmp_path / "third.txt").write_text("风险提示\n稳赚,\n***\n", encoding="utf-8")
    cfg = LexiconConfig(files=("own.txt",), extra=(ExtraList(file="third.txt", tier=1),))
    check = build_lexicon_check(cfg, PolicyContext(tmp_path))
    assert [(f.code, f.detail) for f in run("风险提示：稳赚", check)] == [
        ("lexicon.tier3", "3级敏感词「稳赚」（测试）")
    ]


def test_extra_tier_must_have_an_action(tmp_path: Path) -> None:
    (tmp_path / "third.txt").write_text("兼职\n", encoding="utf-8")
    cfg = LexiconConfig(extra=(ExtraList(file="third.txt", tier=5),))
    with pytest.raises(ConfigError) as exc:
        build_lexicon_check(cfg, PolicyContext(tmp_path))
    assert exc.value.field == ("extra", 0, "tier")


@pytest.mark.parametrize(
    ("cfg", "field"),
    [
        (LexiconConfig(files=("own.txt",), actions={0: "warn"}), ("actions",)),
        (LexiconConfig(), ("files",)),
    ],
)
def test_bad_configuration_is_a_config_error(
    tmp_path: Path, cfg: LexiconConfig, field: tuple[str, ...]
) -> None:
    (tmp_path / "own.txt").write_text("[tier=1 | category=测试]\n亲爱的\n", encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        build_lexicon_check(cfg, PolicyContext(tmp_path))
    assert exc.value.field == field


def test_an_identical_lexicon_is_built_once_and_still_part_of_the_version(tmp_path: Path) -> None:
    """Same words, tiers and options: the built check is shared; the files are still recorded
    (they make the policy's version) on every build; any edit builds anew."""
    (tmp_path / "own.txt").write_text("[tier=3 | category=测试]\n稳赚\n", encoding="utf-8")
    cfg = LexiconConfig(files=("own.txt",))
    ctx1, ctx2 = PolicyContext(tmp_path), PolicyContext(tmp_path)
    first, second = build_lexicon_check(cfg, ctx1), build_lexicon_check(cfg, ctx2)
    assert first is second
    assert ctx1.files == ctx2.files == {"own.txt": "[tier=3 | category=测试]\n稳赚\n".encode()}
    other_gap = build_lexicon_check(LexiconConfig(files=("own.txt",), max_gap=0), PolicyContext(tmp_path))
    assert other_gap is not first and other_gap.matcher.max_gap == 0
    other_action = build_lexicon_check(LexiconConfig(files=("own.txt",), actions={3: "warn"}), PolicyContext(tmp_path))
    assert other_action is not first and run("稳赚的", other_action)[0].action is Action.WARN
    (tmp_path / "own.txt").write_text("[tier=3 | category=测试]\n稳赚\n保本\n", encoding="utf-8")
    edited = build_lexicon_check(cfg, PolicyContext(tmp_path))
    assert edited is not first
    assert [f.code for f in run("保本的", edited)] == ["lexicon.tier3"] and run("保本的", first) == []
