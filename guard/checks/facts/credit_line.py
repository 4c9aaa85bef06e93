"""Credit-line claims: `fact.credit_line` (contract §2).

An amount is a credit-line claim when the keyword nearest to it in its clause is a credit-line
trigger (额度, 可借, 最高可借 …) rather than a word of another role (还款, 手续费, 利息, 逾期 …)
or a coupon word. The claim must equal `record.credit_line` (Decimal compare, any written form).
A claim when the record has no line cannot be fixed, nor can an amount whose extent is ambiguous
(another digit touches it: 5-000元, 4000，5000元): the rule's `fallback` action applies.
"""

from __future__ import annotations

from decimal import Decimal

from guard.checks.facts.common import ReplyView, finding, number_fix
from guard.checks.facts.config import CreditLineRule
from guard.text.amounts import plain_number
from guard.types import CustomerRecord, Finding

__all__ = ["CreditLineChecker", "yuan"]


def yuan(value: Decimal) -> str:
    """A plain rendering for messages: 4000, 1550.5."""
    return plain_number(value)


class CreditLineChecker:
    """Checks every credit-line claim against the record."""

    def __init__(self, rule: CreditLineRule, money_labels: frozenset[str]) -> None:
        self.rule = rule
        self.money_labels = money_labels

    def run(self, view: ReplyView, record: CustomerRecord) -> list[Finding]:
        out: list[Finding] = []
        if not any("credit" in h.labels for h in view.hits):
            return out  # no claim can be about the credit line (and no number need be read)
        line = record.credit_line
        for n in view.numbers:
            if not n.money:
                continue
            hit = view.nearest(n.full_start, n.full_end, self.money_labels, spill=True)
            if hit is None or "credit" not in hit.labels or "role" in hit.labels:
                continue
            if line is not None and n.value == line:
                continue
            if line is None:
                out.append(
                    finding(
                        "fact.credit_line",
                        (n.start, n.end),
                        f"客户记录没有可用额度，回复却声称额度 {yuan(n.value)} 元",
                        self.rule.action,
                        self.rule.fallback,
                        correction="这位客户目前没有可用额度，请不要向客户承诺任何额度或可借金额。",
                    )
                )
                continue
            detail = f"额度与客户记录不符：回复为 {yuan(n.value)} 元，记录为 {yuan(line)} 元"
            correction = f"回复里说客户的额度是 {yuan(n.value)} 元，不对；客户记录的额度是 {yuan(line)} 元，请按记录说。"
            if n.glued:  # 5-000元: only part of the amount was read, and it cannot be fixed in place
                detail += "；金额前后紧挨着别的数字，写法有歧义，无法只改这一处"
                correction = (
                    f"回复里的额度金额写法不清楚（前后紧挨着别的数字）；客户记录的额度是 {yuan(line)} 元，"
                    f"请按记录、用清楚的写法说，例如 {yuan(line)}元。"
                )
            out.append(
                finding(
                    "fact.credit_line",
                    (n.start, n.end),
                    detail,
                    self.rule.action,
                    self.rule.fallback,
                    replacement=number_fix(n, line),
                    correction=correction,
                )
            )
        return out
