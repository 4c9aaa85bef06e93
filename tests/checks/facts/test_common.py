from __future__ import annotations

from decimal import Decimal

import pytest

from guard.checks.facts.common import Hit, KeywordIndex, ReplyView, number_fix
from guard.text.amounts import scan_numbers
from tests.checks.facts.conftest import build, make_record


def test_the_numbers_are_read_on_first_use_and_are_scan_numbers() -> None:
    reply = "您的额度是5000元，两天内有效。"
    view = ReplyView(reply, build().index)
    assert view._numbers is None  # nothing read until a rule asks
    first = view.numbers
    assert [(n.value, n.start, n.end, n.money) for n in first] == [
        (n.value, n.start, n.end, n.money) for n in scan_numbers(reply)
    ]
    assert view.numbers is first  # read once


def test_rules_without_their_keyword_never_read_the_numbers() -> None:
    # No credit word, no 岁, no coupon or custom trigger: the numbers stay unread.
    check = build()
    view = ReplyView("张先生您好，一起看看这两个方案吧。", check.index)
    record = make_record()
    assert check.credit.run(view, record) == []
    assert check.age.run(view, record) == []
    assert check.coupons.run(view, record) == []
    assert view._numbers is None


def test_hits_are_values() -> None:
    index = KeywordIndex([("credit", ["额度"]), ("role", ["额度"])])
    (hit,) = index.find("额度")
    assert hit == Hit(0, 2, "额度", frozenset({"credit", "role"}))
    assert hash(hit) == hash(Hit(0, 2, "额度", frozenset({"credit", "role"})))
    assert hit != Hit(0, 2, "额度", frozenset({"credit"}))
    assert repr(Hit(0, 2, "额度", frozenset({"credit"}))) == "Hit(start=0, end=2, word='额度', labels=frozenset({'credit'}))"


@pytest.mark.parametrize(
    ("reply", "fixes"),
    [
        ("额度5 000元", ["4 000"]),
        ("额度5K", ["4K"]),
        ("额度5-000元", [None, None]),  # 5 and 000: another digit touches each
        ("免息3-0天", [None, None]),
        ("您今年3 5岁", [None, None]),
    ],
)
def test_number_fix_refuses_a_number_another_digit_touches(reply: str, fixes: list[str | None]) -> None:
    assert [number_fix(n, Decimal(4000)) for n in scan_numbers(reply)] == fixes
