from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from guard.checks.facts import FactsCheck
from guard.text.amounts import DIGIT_GLUE, NumberStyle, format_number
from guard.types import Action, Finding
from tests.checks.facts.conftest import build, make_record, run

_FACTS = build()

# Every written form of 4000 (the record's line) and of a wrong 5000, with the fix expected.
RIGHT_FORMS = [
    "4000元", "4,000元", "4000.00元", "￥4000", "¥4000", "RMB4000", "人民币4000元", "4000块", "4000块钱",
    "四千元", "肆仟元", "4千元", "0.4万元", "４０００元", "４，０００元", "四千块", "4000",
    "4 000元", "4\u202f000元", "4\u2009000元", "4\u00a0000元", "4'000元", "4K", "4k元", "0.4W", "0.4w元",
    "4,000.00元", "¥4,000", "4千块钱", "4000元整", "人民币肆仟元整", "RMB 4000", "4000 元",
]
WRONG_FORMS = [
    ("5000元", "4000"), ("5,000元", "4,000"), ("5000.00元", "4000.00"), ("￥5000", "4000"), ("5000块", "4000"),
    ("五千元", "四千"), ("伍仟元", "肆仟"), ("5千元", "4千"), ("0.5万元", "0.4万"), ("５０００元", "４０００"),
    ("五千块", "四千"), ("5000", "4000"), ("1.55万元", "0.4万"), ("20万", "0.4万"), ("四千五百元", "四千"),
    ("两万元", "四千"), ("一万零五百元", "四千"), ("伍万元", "肆仟"), ("贰拾万元", "肆仟"), ("四千五", "四千"),
    ("3999元", "4000"), ("4000.5元", "4000"), ("４，５００元", "４，０００"),
    # grouped with a space of any width or an apostrophe: one number, fixed as a whole
    ("5 000元", "4 000"), ("5\u202f000元", "4\u202f000"), ("5\u2009000元", "4\u2009000"),
    ("5\u00a0000元", "4\u00a0000"), ("5'000元", "4'000"), ("12 000 元", "4 000"),
    # K = 千, W = 万
    ("5K", "4K"), ("5k元", "4k"), ("5W", "0.4W"), ("5w元", "0.4w"), ("1.5w", "0.4w"),
    ("5,000.00元", "4,000.00"), ("¥5,000", "4,000"), ("5千块钱", "4千"), ("5000元整", "4000"),
    ("人民币伍仟元整", "肆仟"), ("RMB5000", "4000"), ("5千8", "4千"), ("4.5k", "4k"),
    # dots grouping two or more groups: one number; the fix writes no single dot group (4.000)
    ("5.000.000元", "4000"), ("4.000.000元", "4000"), ("５．０００．０００元", "４０００"),
]
TEMPLATES = [
    "您的额度是{}。",
    "您最高可借{}哦。",
    "恭喜，{}的额度已经到账。",
    "您现在可以借{}，随借随还。",
    "您的借款额度已审批通过，金额为{}。",
    "您最多能借{}。",
    "您可以申请到{}。",
    "额度：{}。",
    "您的借款额度提升至{}了。",
]


@pytest.mark.parametrize("amount", RIGHT_FORMS)
@pytest.mark.parametrize("template", TEMPLATES[:2])
def test_right_line_in_every_form(facts: FactsCheck, template: str, amount: str) -> None:
    assert run(facts, make_record(), template.format(amount)) == []


@pytest.mark.parametrize(("amount", "fixed"), WRONG_FORMS)
@pytest.mark.parametrize("template", TEMPLATES)
def test_wrong_line_in_every_form(facts: FactsCheck, template: str, amount: str, fixed: str) -> None:
    reply = template.format(amount)
    found = [f for f in run(facts, make_record(), reply) if f.code == "fact.credit_line"]
    assert len(found) == 1
    f = found[0]
    assert f.action is Action.FIX
    rep = f.replacement
    assert rep is not None
    assert rep == fixed
    assert f.detail and "4000" in f.detail


