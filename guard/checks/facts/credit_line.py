"""Credit-line claims: `fact.credit_line` (contract §2).

An amount is a credit-line claim when the keyword nearest to it in its clause is a credit-line
trigger (额度, 可借, 最高可借 …) rather than a word of another role (还款, 手续费, 利息, 逾期 …)
or a coupon word. The claim must equal `record.credit_line` (Decimal compare, any written form).
A claim when the record has no line cannot be fixed, nor can an amount whose extent is ambiguous
(another digit touches it: 5-000元, 4000，5000元): the rule's `fallback` action applies.
Nor can a claim that is no one certain amount in yuan, whatever its value: a range (5000-8000元,
3-5万, 五千到八千), alternatives (5000或8000元, 3000、5000元), one dot then three digits (4.000元:
4 or 4000), an approximation (4000多元, 五六千) or another currency (4000美元). Each is a wrong
claim, reported once over its span.
"""

from __future__ import annotations

import re
from decimal import Decimal

from guard.checks.facts.common import ReplyView, finding, number_fix
from guard.checks.facts.config import CreditLineRule
from guard.text.amounts import NumberMatch, NumberRange, plain_number
from guard.types import CustomerRecord, Finding

__all__ = ["CreditLineChecker", "yuan"]


def yuan(value: Decimal) -> str:
    """A plain rendering for messages: 4000, 1550.5."""
    return plain_number(value)


def _ask(line: Decimal) -> str:
    return f"客户记录的额度是 {yuan(line)} 元，请按记录、用清楚的写法说出这一个金额，例如 {yuan(line)}元。"


def _range_text(reply: str, pair: NumberRange, line: Decimal) -> tuple[str, str]:
    """Detail and correction for a range (5000-8000元) or two joined amounts (8000-5000元)."""
    said = reply[pair.start : pair.end]
    if pair.ascending:
        return (
            f"额度说成了一个范围：回复为 {said}（{yuan(pair.first)} 至 {yuan(pair.second)} 元），"
            f"记录为确定的 {yuan(line)} 元；范围无法只改其中一端",
            f"回复把客户的额度说成了一个范围（{said}），不对；{_ask(line)}",
        )
    return (
        f"额度金额写法不清楚：回复为 {said}，两个金额相连，说不准指哪一个；记录为 {yuan(line)} 元",
        f"回复里的额度金额写法不清楚（{said} 是两个相连的金额）；{_ask(line)}",
    )


def _doubt_text(said: str, n: NumberMatch, line: Decimal) -> tuple[str, str]:
    """Detail and correction for an amount in doubt (4.000元, 4000多元, 4000美元)."""
    if n.doubt == "dots":
        return (
            f"额度金额 {said} 写法有歧义：可以读作 {yuan(n.value)} 元，也可以读作 {yuan(n.value * 1000)} 元；"
            f"记录为 {yuan(line)} 元",
            f"回复里的额度金额“{said}”写法有歧义（小数点还是千位分隔，说不准）；{_ask(line)}",
        )
    if n.doubt == "approx":
        return (
            f"额度说成了约数：回复为 {said}，记录为确定的 {yuan(line)} 元",
            f"回复把客户的额度说成了约数（{said}），不对；{_ask(line)}",
        )
    return (
        f"额度的币种不对：回复为 {said}，记录为 {yuan(line)} 元人民币",
        f"回复里的额度用了别的币种（{said}），不对；{_ask(line)}",
    )


_BEFORE = frozenset({"before"})

# Amounts offered as alternatives (5000或8000元, 3000、5000元): which one is the line is not said.
_ALTERNATIVE = re.compile("[ \u3000]?(?:、|或者?|/)[ \u3000]?")


def _alternatives(reply: str, numbers: list[NumberMatch]) -> list[list[NumberMatch]]:
    """Runs of two or more amounts, each outside a range, joined by 、 或 或者: 5000或8000元."""
    runs: list[list[NumberMatch]] = []
    run: list[NumberMatch] = []
    for n in numbers:
        if not n.money or n.pair is not None:
            run = []
            continue
        if run and _ALTERNATIVE.fullmatch(reply[run[-1].full_end : n.full_start]):
            run.append(n)
            if len(run) == 2:
                runs.append(run)
        else:
            run = [n]
    return runs


