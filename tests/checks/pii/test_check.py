from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from guard.checks.base import CheckInput, ConfigError, PolicyContext
from guard.checks.pii import PII, PiiCheck, PiiConfig
from guard.checks.pii.check import _is_customer_name
from guard.checks.registry import REGISTRY
from guard.engine import evaluate
from guard.policy.loader import DEFAULT_POLICY_DIR, load_policy_file
from guard.text.sentences import split_sentences
from guard.types import Action, CustomerRecord, Decision

RECORD = CustomerRecord(customer_id="c1", name="张飞", gender="male", phone="13812345678", credit_line=4000)


def _run(check: PiiCheck, reply: str) -> list[tuple[str, str]]:
    return [
        (f.code, reply[f.start : f.end]) for f in check.run(CheckInput(reply, RECORD, split_sentences(reply)))
    ]


@pytest.fixture(scope="module")
def check() -> PiiCheck:
    return PiiCheck(PiiConfig())


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (
            "张先生您好，您的手机号13812345678已绑定。",
            [("pii.phone", "13812345678")],
        ),  # the customer's own too
        ("您的朋友王小明的电话是13912345678。", [("pii.person", "王小明"), ("pii.phone", "13912345678")]),
        (
            "身份证11010519491231002X，卡号6222021234567890128。",
            [("pii.id_card", "11010519491231002X"), ("pii.bank_card", "6222021234567890128")],
        ),
        ("邮箱wang@example.com", [("pii.email", "wang@example.com")]),
        ("寄到浙江省杭州市西湖区文三路90号", [("pii.address", "浙江省杭州市西湖区文三路90号")]),
        ("座机0571-88886666", [("pii.phone", "0571-88886666")]),
        # The customer's name, near misses and surname + honorific belong to fact.name.
        ("张飞您好，经理张飞会联系您", []),
        ("联系人章飞", []),
        ("联系人张非", []),
        ("张先生、张总您好", []),
        # Decoys.
        ("您的额度4000元，50,000元，利率0.05%，2026-12-31前还款，20261231，尾号5678，验证码123456。", []),
        ("额度可选4000，5000，6000元，2024.12.07前有效，档位150，2000，3000，3500、1000、2500、4000。", []),
    ],
)
def test_findings(check: PiiCheck, reply: str, expected: list[tuple[str, str]]) -> None:
    assert _run(check, reply) == expected


def test_findings_never_carry_the_raw_value(check: PiiCheck) -> None:
    reply = "您的朋友王小明，手机13912345678，身份证11010519491231002X，邮箱wang@example.com。"
    findings = check.run(CheckInput(reply, RECORD, split_sentences(reply)))
    assert len(findings) == 4
    for f in findings:
        raw = reply[f.start : f.end]
        assert raw not in f.detail
        assert f.evidence is not None and raw not in f.evidence
        assert f.evidence == f.replacement
        assert f.action is Action.MASK


@pytest.mark.parametrize(
    ("candidate", "is_customer"),
    [("张飞", True), ("张非", True), ("章飞", True), ("张飞飞", True), ("王小明", False), ("张小明", False)],
)
def test_customer_name_and_near_misses(candidate: str, is_customer: bool) -> None:
    assert _is_customer_name(candidate, "张飞") is is_customer


def test_entities_and_per_type_actions() -> None:
    check = PII.build_from(
        {"entities": ["phone", "id_card"], "actions": {"id_card": "block"}}, PolicyContext(DEFAULT_POLICY_DIR)
    )
    reply = "手机13912345678，身份证11010519491231002X，邮箱wang@example.com"
    findings = check.run(CheckInput(reply, RECORD, split_sentences(reply)))
    assert [(f.code, f.action) for f in findings] == [
        ("pii.phone", Action.MASK),
        ("pii.id_card", Action.BLOCK),
    ]


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        ({"entities": ["phone", "ssn"]}, ValidationError),
        ({"action": "fix"}, ValidationError),
        ({"style": "stars"}, ValidationError),
        ({"entities": []}, ValidationError),
        ({"entites": ["phone"]}, ValidationError),  # typo
        ({"entities": ["phone"], "actions": {"email": "block"}}, ConfigError),
        ({"entities": ["phone", "phone"]}, ConfigError),
        ({"person_model": "bert"}, ValidationError),
        ({"person_model": "lac", "person_model_threshold": 0.4}, ValidationError),
        ({"person_model": "lac", "entities": ["phone"]}, ConfigError),
    ],
)
def test_bad_config(raw: dict[str, object], error: type[Exception]) -> None:
    with pytest.raises(error):
        PII.build_from(raw, PolicyContext(DEFAULT_POLICY_DIR))


def test_registered() -> None:
    assert REGISTRY["pii"] is PII


def test_default_policy_masks_and_revises() -> None:
    policy = load_policy_file(DEFAULT_POLICY_DIR / "outbound_marketing.yaml")
    verdict = evaluate(policy, RECORD, "张先生您好，您的朋友王小明的电话是139 1234 5678。")
    assert verdict.decision is Decision.REVISE
    assert verdict.released == "张先生您好，您的朋友王**的电话是139****5678。"
    assert verdict.codes == ["pii.person", "pii.phone"]


def test_default_policy_allows_clean_reply() -> None:
    policy = load_policy_file(DEFAULT_POLICY_DIR / "outbound_marketing.yaml")
    verdict = evaluate(policy, RECORD, "张先生您好，您的4000元额度已经审核通过了。")
    assert verdict.decision is Decision.ALLOW
    assert verdict.violations == ()


