"""The facts check inside the engine: fixes leave no fact violation; bad input never crashes."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from guard.checks.registry import REGISTRY
from guard.engine import evaluate, run_checks
from guard.policy.loader import DEFAULT_POLICY_DIR, load_policy_set
from guard.text.amounts import NumberStyle, format_number
from guard.types import CustomerRecord, Decision
from tests.checks.facts.conftest import make_record

POLICY = load_policy_set(DEFAULT_POLICY_DIR).select("outbound_marketing")


def fact_codes(record: CustomerRecord, reply: str) -> list[str]:
    return [f.code for f in run_checks(POLICY, record, reply) if f.code.startswith("fact.")]


def test_facts_is_registered_after_length() -> None:
    names = list(REGISTRY)
    assert names.index("facts") == names.index("length") + 1
    assert any(c.name == "facts" for c in POLICY.checks)


FIXES = [
    ("李先生您好，您的5000元额度已经审核通过了。", "张先生您好，您的4000元额度已经审核通过了。"),
    ("张女士您好，您最高可借五千元。", "张先生您好，您最高可借四千元。"),
    ("章飞您好，您的额度是0.5万。", "张飞您好，您的额度是0.4万。"),
    ("李女士，您的可用额度是伍仟元。", "张先生，您的可用额度是肆仟元。"),
    ("王先生您好，您可借￥5,000。", "张先生您好，您可借￥4,000。"),
    # grouped by thousands with spaces: the whole number is replaced, never just its last group
    ("张先生您好，您的额度是5 000元。", "张先生您好，您的额度是4 000元。"),
    ("张先生您好，您的额度是5\u202f000元。", "张先生您好，您的额度是4\u202f000元。"),
    ("张先生您好，您的额度是5\u2009000元。", "张先生您好，您的额度是4\u2009000元。"),
    ("张先生您好，您的额度是5K。", "张先生您好，您的额度是4K。"),
    ("张先生您好，您的额度是0.5w元。", "张先生您好，您的额度是0.4w元。"),
]


@pytest.mark.parametrize(("reply", "fixed"), FIXES)
def test_default_policy_fixes_name_gender_and_line(reply: str, fixed: str) -> None:
    v = evaluate(POLICY, make_record(), reply)
    assert v.decision is Decision.REVISE
    assert v.released == fixed
    assert fact_codes(make_record(), fixed) == []


@pytest.mark.parametrize(
    ("reply", "code"),
    [("张先生您好，您今年40岁。", "fact.age"), ("张先生您好，送您一张九折券。", "fact.coupon")],
)
def test_default_policy_regenerates_coupon_and_age(reply: str, code: str) -> None:
    v = evaluate(POLICY, make_record(), reply, model_in_loop=True)
    assert v.decision is Decision.BLOCK and v.regenerate
    assert code in v.codes and v.corrections
    blocked = evaluate(POLICY, make_record(), reply)
    assert blocked.decision is Decision.BLOCK and not blocked.regenerate


@pytest.mark.parametrize("amount", ["5-000元", "5—000元", "5·000元", "3000-5000元"])
def test_an_amount_of_unsure_extent_is_blocked_not_garbled(amount: str) -> None:
    v = evaluate(POLICY, make_record(), f"张先生您好，您的额度是{amount}。")
    assert v.decision is Decision.BLOCK and "fact.credit_line" in v.codes
    assert v.released == POLICY.fallback


def test_claim_without_credit_line_blocks() -> None:
    v = evaluate(POLICY, make_record(credit_line=None), "张先生您好，您的额度是4000元。")
    assert v.decision is Decision.BLOCK and v.codes == ["fact.credit_line"]


STYLES = [
    NumberStyle(),
    NumberStyle(sep=","),
    NumberStyle(decimals=2),
    NumberStyle(fullwidth=True),
    NumberStyle(form="scaled", scale="万"),
    NumberStyle(form="scaled", scale="千"),
    NumberStyle(form="chinese"),
    NumberStyle(form="chinese", liang=True),
    NumberStyle(form="capital"),
    NumberStyle(sep=" "),
    NumberStyle(sep="\u202f"),
    NumberStyle(sep="'", decimals=2),
    NumberStyle(form="scaled", scale="K"),
    NumberStyle(form="scaled", scale="w"),
]
TEMPLATES = [
    "{hon}您好，您的额度是{amount}{unit}。",
    "{hon}，您最高可借{amount}{unit}，欢迎使用。",
    "您好{hon}，{amount}{unit}的可用额度已经到账。",
]


@settings(max_examples=150, deadline=None)
@given(
    line=st.integers(min_value=100, max_value=500_000).map(lambda v: Decimal(v) * 100),
    claimed=st.integers(min_value=1, max_value=500_000).map(lambda v: Decimal(v) * 100),
    style=st.sampled_from(STYLES),
    unit=st.sampled_from(["元", "块", ""]),
    template=st.sampled_from(TEMPLATES),
    hon=st.sampled_from(["张先生", "李先生", "张女士", "王小姐", "章飞", "张飞"]),
)
def test_fixed_reply_has_no_fact_violation_left(
    line: Decimal, claimed: Decimal, style: NumberStyle, unit: str, template: str, hon: str
) -> None:
    record = make_record(credit_line=line)
    reply = template.format(hon=hon, amount=format_number(claimed, style), unit=unit)
    v = evaluate(POLICY, record, reply)
    assert v.decision is not Decision.BLOCK, (reply, v.codes)
    assert v.released is not None
    assert fact_codes(record, v.released) == []
    if claimed != line:
        assert "fact.credit_line" in v.codes
        if style.form == "arabic" and claimed >= 1000:
            # the whole amount was replaced (5 000 → 4 000, never 5 4000)
            assert format_number(line, style) in v.released, (reply, v.released)


BAD_RECORDS: list[dict[str, Any]] = [
    {"credit_line": None},
    {"coupons": []},
    {"coupons": None},
    {"age": None},
    {"name": "张"},
    {"name": "John Smith"},
    {"name": "阿依古丽·买买提", "gender": "female"},
    {"name": "A"},
    {"name": "😀"},
]
BAD_REPLIES = [
    "",
    "额度" + "9" * 200 + "元",
    "额度" + "一万" * 100 + "元",
    "额度千万亿万亿元，可借万万元，四五六七元",
    "可借..,,4,00,0元",
    "先生女士小姐总" * 20,
    "张" * 500,
    "额度" + "，" * 100 + "4000元",
    "\u200b额度\u200b4000\u200b元",
]


@pytest.mark.parametrize("overrides", BAD_RECORDS)
@pytest.mark.parametrize("reply", BAD_REPLIES)
def test_bad_input_never_crashes(overrides: dict[str, Any], reply: str) -> None:
    record = make_record(**overrides)
    findings = run_checks(POLICY, record, reply)
    assert all(f.code != "guard.check_error" for f in findings)
    assert all(0 <= f.start <= f.end <= len(reply) for f in findings)


def test_huge_wrong_claim_is_flagged() -> None:
    assert fact_codes(make_record(), "您的额度是" + "9" * 30 + "元。") == ["fact.credit_line"]


def test_malformed_numeral_is_not_a_claim() -> None:
    assert fact_codes(make_record(), "您的额度千万别浪费。") == []