class CreditLineChecker:
    """Checks every credit-line claim against the record."""

    def __init__(self, rule: CreditLineRule, money_labels: frozenset[str]) -> None:
        self.rule = rule
        self.money_labels = money_labels

    def _is_claim(self, view: ReplyView, start: int, end: int) -> bool:
        # A period or a change counts only right before the amount (每月还300元, 提升了1000元):
        # after it (额度是5000元每月) it says how often, and a clause before (额度提升了，现在是
        # 5000元) does not make this amount a change.
        hit = view.nearest(start, end, self.money_labels, spill=True, before_only=_BEFORE)
        return hit is not None and "credit" in hit.labels and "role" not in hit.labels

    def run(self, view: ReplyView, record: CustomerRecord) -> list[Finding]:
        out: list[Finding] = []
        if not any("credit" in h.labels for h in view.hits):
            return out  # no claim can be about the credit line (and no number need be read)
        line = record.credit_line
        last: NumberRange | None = None
        # Each fixed alone, 5000或8000元 became 4000或4000元: judged once over the whole run.
        judged: set[int] = set()
        for run in _alternatives(view.reply, view.numbers):
            if any(self._is_claim(view, n.full_start, n.full_end) for n in run):
                judged.update(id(n) for n in run)
                if line is None or any(n.doubt or n.value != line for n in run):
                    out.append(self._either(view.reply, run, line))
        for n in view.numbers:
            if not n.money or id(n) in judged:
                continue
            pair = n.pair
            if pair is not None:
                if pair is last:
                    continue  # the second end of a range already judged
                last = pair
                if self._is_claim(view, pair.start, pair.end):
                    out.append(self._range(view.reply, pair, line))
                continue
            if not self._is_claim(view, n.full_start, n.full_end):
                continue
            if line is None:
                said = view.reply[n.full_start : n.full_end] if n.doubt else f"{yuan(n.value)} 元"
                out.append(self._no_line((n.start, n.end), said))
            elif n.doubt:
                out.append(self._doubt(view.reply, n, line))
            elif n.value != line:
                out.append(self._wrong(n, line))
        return out

    def _f(self, span: tuple[int, int], detail: str, correction: str, replacement: str | None = None) -> Finding:
        return finding(
            "fact.credit_line",
            span,
            detail,
            self.rule.action,
            self.rule.fallback,
            replacement=replacement,
            correction=correction,
        )

    def _no_line(self, span: tuple[int, int], said: str) -> Finding:
        return self._f(
            span,
            f"客户记录没有可用额度，回复却声称额度 {said}",
            "这位客户目前没有可用额度，请不要向客户承诺任何额度或可借金额。",
        )

    def _range(self, reply: str, pair: NumberRange, line: Decimal | None) -> Finding:
        span = (pair.start, pair.end)
        if line is None:
            return self._no_line(span, reply[pair.start : pair.end])
        detail, correction = _range_text(reply, pair, line)
        return self._f(span, detail, correction)

    def _either(self, reply: str, run: list[NumberMatch], line: Decimal | None) -> Finding:
        span = (run[0].full_start, run[-1].full_end)
        said = reply[span[0] : span[1]]
        if line is None:
            return self._no_line(span, said)
        return self._f(
            span,
            f"额度说成了几个可选的金额：回复为 {said}，说不准是哪一个；记录为确定的 {yuan(line)} 元",
            f"回复把客户的额度说成了几个可选的金额（{said}），不对；{_ask(line)}",
        )

    def _doubt(self, reply: str, n: NumberMatch, line: Decimal) -> Finding:
        detail, correction = _doubt_text(reply[n.full_start : n.full_end], n, line)
        return self._f((n.full_start, n.full_end), detail, correction)

    def _wrong(self, n: NumberMatch, line: Decimal) -> Finding:
        detail = f"额度与客户记录不符：回复为 {yuan(n.value)} 元，记录为 {yuan(line)} 元"
        correction = f"回复里说客户的额度是 {yuan(n.value)} 元，不对；客户记录的额度是 {yuan(line)} 元，请按记录说。"
        if n.glued:  # 5-000元: only part of the amount was read, and it cannot be fixed in place
            detail += "；金额前后紧挨着别的数字，写法有歧义，无法只改这一处"
            correction = (
                f"回复里的额度金额写法不清楚（前后紧挨着别的数字）；客户记录的额度是 {yuan(line)} 元，"
                f"请按记录、用清楚的写法说，例如 {yuan(line)}元。"
            )
        return self._f((n.start, n.end), detail, correction, number_fix(n, line))