def test_min_score_lets_weaker_name_rules_through() -> None:
    reply = "参会的有：王建华。"
    assert _run(PiiCheck(PiiConfig()), reply) == []  # 0.45: below the default min_score
    assert _run(PiiCheck(PiiConfig(min_score=0.4)), reply) == [("pii.person", "王建华")]


def test_every_config_field_is_documented() -> None:
    doc = (Path(__file__).resolve().parents[3] / "docs" / "policies.md").read_text(encoding="utf-8")
    section = doc[doc.index("### `pii`") :]
    for field in PiiConfig.model_fields:
        assert f"`{field}`" in section, field


# -- person_model: lac (the trained tagger beside the rules) -----------------------------------


@pytest.fixture(scope="module")
def lac_check() -> PiiCheck:
    check = PII.build_from({"person_model": "lac"}, PolicyContext(DEFAULT_POLICY_DIR))
    assert isinstance(check, PiiCheck)
    return check


@pytest.mark.parametrize(
    ("reply", "rules", "with_model"),
    [
        # Names with no title or verb around them: the rules miss them, the tagger does not.
        ("昨天陈建国来网点办理了业务，他说额度不够用。", [], [("pii.person", "陈建国")]),
        ("请联系王小明", [], [("pii.person", "王小明")]),
        # A rules hit the tagger rules out (a word, not a name) is dropped.
        ("他一直想找一个一劳永逸的办法。", [("pii.person", "劳永逸")], []),
        ("记者向理财顾问了解了情况。", [("pii.person", "向理财")], []),
        # Names both find; the customer's own name and address forms stay the facts check's.
        ("张飞您好，客户经理李娜会联系您。", [], [("pii.person", "李娜")]),
        ("张先生您好，王总让我转告您，额度已经提高了。", [], []),
        ("欧阳先生，欧阳娜娜已经还款了。", [], [("pii.person", "欧阳娜娜")]),
        ("您好，我是小安金融的客服小李，周一到周五都可以还款。", [], []),
        # Identifiers are unchanged.
        (
            "您的朋友王小明的电话是13912345678。",
            [("pii.person", "王小明"), ("pii.phone", "13912345678")],
            [("pii.person", "王小明"), ("pii.phone", "13912345678")],
        ),
    ],
)
def test_person_model_lac(
    check: PiiCheck,
    lac_check: PiiCheck,
    reply: str,
    rules: list[tuple[str, str]],
    with_model: list[tuple[str, str]],
) -> None:
    assert _run(check, reply) == rules
    assert _run(lac_check, reply) == with_model


def test_person_model_lac_masks_in_a_policy(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(
        "name: p\nfallback: 抱歉，请稍后再试。\nchecks:\n  pii:\n    person_model: lac\n", encoding="utf-8"
    )
    policy = load_policy_file(tmp_path / "p.yaml")
    verdict = evaluate(policy, RECORD, "张先生您好，请联系王小明。")
    assert verdict.decision is Decision.REVISE
    assert verdict.released == "张先生您好，请联系王**。"


def test_person_model_lac_without_the_model_files_is_a_policy_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from guard.checks.pii import check as check_module
    from guard.checks.pii.recognizers.lac import ModelFilesError

    def missing() -> None:
        raise ModelFilesError("jieba's LAC model is incomplete in /nowhere")

    monkeypatch.setattr(check_module, "shared_tagger", missing)
    with pytest.raises(ConfigError, match="cannot load jieba's LAC model"):
        PII.build_from({"person_model": "lac"}, PolicyContext(DEFAULT_POLICY_DIR))


def test_combine_names_keeps_rules_names_where_the_tagger_did_not_run() -> None:
    import numpy as np

    from guard.checks.pii.analyzer import combine_names

    begin = np.array([np.nan, np.nan, np.nan, 0.001, 0.5])
    assert combine_names([(0, 2, 0.85), (3, 5, 0.85)], [], begin) == [(0, 2, 0.85)]  # 3: vetoed
    # The tagger's name gives way to a reported rules name and replaces a weaker one.
    assert combine_names([(0, 3, 0.85)], [(1, 3, 0.99)], np.ones(5)) == [(0, 3, 0.85)]
    assert combine_names([(0, 3, 0.45)], [(1, 3, 0.99)], np.ones(5)) == [(1, 3, 0.99)]


@pytest.mark.parametrize(
    ("reply", "released"),
    [
        ("张先生您好。请拨打138.1234.5678联系我。", "张先生您好。请拨打138****5678联系我。"),
        ("张先生您好。请拨打138，1234，5678联系我。", "张先生您好。请拨打138****5678联系我。"),
        ("张先生您好。请拨打138、1234、5678联系我。", "张先生您好。请拨打138****5678联系我。"),
        ("张先生您好。请拨打138—1234—5678联系我。", "张先生您好。请拨打138****5678联系我。"),
        ("身份证号110101，19900307，8515，请核对。", "身份证号110101********8515，请核对。"),
        ("卡号6222.0212.3456.7890.128，请核对。", "卡号****0128，请核对。"),
    ],
)
def test_a_value_with_separators_is_masked_whole(reply: str, released: str) -> None:
    policy = load_policy_file(DEFAULT_POLICY_DIR / "outbound_marketing.yaml")
    v = evaluate(policy, RECORD, reply)
    assert v.decision is Decision.REVISE
    assert v.released == released
