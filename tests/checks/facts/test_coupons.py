from __future__ import annotations

from typing import Any

import pytest

from guard.checks.facts import FactsCheck
from guard.checks.facts.coupons import parse_discount, render_discount
from guard.types import Action
from tests.checks.facts.conftest import build, make_record, run

IF30 = [{"kind": "interest_free", "days": 30}]
RATE8 = [{"kind": "rate_discount", "discount": 0.8}]
CASH50 = [{"kind": "cash", "amount": 50}]

# (coupons held, reply, expected [(flagged text, replacement or None)])
CASES: list[tuple[list[dict[str, Any]], str, list[tuple[str, str | None]]]] = [
    (IF30, "您有一张免息券，可免息30天。", []),
    (IF30, "您有一张30天免息券。", []),
    (IF30, "您有一张免息券，可免息三十天。", []),
    (IF30, "您有一张免息券，可免息60天。", [("60", "30")]),
    (IF30, "您有一张免息券，可免息六十天。", [("六十", "三十")]),
    (IF30, "您有一张7天免息券。", [("7", "30")]),
    (IF30, "送您一张8折利率券。", [("利率券", None), ("8折", None)]),
    (IF30, "还有50元现金券。", [("现金券", None)]),
    (IF30, "您有优惠券可以用。", []),
    (IF30, "借款可享九折。", [("九折", None)]),
    (RATE8, "您有一张利率折扣券，利率打8折。", []),
    (RATE8, "您有一张利率折扣券，利率打八折。", []),
    (RATE8, "您有一张利率折扣券，利率打9折。", [("9", "8")]),
    (RATE8, "您有一张利率折扣券，利率打九折。", [("九", "八")]),
    (RATE8, "您有一张利率折扣券，利率打85折。", [("85", "8")]),
    (RATE8, "您有一张免息券。", [("免息券", None)]),
    ([{"kind": "rate_discount", "discount": 0.85}], "利率打八五折。", []),
    ([{"kind": "rate_discount", "discount": 0.85}], "利率打8.5折。", []),
    ([{"kind": "rate_discount", "discount": 0.85}], "利率打9折。", [("9", "85")]),
    (CASH50, "您有一张50元现金券。", []),
    (CASH50, "您有一张五十元减免券。", []),
    (CASH50, "您有一张100元现金券。", [("100", "50")]),
    (CASH50, "您有一张一百元的抵扣券。", [("一百", "五十")]),
    (CASH50, "您有一张现金券可抵扣￥80。", [("80", "50")]),
    ([], "您有一张免息券。", [("免息券", None)]),
    ([], "您有优惠券待领取。", [("优惠券", None)]),
    ([], "送您一张50元现金券。", [("现金券", None)]),
    ([], "本次借款可享受免息。", [("免息", None)]),
    ([], "您目前没有免息券。", []),
    ([], "这不是证券产品。", []),
    ([], "张先生您好，您的额度是4000元。", []),
    (IF30 + CASH50, "您有免息券和50元现金券。", []),
    ([{"kind": "interest_free"}], "您有一张免息券。", []),
    ([{"kind": "interest_free"}], "您有一张免息券，免息30天。", [("30天", None)]),
    # a period in months or weeks: a month is 30 days, a week 7; never spliced
    (IF30, "您的免息券能免一个月利息。", []),
    (IF30, "您的免息券能免两个月利息。", [("两个月", None)]),
    ([{"kind": "interest_free", "days": 60}], "您的免息券能免两个月利息。", []),
    ([{"kind": "interest_free", "days": 14}], "您的免息券免息两周。", []),
    (IF30, "您的免息券免息两周。", [("两周", None)]),
    (IF30, "免息券可以免息3个星期。", [("3个星期", None)]),
    (IF30, "免息券是一周年活动送的，免息30天。", []),
    ([{"kind": "interest_free"}], "您有一张免息券，免息一个月。", [("一个月", None)]),
]


FIXING = build({"coupon": {"action": "fix", "fallback": "block"}})


@pytest.mark.parametrize(("coupons", "reply", "expected"), CASES)
def test_coupons(coupons: list[dict[str, Any]], reply: str, expected: list[tuple[str, str | None]]) -> None:
    found = [f for f in run(FIXING, make_record(coupons=coupons), reply) if f.code == "fact.coupon"]
    assert [(reply[f.start : f.end], f.replacement) for f in found] == expected
    for f in found:
        assert f.action is (Action.FIX if f.replacement else Action.BLOCK)
        assert f.correction


@pytest.mark.parametrize(("coupons", "reply", "expected"), CASES)
def test_default_rule_regenerates(
    facts: FactsCheck, coupons: list[dict[str, Any]], reply: str, expected: list[tuple[str, str | None]]
) -> None:
    found = [f for f in run(facts, make_record(coupons=coupons), reply) if f.code == "fact.coupon"]
    assert len(found) == len(expected)
    assert all(f.action is Action.REGENERATE and f.replacement is None for f in found)


def test_fix_action_applies_where_a_value_is_known() -> None:
    check = FIXING
    (f,) = run(check, make_record(coupons=IF30), "您有免息券，免息60天。")
    assert f.action is Action.FIX and f.replacement == "30"
    (g,) = run(check, make_record(coupons=[]), "您有免息券。")
    assert g.action is Action.BLOCK and g.replacement is None


@pytest.mark.parametrize(
    ("text", "value"), [("8", "0.8"), ("8.5", "0.85"), ("85", "0.85"), ("八", "0.8"), ("八五", "0.85"), ("九五", "0.95")]
)
def test_parse_discount(text: str, value: str) -> None:
    from decimal import Decimal

    assert parse_discount(text) == Decimal(value)


@pytest.mark.parametrize(("value", "like", "out"), [("0.8", "9", "8"), ("0.85", "9", "85"), ("0.85", "9.5", "8.5"), ("0.8", "九", "八"), ("0.85", "九", "八五")])
def test_render_discount(value: str, like: str, out: str) -> None:
    from decimal import Decimal

    assert render_discount(Decimal(value), like) == out
    assert parse_discount(out) == Decimal(value)