NOT_CLAIMS = [
    "您每月还款300元。",
    "手续费5元，利息20元。",
    "逾期会产生罚息50元。",
    "您已借2000元。",
    "月供只要333元。",
    "最低可借500元起。",
    "您的工资收入8000元。",
    "今天天气不错，祝您生活愉快。",
    "请拨打4008123456咨询。",
    "您的额度是4000元，每月还款300元。",
    "您可借4000元，分期12期。",
    "额度审核需要3天。",
    "年化利率7.2%起。",
    "千万不要错过哦。",
    "额度有效期至12月31日。",
    "您的额度从3000元提升到了4000元。",
    "借款4000元的话，利息是20元。",
    "减免50元利息。",
    "额度问题请拨打400-123-4567咨询。",
    "您的额度4000元24小时内到账。",
    "额度审批时间是9:00-18:00。",
    "您的4000元额度可以分12期，每期还款仅需350元。",
    "最高可借4000元，最快5分钟到账。",
    "您好张总，额度4千，可分3、6、12期，每期还款约350元。",
    "您的额度是4000元，每月只需还300元。",
    "您的额度是4000元，一天利息最低1元。",
    "额度已到账。感谢您，祝您生活愉快，送您100元话费。",
    "您的额度可以在GPT-4K上查询。",
    "额度查询请输入型号A5K。",
    "您的额度4000元，文件不超过5KB。",
]


@pytest.mark.parametrize("reply", NOT_CLAIMS)
def test_amounts_in_other_roles_are_not_claims(facts: FactsCheck, reply: str) -> None:
    assert [f for f in run(facts, make_record(), reply) if f.code == "fact.credit_line"] == []


@pytest.mark.parametrize(
    "reply",
    [
        "您的额度是5000元每月。",
        "您的额度是5000元每期。",
        "您最高可借5000元每天随借随还。",
        "额度：5000元/每月。",
        # a change before the amount makes it an increment only in its own clause
        "您的额度提升了，现在是5000元。",
        "您的额度已提升1000元，现在是5000元。",
        "您的额度涨到5000元。",
        "您的额度上调至5000元。",
        "额度增加到5000元。",
        "额度提高为5000元。",
        # more ways of saying what the customer can borrow
        "您可以贷5000元。",
        "我们给您准备了5000元的备用金。",
        "恭喜您获得5000元借款资格。",
    ],
)
def test_a_wrong_line_said_around_periods_and_changes_is_found(facts: FactsCheck, reply: str) -> None:
    # Before, 每月 after the amount, being nearer than 额度, made it a repayment, and 提升 was no
    # keyword (提升1000元 was "fixed" to 提升4000元).
    (f,) = [f for f in run(facts, make_record(), reply) if f.code == "fact.credit_line"]
    assert reply[f.start : f.end] == "5000"
    assert f.replacement == "4000"


@pytest.mark.parametrize(
    "reply",
    [
        "您的额度是4000元每月。",
        "额度4000元，每月5000元以内随借随还。",
        "额度4000元每月还款500元。",
        "您的额度已提升1000元。",
        "额度提高了1000元，现在一共4000元。",
        "您的额度涨了1000元，多了1000元。",
        "您的借款可以分12期，每期300元。",
        "您好，额度有4000元，每天利息1元。",
        # the part of the line already used ("fixed" to 已经用了4000元 before)
        "您的额度共4000元，已经用了1000元。",
        "额度4000元，本月花了500元。",
        # a change to another amount than the line's (手续费, 价格) is not a claim
        "手续费从2元提高到4元。",
        "价格已经涨到10元。",
    ],
)
def test_an_amount_after_a_period_or_a_change_is_not_the_line(facts: FactsCheck, reply: str) -> None:
    assert [f for f in run(facts, make_record(), reply) if f.code == "fact.credit_line"] == []


