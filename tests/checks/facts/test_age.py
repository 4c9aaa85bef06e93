from __future__ import annotations

import pytest

from guard.checks.facts import FactsCheck
from guard.types import Action
from tests.checks.facts.conftest import build, make_record, run

FIXING = build({"age": {"action": "fix"}})

CASES: list[tuple[str, list[tuple[str, str | None]]]] = [
    ("您今年35岁。", []),
    ("您今年三十五岁。", []),
    ("您今年35周岁。", []),
    ("张先生今年35岁，正是好时候。", []),
    ("您今年36岁。", [("36", "35")]),
    ("您今年三十六岁。", [("三十六", "三十五")]),
    ("您今年36周岁了。", [("36", "35")]),
    ("您已满40周岁。", [("40", "35")]),
    ("年满18周岁即可申请。", []),
    ("您只要年满18周岁就可以申请。", []),
    ("18至60岁都可以申请。", []),
    ("您需要在22到55岁之间。", []),
    ("60岁以下的客户都能借。", []),
    ("我们公司成立10岁了。", []),
    ("小孩3岁。", []),
    ("您的孩子今年5岁了吧。", []),
    ("您的公司成立10岁了。", []),
    ("您的额度是4000元。", []),
    # an approximate age is no exact claim, as 三十多岁 never was: 七八十岁 is not read as 70
    ("您今年三十多岁。", []),
    ("您今年七八十岁了吧。", []),
    ("您今年三四十岁。", []),
    # an age said without 岁, right after 今年
    ("您今年36了。", [("36", "35")]),
    ("您今年有36了吧。", [("36", "35")]),
    ("您今年三十六了吧？", [("三十六", "三十五")]),
    ("您今年36？", [("36", "35")]),
    ("您今年35了。", []),
    ("您孩子今年18了吧。", []),
    ("您的额度今年4000了。", []),
    ("您今年借了3次了。", []),
    ("您今年3月已经还清了。", []),
    # traditional characters
    ("您今年36歲。", [("36", "35")]),
    ("您今年36週歲了。", [("36", "35")]),
    ("您今年35歲。", []),
    ("年滿18週歲即可申請。", []),
    ("您需要在22到55歲之間。", []),
    ("60歲以下的客戶都能借。", []),
]


@pytest.mark.parametrize(("reply", "expected"), CASES)
def test_age(reply: str, expected: list[tuple[str, str | None]]) -> None:
    found = [f for f in run(FIXING, make_record(), reply) if f.code == "fact.age"]
    assert [(reply[f.start : f.end], f.replacement) for f in found] == expected


def test_default_age_rule_regenerates_with_correction(facts: FactsCheck) -> None:
    (f,) = run(facts, make_record(), "您今年40岁。")
    assert f.action is Action.REGENERATE
    assert f.correction and "35" in f.correction


def test_age_claim_without_record_age(facts: FactsCheck) -> None:
    (f,) = run(facts, make_record(age=None), "您今年35岁。")
    assert f.code == "fact.age" and f.action is Action.REGENERATE  # the model is told not to state an age
    (g,) = run(FIXING, make_record(age=None), "您今年35岁。")
    assert g.action is Action.BLOCK and g.replacement is None  # nothing to fix with: the fallback
