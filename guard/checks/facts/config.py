"""The facts check's configuration: one block per fact kind, plus policy-defined facts.

Every block has an `action` (what to do with a wrong claim) and a `fallback` (what to do when
`fix` cannot apply: the record has no value to put in, e.g. a credit-line claim for a customer
with no line, or a coupon the customer does not hold).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from guard.checks.base import CheckConfig

__all__ = [
    "AgeRule",
    "CouponRule",
    "CreditLineRule",
    "CustomFact",
    "FactAction",
    "FactsConfig",
    "FallbackAction",
    "GenderRule",
    "NameRule",
]

FactAction = Literal["fix", "regenerate", "block", "warn"]
FallbackAction = Literal["regenerate", "block", "warn"]

_BUILTIN = frozenset({"name", "gender", "credit_line", "coupon", "coupons", "age"})


class NameRule(CheckConfig):
    """称呼姓名：全名、姓+称谓（先生/女士/小姐/总）、近似名（同音、形近）。"""

    action: FactAction = Field(default="fix", description="姓名不符时的动作")
    male: tuple[str, ...] = Field(default=("先生",), min_length=1, description="男性称谓")
    female: tuple[str, ...] = Field(default=("女士", "小姐"), min_length=1, description="女性称谓")
    neutral: tuple[str, ...] = Field(default=("总",), description="不分性别的称谓（如 张总）")
    near_miss: bool = Field(default=True, description="是否检查与客户姓名同音、形近的名字（张非、章飞）")
    others: tuple[str, ...] = Field(
        default=(
            "专员", "经理", "客服", "同事", "顾问", "我是", "我叫", "业务员", "工作人员", "老师", "本人是",
            "爱人", "太太", "妻子", "老婆", "丈夫", "老公", "父亲", "母亲", "爸爸", "妈妈", "儿子", "女儿",
            "家人", "配偶", "朋友", "担保人", "联系人", "亲属", "亲戚",
        ),
        description="紧挨在“姓+称谓”前面时，说的是别人（稍后专员李先生联系您；您爱人王女士），不核对",
    )


class GenderRule(CheckConfig):
    """称谓与性别：男性用先生，女性用女士/小姐。"""

    action: FactAction = "fix"


class CreditLineRule(CheckConfig):
    """额度：同一分句里出现触发词时，金额必须等于客户记录的额度。"""

    action: FactAction = "fix"
    fallback: FallbackAction = Field(default="block", description="记录里没有额度、无法改正时的动作")
    triggers: tuple[str, ...] = Field(
        default=(
            "额度", "可借", "可贷", "授信", "借款额度", "最高可借", "可用额度", "剩余额度", "提额到", "提额至",
            "提升到", "提升至", "能借", "可以借", "可申请", "借到", "贷到", "可提现", "可领取额度", "最高", "高达",
            "可用", "批了", "批给您", "下款", "申请到", "可以申请", "能申请", "上限", "最多", "批到", "批下来",
            "可贷款", "可以贷", "能贷", "备用金", "借款资格",
        ),
        min_length=1,
        description="额度触发词",
    )
    roles: tuple[str, ...] = Field(
        default=(
            "还款", "应还", "待还", "已还", "手续费", "服务费", "利息", "日息", "月息", "年化", "罚息", "逾期",
            "月供", "每月还", "已借", "已用", "已用额度", "欠款", "本金", "最低可借", "起借", "起贷", "提额",
            "工资", "收入", "分期", "降低", "减少", "从", "原来", "之前", "以前",
            "只需", "仅需", "低至", "费用", "成本", "节省", "省下", "违约金",
            "还了", "要还", "需还", "还清", "已还款", "用了", "用掉", "花了", "已使用", "使用了",
        ),
        description="其他用途的金额（不是额度）的标志词",
    )
    periods: tuple[str, ...] = Field(
        default=("每月", "每期", "每天", "一天", "每年", "每周"),
        description="周期词：写在金额前面（每月还300元）时金额是其他用途；写在金额后面（额度是5000元每月）不算，看前面的词",
    )
    changes: tuple[str, ...] = Field(
        default=("提升", "提高", "增加", "上调", "调高", "涨了", "多了", "增长"),
        description="变化词：写在金额前面（额度提升了1000元）时金额是变化量；“提高到、提高至、提高为”说的是变化后的金额，看它前面的词（额度提高到5000元：是额度）",
    )


class CouponRule(CheckConfig):
    """优惠券：只能提客户持有的券种，免息天数、折扣、金额必须与记录一致。"""

    action: FactAction = "regenerate"
    fallback: FallbackAction = Field(default="block", description="客户没有该券、无法改正时的动作")
    interest_free: tuple[str, ...] = ("免息券", "免息", "免利息", "无息券", "息费全免", "免息福利")
    rate_discount: tuple[str, ...] = ("利率折扣券", "折扣券", "利率券", "利率优惠券", "打折", "折扣", "利率优惠")
    cash: tuple[str, ...] = ("现金券", "减免券", "抵扣券", "抵用券", "代金券", "立减", "减免", "红包", "满减券")
    generic: tuple[str, ...] = ("优惠券", "卡券", "券")
    ignore: tuple[str, ...] = Field(default=("证券", "债券", "券商", "国债"), description="含“券”但不是优惠券的词")
    negations: tuple[str, ...] = Field(default=("没有", "暂无", "无", "不是", "不", "未"), description="否定词（紧挨在券名前）")


class AgeRule(CheckConfig):
    """年龄：对客户年龄的陈述（您今年35岁）必须等于记录。"""

    action: FactAction = "regenerate"
    fallback: FallbackAction = "block"
    subjects: tuple[str, ...] = Field(default=("您", "你", "今年", "客户"), description="表明说的是客户本人的词")
    others: tuple[str, ...] = Field(
        default=(
            "孩子", "儿子", "女儿", "父亲", "母亲", "爸爸", "妈妈", "爱人", "老公", "老婆", "老伴", "配偶", "家人",
            "公司", "产品", "宝宝",
        ),
        description="同一分句里出现时，说的是别人或别的东西的年龄（您的孩子今年5岁），不核对",
    )
    ranges: tuple[str, ...] = Field(
        default=("年满", "未满", "不满", "超过", "低于", "高于", "不到", "以上", "以下", "以内", "之间", "至", "到", "~", "-", "－", "～"),
        description="年龄范围、门槛的词（不是对客户年龄的陈述）",
    )


class CustomFact(CheckConfig):
    """策略自定义事实：客户记录里的任意字段，配触发词和类型。"""

    field: str = Field(pattern=r"^[a-z_][a-z0-9_]*$", description="客户记录里的字段名")
    label: str = Field(default="", description="中文名称，用于说明和纠正话术")
    type: Literal["amount", "integer", "date", "enum", "text"]
    triggers: tuple[str, ...] = Field(min_length=1, description="触发词：同一分句里出现时检查该值")
    values: dict[str, tuple[str, ...]] = Field(
        default_factory=dict, description="enum/text：记录值 → 回复里的说法；text 可只写值（说法即值本身）"
    )
    action: FactAction = "regenerate"
    fallback: FallbackAction = "block"

    @model_validator(mode="after")
    def _check(self) -> CustomFact:
        if self.field in _BUILTIN:
            raise ValueError(f"{self.field} is a built-in fact; configure it in its own block")
        if self.type in ("enum", "text") and not self.values:
            raise ValueError("enum and text facts need `values` (record value → words in a reply)")
        return self


class FactsConfig(CheckConfig):
    """核对回复与客户记录（CRM）：姓名、称谓、额度、优惠券、年龄、策略自定义事实。"""

    name: NameRule = NameRule()
    gender: GenderRule = GenderRule()
    credit_line: CreditLineRule = CreditLineRule()
    coupon: CouponRule = CouponRule()
    age: AgeRule = AgeRule()
    custom: tuple[CustomFact, ...] = ()

    @model_validator(mode="after")
    def _unique_custom(self) -> FactsConfig:
        fields = [c.field for c in self.custom]
        dup = {f for f in fields if fields.count(f) > 1}
        if dup:
            raise ValueError(f"custom facts defined twice: {', '.join(sorted(dup))}")
        return self