def test_periods_and_changes_are_the_policys(facts: FactsCheck) -> None:
    rule = facts.config.credit_line
    as_roles = rule.model_copy(update={"periods": (), "changes": (), "roles": (*rule.roles, "每月", "提升")})
    check = FactsCheck(facts.config.model_copy(update={"credit_line": as_roles}))
    # Plain roles count on both sides of the amount and from the clause before.
    assert run(check, make_record(), "您的额度是5000元每月。") == []
    assert run(check, make_record(), "您的额度提升了，现在是5000元。") == []
    # Not listed at all, the increment is read as the line.
    bare = FactsCheck(facts.config.model_copy(update={"credit_line": rule.model_copy(update={"changes": ()})}))
    assert [f.replacement for f in run(bare, make_record(), "额度已提升1000元。")] == ["4000"]


@pytest.mark.parametrize(
    ("reply", "said", "fixed"),
    [("您的額度是5000元。", "5000", "4000"), ("您的額度為伍仟元。", "伍仟", "肆仟"), ("您最高可借兩千元。", "兩千", "四千")],
)
def test_a_reply_in_traditional_characters_is_checked(facts: FactsCheck, reply: str, said: str, fixed: str) -> None:
    (f,) = [f for f in run(facts, make_record(), reply) if f.code == "fact.credit_line"]
    assert (reply[f.start : f.end], f.replacement) == (said, fixed)


def test_traditional_forms_of_a_role_still_mark_another_amount(facts: FactsCheck) -> None:
    assert run(facts, make_record(), "您的額度是4000元，每月還款300元。") == []


# Another digit touches the amount (directly or across one separator): where the amount starts or
# ends is unsure, so splicing the record's value into the part read would garble it (5-000元 →
# 5-4000元). The finding falls back to the rule's `fallback` action instead of a fix.
GLUED = [
    ("您的额度是5-000元。", "000"),
    ("您的额度是5—000元。", "000"),
    ("您的额度是5·000元。", "000"),
    ("您的额度可选3000，5000元。", "5000"),
    ("您的额度是5 0001元。", "0001"),
    ("您的额度是5 000,00元。", "5 000"),
    ("您的额度是4.000.000,00元。", "4.000.000"),
]


@pytest.mark.parametrize(("reply", "read"), GLUED)
def test_an_amount_touched_by_other_digits_is_never_spliced(facts: FactsCheck, reply: str, read: str) -> None:
    found = [f for f in run(facts, make_record(), reply) if f.code == "fact.credit_line"]
    assert found and all(f.replacement is None for f in found)
    assert all(f.action is Action.BLOCK for f in found)  # the default fallback
    assert read in [reply[f.start : f.end] for f in found]
    assert all(f.correction and "写法不清楚" in f.correction and "4000" in f.correction for f in found)


_NUMBERISH = st.text(st.sampled_from("0123456789 ,，.-—'\u202f/KkW千万元、"), min_size=1, max_size=12)


@settings(max_examples=300, deadline=None)
@given(_NUMBERISH, _NUMBERISH)
def test_a_fix_never_leaves_a_digit_next_to_the_value_it_writes(before: str, after: str) -> None:
    reply = f"您的额度是{before}{after}。"
    for f in run(_FACTS, make_record(), reply):
        if f.replacement is None or f.code != "fact.credit_line":
            continue
        left, right = reply[max(0, f.start - 2) : f.start], reply[f.end : f.end + 2]
        assert not left[-1:].isdigit() and not right[:1].isdigit(), (reply, f)
        assert not (len(left) == 2 and left[1] in DIGIT_GLUE and left[0].isdigit()), (reply, f)
        assert not (len(right) == 2 and right[0] in DIGIT_GLUE and right[1].isdigit()), (reply, f)


@pytest.mark.parametrize("reply", ["您的额度是4000元。", "您最高可借五千元。", "您有0.4万的可用额度。"])
def test_claim_without_a_line_uses_the_fallback(facts: FactsCheck, reply: str) -> None:
    found = run(facts, make_record(credit_line=None), reply)
    assert [f.code for f in found] == ["fact.credit_line"]
    assert found[0].action is Action.BLOCK and found[0].replacement is None
    assert found[0].correction and "没有可用额度" in found[0].correction


