from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from guard.checks.facts import FactsConfig
from guard.types import Action
from tests.checks.facts.conftest import build, make_record, run

CHECK = build(
    {
        "custom": [
            {"field": "calls_last_7d", "label": "近7天来电次数", "type": "integer", "triggers": ["联系", "来电", "打电话"], "action": "fix"},
            {"field": "due_date", "label": "还款日", "type": "date", "triggers": ["还款日", "到期"], "action": "fix"},
            {"field": "overdue_amount", "label": "逾期金额", "type": "amount", "triggers": ["逾期金额", "欠款"], "action": "fix"},
            {
                "field": "segment",
                "label": "客群",
                "type": "enum",
                "triggers": ["客户", "借款"],
                "values": {"first_loan": ["首贷", "第一次借款"], "repeat_loan": ["复贷", "老客户"]},
                "action": "fix",
            },
            {"field": "product", "type": "text", "triggers": ["产品"], "values": {"安心借": [], "随心贷": []}},
        ]
    }
)
REC: dict[str, Any] = {"due_date": "2026-12-15", "overdue_amount": 300, "product": "安心借"}

CASES: list[tuple[str, list[tuple[str, str, str | None]]]] = [
    ("我们这周联系了您3次。", []),
    ("我们这周联系了您三次。", []),
    ("我们这周联系了您5次。", [("fact.calls_last_7d", "5", "3")]),
    ("您的还款日是12月15日。", []),
    ("您的还款日是2026年12月15日。", []),
    ("您的还款日是2026-12-15。", []),
    ("您的还款日是十二月十五日。", []),
    ("您的还款日是12月16日。", [("fact.due_date", "12月16日", "12月15日")]),
    ("您的还款日是12月16号。", [("fact.due_date", "12月16号", "12月15号")]),
    ("您的还款日是2025年12月15日。", [("fact.due_date", "2025年12月15日", "2026年12月15日")]),
    ("您的还款日是2026-12-16。", [("fact.due_date", "2026-12-16", "2026-12-15")]),
    ("您的还款日是十二月十六日。", [("fact.due_date", "十二月十六日", "十二月十五日")]),
    ("您的逾期金额是300元。", []),
    ("您的逾期金额是500元。", [("fact.overdue_amount", "500", "300")]),
    ("您是我们的老客户。", []),
    ("您是首贷客户。", [("fact.segment", "首贷", "复贷")]),
    ("这款产品叫安心借。", []),
    ("这款产品叫随心贷。", [("fact.product", "随心贷", None)]),
    ("12月16日天气很好。", []),
]


@pytest.mark.parametrize(("reply", "expected"), CASES)
def test_custom_facts(reply: str, expected: list[tuple[str, str, str | None]]) -> None:
    found = [f for f in run(CHECK, make_record(**REC), reply) if f.code not in ("fact.credit_line", "fact.coupon")]
    assert [(f.code, reply[f.start : f.end], f.replacement) for f in found] == expected


def test_text_fact_default_action_is_regenerate() -> None:
    (f,) = [f for f in run(CHECK, make_record(**REC), "这款产品叫随心贷。") if f.code == "fact.product"]
    assert f.action is Action.REGENERATE and f.correction and "安心借" in f.correction


def test_missing_record_field_uses_fallback() -> None:
    (f,) = run(CHECK, make_record(), "您的还款日是12月16日。")
    assert f.code == "fact.due_date" and f.action is Action.BLOCK


@pytest.mark.parametrize(
    "raw",
    [
        {"custom": [{"field": "age", "type": "integer", "triggers": ["岁"]}]},
        {"custom": [{"field": "x", "type": "enum", "triggers": ["y"]}]},
        {"custom": [{"field": "x", "type": "integer", "triggers": []}]},
        {"custom": [{"field": "Bad-Name", "type": "integer", "triggers": ["y"]}]},
        {"custom": [{"field": "x", "type": "integer", "triggers": ["y"]}, {"field": "x", "type": "integer", "triggers": ["z"]}]},
        {"credit_line": {"action": "mask"}},
        {"credit_line": {"fallback": "fix"}},
        {"typo": {}},
    ],
)
def test_bad_config_is_rejected(raw: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        FactsConfig.model_validate(raw)
