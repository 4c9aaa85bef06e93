"""Age claims: `fact.age` (contract §2).

A number followed by 岁 or 周岁, or right after 今年 and followed by 了 or a question mark
(您今年36了), is a claim about the customer's age when its clause names the
customer (您, 你, 今年, 客户, an honorific) and it is not a threshold or a range (年满18周岁,
18至60岁, 60岁以下) nor approximate (三十多岁, 七八十岁). It must equal `record.age`; with no age
on record, the `fallback` applies.
"""

from __future__ import annotations

from decimal import Decimal

from guard.checks.facts.common import ReplyView, finding, number_fix
from guard.checks.facts.config import AgeRule
from guard.text.normalize import traditional_forms
from guard.types import CustomerRecord, Finding

__all__ = ["AgeChecker"]

_RANGE_AFTER = ("以上", "以下", "以内", "之间", "及以上", "及以下", "至", "到", "-", "－", "~", "～", "左右")
# An age said without 岁 (您今年36了, 您今年有36了吧): right after 今年 (and one of these), then 了
# or a question; at most 120.
_THIS_YEAR = ("今年", "今年有", "今年已经", "今年都", "今年也", "今年才", "今年刚", "今年就")
_BARE_AGE_AFTER = frozenset("了啦吧咯？?")
_MAX_BARE_AGE = 120
_SUI = frozenset("岁歲")  # traditional 歲 too (您今年36歲)
_ZHOU = frozenset("周週")


class AgeChecker:
    """Checks every stated age of the customer against the record."""

    def __init__(self, rule: AgeRule) -> None:
        self.rule = rule
        ranges = (*rule.ranges, *traditional_forms(tuple(rule.ranges)))  # 年满 and 年滿
        self._before = ranges
        self._after = tuple({*ranges, *_RANGE_AFTER, *traditional_forms(_RANGE_AFTER)})

    def run(self, view: ReplyView, record: CustomerRecord) -> list[Finding]:
        out: list[Finding] = []
        reply = view.reply
        if "岁" not in reply and "今年" not in reply and "歲" not in reply:
            return out  # every age claim below ends in 岁 (歲) or follows 今年 (and no number need be read)
        for n in view.numbers:
            if n.after in _SUI:
                end = n.full_end + 1
            elif n.after in _ZHOU and reply[n.full_end + 1 : n.full_end + 2] in _SUI:
                end = n.full_end + 2
            elif (
                n.after in _BARE_AGE_AFTER
                and not n.money
                and 0 < n.value <= _MAX_BARE_AGE
                and reply[max(0, n.full_start - 4) : n.full_start].endswith(_THIS_YEAR)
            ):
                end = n.full_end
            else:
                continue
            if n.doubt or n.value != n.value.to_integral_value():
                continue  # 七八十岁: an approximate age, as 三十多岁, is no exact claim
            before = reply[max(0, n.full_start - 3) : n.full_start]
            if before.endswith(self._before) or reply[end : end + 3].startswith(self._after):
                continue
            if before.endswith(("满", "滿")) and not before.endswith(("已满", "已滿")):
                continue
            c_start, c_end = view.clause(n.start)
            if not view.hits_in(c_start, c_end, "subject") or view.hits_in(c_start, c_end, "age_other"):
                continue
            age = record.age
            if age is not None and n.value == age:
                continue
            if age is None:
                out.append(
                    finding(
                        "fact.age",
                        (n.start, end),
                        "客户记录没有年龄，回复却陈述了客户年龄",
                        self.rule.action,
                        self.rule.fallback,
                        correction="客户记录里没有年龄信息，请不要提及客户的年龄。",
                    )
                )
                continue
            out.append(
                finding(
                    "fact.age",
                    (n.start, n.end),
                    f"年龄与客户记录不符：回复为 {int(n.value)} 岁，记录为 {age} 岁",
                    self.rule.action,
                    self.rule.fallback,
                    replacement=number_fix(n, Decimal(age)),
                    correction=f"回复里说客户 {int(n.value)} 岁，不对；客户记录的年龄是 {age} 岁，请按记录说或不提年龄。",
                )
            )
        return out