def test_decimal_record_line(facts: FactsCheck) -> None:
    rec = make_record(credit_line=Decimal("15500"))
    assert run(facts, rec, "您的额度是1.55万元。") == []
    assert run(facts, rec, "您的额度是一万五千五百元。") == []
    (f,) = run(facts, rec, "您的额度是1.5万元。")
    assert f.replacement == "1.55万"


def test_configured_triggers_replace_the_defaults() -> None:
    check = build({"credit_line": {"triggers": ["授信"], "action": "regenerate"}})
    assert run(check, make_record(), "您的额度是5000元。") == []
    (f,) = run(check, make_record(), "您的授信是5000元。")
    assert f.action is Action.REGENERATE and f.correction and "4000" in f.correction


def test_a_dot_grouped_line_of_the_record_is_right(facts: FactsCheck) -> None:
    rec = make_record(credit_line=4000000)
    assert run(facts, rec, "您的额度是4.000.000元。") == []
    (f,) = run(facts, rec, "您的额度是5.000.000元。")
    assert f.replacement == "4.000.000"


def _credit(reply: str, **record: object) -> list[Finding]:
    return [f for f in run(_FACTS, make_record(**record), reply) if f.code == "fact.credit_line"]


# A number read but in doubt is no certain amount in yuan, whatever its value: one dot then three
# digits (4 yuan or 4000), an approximation (4000多元 is more than the line), another currency.
# It is a wrong claim even when one reading equals the record, and it is never spliced.
IN_DOUBT = [
    ("您的额度是4.000元。", "4.000元", "写法有歧义"),
    ("您的额度是5.000元。", "5.000元", "写法有歧义"),
    ("您的额度是4.500元。", "4.500元", "写法有歧义"),
    ("额度：10.000元。", "10.000元", "写法有歧义"),
    ("您的额度是４．０００元。", "４．０００元", "写法有歧义"),
    ("您的额度是4000多元。", "4000多元", "约数"),
    ("您的额度是5000多元。", "5000多元", "约数"),
    ("您的额度是4000余元。", "4000余元", "约数"),
    ("您的额度有30多万。", "30多万", "约数"),
    ("您的额度是四千多块。", "四千多块", "约数"),
    ("您的额度是五六千元。", "五六千元", "约数"),
    ("您最高可借4000+。", "4000+", "约数"),
    ("您的额度是1000多万元。", "1000多万元", "约数"),
    ("您的额度是4000美元。", "4000美元", "币种"),
    ("您的额度是5000美元。", "5000美元", "币种"),
    ("您的额度是$4000。", "$4000", "币种"),
    ("您的额度是4000日元。", "4000日元", "币种"),
]


@pytest.mark.parametrize(("reply", "span", "why"), IN_DOUBT)
def test_an_amount_in_doubt_is_a_wrong_claim_never_spliced(reply: str, span: str, why: str) -> None:
    (f,) = _credit(reply)
    assert (reply[f.start : f.end], f.action, f.replacement) == (span, Action.BLOCK, None)
    assert f.correction and why in f.correction and "4000元" in f.correction
    assert f.detail and span in f.detail


# A range is not the record's one amount: a wrong claim even when an end equals the record, and
# no end of it is ever spliced (4000-8000元 → 4000-4000元).
RANGE_CLAIMS = [
    ("您的额度是5k-8k。", "5k-8k"),
    ("您的额度是5千-8千元。", "5千-8千元"),
    ("您的额度是5000~8000元。", "5000~8000元"),
    ("您的额度是5000～8000元。", "5000～8000元"),
    ("您的额度是5000至8000元。", "5000至8000元"),
    ("您的额度是五千到八千元。", "五千到八千元"),
    ("您的额度是3-5万。", "3-5万"),
    ("您的额度是3至5万元。", "3至5万元"),
    ("您的额度是三到五万元。", "三到五万元"),
    ("您的额度是3000-5000元。", "3000-5000元"),
    ("您的额度是4000-8000元。", "4000-8000元"),
    ("您的额度是3000到4000元。", "3000到4000元"),
    ("您的额度在4000~5000元之间。", "4000~5000元"),
    ("您的额度是4千-8千元。", "4千-8千元"),
    ("您最高可借5000元-8000元。", "5000元-8000元"),
    ("您的额度是5000 - 8000元。", "5000 - 8000元"),
    ("您的额度是5000到8000。", "5000到8000"),
    ("您的额度是4、5千元。", "4、5千元"),
    ("您的额度是4或5千元。", "4或5千元"),
]


