from __future__ import annotations

from typing import Any

import pytest

from guard.checks.facts import FactsCheck
from guard.checks.facts.names import name_info, similar_char
from tests.checks.facts.conftest import make_record, run

# (record overrides, reply, expected [(code, flagged text, replacement)])
CASES: list[tuple[dict[str, Any], str, list[tuple[str, str, str | None]]]] = [
    ({}, "张先生您好。", []),
    ({}, "张飞先生您好。", []),
    ({}, "张飞您好，我是小王。", []),
    ({}, "张总您好。", []),
    ({}, "张 先生您好。", []),
    ({}, "李 先生您好。", [("fact.name", "李", "张")]),
    ({}, "李\u200b女士您好。", [("fact.name", "李", "张"), ("fact.gender", "女士", "先生")]),
    ({}, "花呗总欠款怎么查", []),
    ({}, "张先生您好，稍后我们的专员李先生会联系您。", []),
    ({}, "张先生您好，我是客服王女士。", []),
    ({}, "李先生您好。", [("fact.name", "李", "张")]),
    ({}, "王先生，您好。", [("fact.name", "王", "张")]),
    ({}, "章先生您好。", [("fact.name", "章", "张")]),
    ({}, "李总您好。", [("fact.name", "李", "张")]),
    ({}, "张女士您好。", [("fact.gender", "女士", "先生")]),
    ({}, "张小姐您好。", [("fact.gender", "小姐", "先生")]),
    ({}, "李女士您好。", [("fact.name", "李", "张"), ("fact.gender", "女士", "先生")]),
    ({}, "女士您好，额度4000元。", [("fact.gender", "女士", "先生")]),
    ({}, "先生您好。", []),
    ({}, "张非您好。", [("fact.name", "张非", "张飞")]),
    ({}, "章飞您好。", [("fact.name", "章飞", "张飞")]),
    ({}, "张菲先生您好。", [("fact.name", "张菲", "张飞")]),
    ({}, "尊敬的王小明先生您好。", [("fact.name", "王小明", "张飞")]),
    ({}, "李四先生您好。", [("fact.name", "李四", "张飞")]),
    ({}, "很高兴为您服务，请张开嘴。", []),
    ({}, "王者荣耀不是我们的产品。", []),
    ({}, "李子和桃子都很好吃。", []),
    ({}, "您的总额度是4000元。", []),
    ({}, "这位先生您好。", []),
    ({}, "谢谢先生。", []),
    ({}, "您先生也可以办理。", []),
    ({}, "飞机马上起飞。", []),
    ({"name": "欧阳娜娜", "gender": "female"}, "欧阳女士您好。", []),
    ({"name": "欧阳娜娜", "gender": "female"}, "欧阳先生您好。", [("fact.gender", "先生", "女士")]),
    ({"name": "欧阳娜娜", "gender": "female"}, "司马女士您好。", [("fact.name", "司马", "欧阳")]),
    ({"name": "欧阳娜娜", "gender": "female"}, "欧阳那那女士您好。", [("fact.name", "欧阳那那", "欧阳娜娜")]),
    ({"name": "诸葛亮"}, "诸葛先生您好。", []),
    ({"name": "诸葛亮"}, "诸葛良先生您好。", [("fact.name", "诸葛良", "诸葛亮")]),
    ({"name": "王芳", "gender": "female"}, "王女士您好。", []),
    ({"name": "王芳", "gender": "female"}, "王小姐您好。", []),
    ({"name": "王芳", "gender": "female"}, "王先生您好。", [("fact.gender", "先生", "女士")]),
    ({"name": "王芳", "gender": "female"}, "汪芳女士您好。", [("fact.name", "汪芳", "王芳")]),
    ({"name": "王芳", "gender": "female"}, "王方您好。", [("fact.name", "王方", "王芳")]),
    ({"name": "王芳", "gender": "female"}, "我们有新方案。", []),
    ({"name": "高兴"}, "很高兴为您服务，高先生。", []),
    ({"name": "张开"}, "展开来说，您的额度很高。", [("fact.name", "展开", "张开")]),
    ({"name": "张开"}, "我给您展开说一下。", []),
    ({"name": "王强"}, "您的意志很顽强。", []),
    ({"name": "王强"}, "顽强先生您好。", [("fact.name", "顽强", "王强")]),
    ({}, "我们跟张非先生确认过。", [("fact.name", "张非", "张飞")]),
    ({}, "我们跟章飞确认过。", [("fact.name", "章飞", "张飞")]),
    ({"name": "李明"}, "李先生，明天见。", []),
    # another surname with the customer's given name, where the customer is addressed
    ({}, "请问您是李飞吗？", [("fact.name", "李飞", "张飞")]),
    ({}, "请问是李飞本人吗？", [("fact.name", "李飞", "张飞")]),
    ({}, "李飞，您好。", [("fact.name", "李飞", "张飞")]),
    ({}, "您好李飞，您的额度已到账。", [("fact.name", "李飞", "张飞")]),
    ({}, "尊敬的李飞，您好。", [("fact.name", "李飞", "张飞")]),
    ({"name": "王芳", "gender": "female"}, "请问您是李芳女士吗？", [("fact.name", "李芳", "王芳")]),
    # …but not where the same characters are a word or someone else
    ({}, "祝您展翅高飞，生活愉快。", []),
    ({}, "您好，高飞的梦想在这里实现。", []),
    ({}, "我们跟李飞确认过。", []),
    ({}, "稍后由专员李飞您好联系您。", []),
    ({"name": "李明"}, "您是文明系列的忠实拥趸。", []),
    ({"name": "李明"}, "明明您已经还款了。", []),
    ({"name": "赵安"}, "公安机关已经立案。", []),
    ({"name": "孙华", "gender": "female"}, "交际花华小姐您好。", [("fact.name", "华", "孙")]),
    # a given-name character that is also a rare surname (明, 华, 林) is not read as the surname
    # (转告李明先生 was "fixed" to 转告李张先生)
    ({}, "请您转告李明先生。", [("fact.name", "李明", "张飞")]),
    ({}, "请转告王小明先生。", [("fact.name", "王小明", "张飞")]),
    ({}, "致电王林先生。", [("fact.name", "王林", "张飞")]),
    ({}, "感谢王先生。", [("fact.name", "王", "张")]),
    ({}, "谢谢李先生。", [("fact.name", "李", "张")]),
    ({}, "感谢张先生。", []),
    ({}, "林高先生您好。", [("fact.name", "林高", "张飞")]),
    ({}, "请转告总经理李晓林先生。", []),
    # a family member or a contact right before the name is someone else, also with the
    # customer's surname (您爱人张女士 was "fixed" to 您爱人张先生)
    ({}, "您爱人张女士也可以申请。", []),
    ({}, "您的太太李女士已经签字。", []),
    ({}, "您女儿张小姐已经还款。", []),
    ({}, "您父亲张先生也是我们的客户。", []),
    ({}, "稍后专员张女士联系您。", []),
    ({}, "您的紧急联系人章飞先生。", []),
    ({}, "您好，张女士。", [("fact.gender", "女士", "先生")]),
    # 本人是 (in `others`) after 您 asks the customer
    ({}, "请问您本人是章飞先生吗？", [("fact.name", "章飞", "张飞")]),
    ({}, "请问您本人是章飞吗？", [("fact.name", "章飞", "张飞")]),
    ({}, "您本人是李飞吗？", [("fact.name", "李飞", "张飞")]),
    # odd record names: one character, Latin letters, a middle dot
    ({"name": "张"}, "张先生您好。", []),
    ({"name": "张"}, "李先生您好。", [("fact.name", "李", "张")]),
    ({"name": "John Smith"}, "Smith先生您好。", []),
    ({"name": "John Smith"}, "John Smith先生您好。", []),
    ({"name": "John Smith"}, "Brown先生您好。", [("fact.name", "Brown", "John Smith")]),
    ({"name": "John Smith"}, "李先生您好。", [("fact.name", "李", "John Smith")]),
    ({"name": "阿依古丽·买买提", "gender": "female"}, "阿依古丽女士您好。", []),
    ({"name": "阿依古丽·买买提", "gender": "female"}, "阿依古丽·买买提女士您好。", []),
    ({"name": "阿依古丽·买买提", "gender": "female"}, "王女士您好。", [("fact.name", "王", "阿依古丽·买买提")]),
    ({"name": "阿依古丽·买买提", "gender": "female"}, "阿依古丽先生您好。", [("fact.gender", "先生", "女士")]),
]


@pytest.mark.parametrize(("overrides", "reply", "expected"), CASES)
def test_names_and_gender(
    facts: FactsCheck, overrides: dict[str, Any], reply: str, expected: list[tuple[str, str, str | None]]
) -> None:
    found = [f for f in run(facts, make_record(**overrides), reply) if f.code in ("fact.name", "fact.gender")]
    assert [(f.code, reply[f.start : f.end], f.replacement) for f in found] == expected


def test_detail_holds_no_name(facts: FactsCheck) -> None:
    for f in run(facts, make_record(), "章飞女士您好。"):
        assert "张" not in f.detail and "章" not in f.detail and "飞" not in f.detail
        assert f.correction


@pytest.mark.parametrize(("a", "b", "same"), [("张", "章", True), ("飞", "非", True), ("飞", "开", False), ("娜", "那", True)])
def test_similar_char(a: str, b: str, same: bool) -> None:
    assert similar_char(a, b) is same


def test_name_info_is_cached_and_defined_for_odd_names() -> None:
    assert name_info("张飞") is name_info("张飞")
    assert name_info("欧阳娜娜").surname == "欧阳"
    assert name_info("John Smith").parts == ("John Smith", "John", "Smith")
    assert name_info("阿依古丽·买买提").han is False