@pytest.mark.parametrize(("reply", "span"), RANGE_CLAIMS)
def test_a_range_as_the_line_is_a_wrong_claim_never_spliced(reply: str, span: str) -> None:
    (f,) = _credit(reply)
    assert (reply[f.start : f.end], f.action, f.replacement) == (span, Action.BLOCK, None)
    assert f.correction and "范围" in f.correction and "4000元" in f.correction


def test_a_range_read_with_the_unit_of_its_second_end() -> None:
    (f,) = _credit("您的额度是3-5万。")
    assert f.detail and "30000 至 50000" in f.detail


# Two amounts joined, the first not the smaller: no range, and no telling which is meant.
@pytest.mark.parametrize(
    ("reply", "span"),
    [("您的额度是8000-5000元。", "8000-5000元"), ("您的额度是8k-5k。", "8k-5k"), ("您的额度是5000-3元。", "5000-3元"),
     ("您的额度是五千到三千元。", "五千到三千元")],
)
def test_two_joined_amounts_out_of_order_are_never_spliced(reply: str, span: str) -> None:
    (f,) = _credit(reply)
    assert (reply[f.start : f.end], f.action, f.replacement) == (span, Action.BLOCK, None)
    assert f.correction and "写法不清楚" in f.correction and "4000元" in f.correction


def test_a_range_claim_without_a_line_uses_the_fallback() -> None:
    (f,) = _credit("您的额度是5000-8000元。", credit_line=None)
    assert (f.start, f.end, f.action, f.replacement) == (5, 15, Action.BLOCK, None)
    assert f.correction and "没有可用额度" in f.correction


@pytest.mark.parametrize(
    "reply",
    [
        "您的额度从3000到5000元了。",  # 从: a change, not this line
        "您的额度4000元，每月还款300-500元。",
        "您的额度4000元，可分3-12期。",
        "您的额度4000元，年满18至60岁可申请。",
        "您的额度4000元，有效期至2026-12-31。",
        "额度4000元，多久到账？",
        "额度4000余额不足",
    ],
)
def test_ranges_and_marks_of_other_roles_are_no_claims(reply: str) -> None:
    assert _credit(reply) == []


_STYLES = [NumberStyle(), NumberStyle(form="scaled", scale="千"), NumberStyle(form="scaled", scale="k"),
           NumberStyle(form="chinese"), NumberStyle(form="capital"), NumberStyle(sep=",")]
_CONNECTORS = ["-", "~", "～", "至", "到", "—", " - "]


@settings(max_examples=200, deadline=None)
@given(
    st.integers(min_value=1, max_value=99).map(lambda k: Decimal(k * 1000)),
    st.integers(min_value=1, max_value=99).map(lambda k: Decimal(k * 1000)),
    st.sampled_from(_STYLES),
    st.sampled_from(_STYLES),
    st.sampled_from(_CONNECTORS),
    st.sampled_from(["", "元"]),
)
def test_no_end_of_a_range_is_ever_spliced(
    a: Decimal, b: Decimal, sa: NumberStyle, sb: NumberStyle, conn: str, unit: str
) -> None:
    first, second = format_number(a, sa), format_number(b, sb)
    reply = f"您的额度是{first}{unit}{conn}{second}元。"
    found = _credit(reply)
    assert found, reply
    assert all(f.replacement is None and f.action is Action.BLOCK for f in found), reply
    assert [reply[f.start : f.end] for f in found] == [f"{first}{unit}{conn}{second}元"], reply


# A hedge around one amount (约, 左右) leaves the amount itself: checked and fixed as usual.
@pytest.mark.parametrize(
    ("reply", "fixed"),
    [("您的额度约5000元。", "您的额度约4000元。"), ("您的额度是5000左右。", "您的额度是4000左右。"),
     ("您的额度大约五千元。", "您的额度大约四千元。")],
)
def test_a_hedged_amount_is_fixed_as_one_amount(reply: str, fixed: str) -> None:
    (f,) = _credit(reply)
    assert f.replacement is not None
    assert reply[: f.start] + f.replacement + reply[f.end :] == fixed


@pytest.mark.parametrize("reply", ["您的额度是4 000,00元。", "您的额度是RMB 4000。", "您的额度是4000CNY。"])
def test_other_written_forms_of_the_record_line(reply: str) -> None:
    assert _credit(reply) == []


# Amounts offered as alternatives: each fixed alone, 5000或8000元 became 4000或4000元.
@pytest.mark.parametrize(
    ("reply", "said"),
    [
        ("您的额度是5000或8000元。", "5000或8000元"),
        ("您的额度是5000元或8000元。", "5000元或8000元"),
        ("您的额度是5000、8000元。", "5000、8000元"),
        ("您的额度是4000或者8000元。", "4000或者8000元"),  # one equals the record: still not said which
        ("您可借3000、5000或8000元。", "3000、5000或8000元"),
        ("您的额度是五千或八千元。", "五千或八千元"),
    ],
)
def test_alternative_amounts_are_one_wrong_claim_never_spliced(reply: str, said: str) -> None:
    (f,) = _credit(reply)
    assert (reply[f.start : f.end], f.replacement, f.action) == (said, None, Action.BLOCK)
    assert "几个可选的金额" in (f.detail or "")


@pytest.mark.parametrize(
    "reply", ["您的额度是4000或4000元。", "您的额度是4000元，每月还款300或500元。", "您的额度是4000元，还款日是每月5号或6号。"]
)
def test_alternatives_that_are_no_wrong_claim(reply: str) -> None:
    assert _credit(reply) == []


def test_alternatives_with_no_line_are_a_claim_of_none() -> None:
    (f,) = _credit("您的额度是5000或8000元。", credit_line=None)
    assert f.replacement is None and "没有可用额度" in (f.detail or "")


@settings(max_examples=150, deadline=None)
@given(
    a=st.integers(min_value=100, max_value=99999), b=st.integers(min_value=100, max_value=99999),
    gap=st.sampled_from(["、", "或", "或者", " 或 "]), unit=st.sampled_from(["", "元"]),
)
def test_no_fix_ever_writes_the_line_twice(a: int, b: int, gap: str, unit: str) -> None:
    """Whatever two amounts are offered, no fix leaves "4000…4000" in their place."""
    reply = f"您的额度是{a}{unit}{gap}{b}元。"
    for f in _credit(reply):
        assert f.replacement is None, reply


# "Or more" after the amount or its 元 says more than the line, as 4000多元 does: the fix wrote
# 5000元+ → 4000元+, 五千出头 → 四千出头, 5000元以上 → 4000元以上, and 4000元以上 passed.
@pytest.mark.parametrize(
    ("reply", "said"),
    [
        ("您的额度是5000元+。", "5000元+"),
        ("您的额度是4000元＋。", "4000元＋"),
        ("您的额度是五千出头。", "五千出头"),
        ("您的额度是5000元以上。", "5000元以上"),
        ("您的额度是4000元以上。", "4000元以上"),
        ("您的额度有3000开外。", "3000开外"),
        ("您的额度是5000以上的。", "5000以上"),
    ],
)
def test_an_amount_said_as_or_more_is_a_wrong_claim_never_spliced(reply: str, said: str) -> None:
    (f,) = _credit(reply)
    assert (reply[f.start : f.end], f.replacement, f.action) == (said, None, Action.BLOCK)
    assert "约数" in (f.detail or "")


@pytest.mark.parametrize(
    "reply", ["您的额度是4000元，借款5000元+利息200元。", "您的额度是4000元。", "年满18岁以上可申请，额度4000元。"]
)
def test_a_plus_that_adds_is_no_or_more(reply: str) -> None:
    assert _credit(reply) == []
