"""Coupon claims: `fact.coupon` (contract §2).

A coupon may be mentioned only if the customer holds one of that kind: 免息券 (interest_free),
利率折扣券 / N折 (rate_discount), 现金券 / 减免券 / 抵扣券 (cash); a generic 优惠券 / 券 needs any
coupon. Details must match a held coupon of the kind: 免息 days (N天 in a 免息 clause), the
discount (8折 = 0.8, 八五折 = 0.85), the cash amount (the amount whose nearest keyword is a cash
coupon word). A mention right after a negation (没有免息券) is not a claim.
`fix` applies to a wrong detail when the customer holds exactly one value of it; otherwise, and
for a coupon kind not held, the rule's `fallback` action applies.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal

from guard.checks.facts.common import Hit, ReplyView, finding, number_fix
from guard.checks.facts.config import CouponRule
from guard.checks.facts.credit_line import yuan
from guard.text.amounts import fold_width
from guard.types import CashCoupon, CustomerRecord, Finding, InterestFreeCoupon, RateDiscountCoupon

__all__ = ["CouponChecker", "parse_discount", "render_discount"]

_KIND_LABELS = {"cp_if": "interest_free", "cp_rate": "rate_discount", "cp_cash": "cash"}
_COUPON_LABELS = frozenset({"cp_if", "cp_rate", "cp_cash", "cp_generic"})
_KIND_NAMES = {"interest_free": "免息券", "rate_discount": "利率折扣券", "cash": "现金券/减免券"}
_CN = "一二三四五六七八九"
_DISCOUNT = re.compile(rf"(?<![\d.])(\d(?:\.\d)?|\d\d|[{_CN}][{_CN}]?)折(?!扣)")


def parse_discount(text: str) -> Decimal | None:
    """8 → 0.8, 8.5 / 85 / 八五 → 0.85, 九 → 0.9; None when not a discount."""
    digits = "".join(str(_CN.index(c) + 1) if c in _CN else c for c in text)
    try:
        if "." in digits:
            value = Decimal(digits) / 10
        elif len(digits) == 2:
            value = Decimal(digits) / 100
        else:
            value = Decimal(digits) / 10
    except ArithmeticError:
        return None
    return value if 0 < value < 1 else None


def render_discount(value: Decimal, like: str) -> str:
    """A discount written like `like` (Arabic or Chinese; 8.5 or 85 style)."""
    tenths = value * 10
    chinese = any(c in _CN for c in like)
    if tenths == tenths.to_integral_value():
        text = str(int(tenths))
    elif "." in like or chinese:
        text = format(tenths.normalize(), "f")
    else:
        text = format((value * 100).normalize(), "f")
    if chinese:
        text = "".join(_CN[int(c) - 1] if c.isdigit() and c != "0" else c for c in text).replace(".", "")
    return text


# A free-interest period after its number: 30天, 两个月 (30 days each), 两周 / 两个星期 (7 days
# each). A month is 30 days: "一个月" agrees with a 30-day coupon and no other.
_PERIOD_START = frozenset("天个周星")
_PERIOD_NAMES = {1: "天", 30: "个月", 7: "周"}


def _period_days(reply: str, end: int) -> tuple[int, int]:
    """(days in one unit, the unit's length) of the period written at `end`, right after a
    number; (0, 0) for none."""
    if reply.startswith("天", end):
        return 1, 1
    if reply.startswith(("个月", "個月"), end):
        return 30, 2
    if reply.startswith(("个星期", "個星期"), end):
        return 7, 3
    if reply.startswith("星期", end):
        return 7, 2
    if reply.startswith("周", end) and not reply.startswith("周年", end):
        return 7, 1
    return 0, 0


class CouponChecker:
    """Checks coupon mentions and their details against the coupons the customer holds."""

    def __init__(self, rule: CouponRule, money_labels: frozenset[str]) -> None:
        self.rule = rule
        self.money_labels = money_labels
        self._negations = tuple(rule.negations)

    def _negated(self, reply: str, hit: Hit) -> bool:
        return reply[max(0, hit.start - 3) : hit.start].endswith(self._negations)

    def _f(self, span: tuple[int, int], detail: str, correction: str, replacement: str | None = None) -> Finding:
        return finding(
            "fact.coupon", span, detail, self.rule.action, self.rule.fallback, replacement=replacement, correction=correction
        )

    def run(self, view: ReplyView, record: CustomerRecord) -> list[Finding]:
        reply = view.reply
        out: list[Finding] = []
        held: dict[str, list[object]] = {"interest_free": [], "rate_discount": [], "cash": []}
        for c in record.coupons:
            held[c.kind].append(c)
        if_clauses: list[tuple[int, int]] = []
        for hit in view.hits:
            labels = hit.labels
            if "cp_ignore" in labels or labels.isdisjoint(_COUPON_LABELS):
                continue
            if self._negated(reply, hit):
                continue
            if "cp_generic" in labels:
                if not record.coupons:
                    out.append(self._no_coupon((hit.start, hit.end), "优惠券"))
                continue
            kind = next(_KIND_LABELS[k] for k in ("cp_if", "cp_rate", "cp_cash") if k in labels)
            if kind == "interest_free":
                if_clauses.append(view.clause(hit.start))
            if not held[kind]:
                out.append(self._no_coupon((hit.start, hit.end), _KIND_NAMES[kind]))
        out.extend(self._days(view, held["interest_free"], if_clauses))
        out.extend(self._discounts(reply, held["rate_discount"]))
        out.extend(self._cash(view, held["cash"]))
        return out

    def _no_coupon(self, span: tuple[int, int], kind_name: str) -> Finding:
        return self._f(
            span,
            f"客户未持有{kind_name}，回复却提到了",
            f"客户没有{kind_name}，请不要提及或承诺{kind_name}。",
        )

    def _days(self, view: ReplyView, coupons: Sequence[object], clauses: list[tuple[int, int]]) -> list[Finding]:
        if not coupons or not clauses:
            return []
        days = sorted({c.days for c in coupons if isinstance(c, InterestFreeCoupon) and c.days is not None})
        out: list[Finding] = []
        reply = view.reply
        for n in view.numbers:
            per, unit_len = _period_days(reply, n.full_end) if n.after in _PERIOD_START else (0, 0)
            if not per or view.clause(n.start) not in clauses:
                continue
            if days and n.value * per in days:
                continue
            said = f"{yuan(n.value)} {_PERIOD_NAMES[per]}"
            what = "免息天数" if per == 1 else "免息期"
            span = (n.start, n.full_end + unit_len)
            if not days:
                out.append(self._f(span, f"客户的免息券没有记录免息天数，回复却说了{what}", f"客户免息券的免息天数没有记录，请不要说具体的{what}。"))
                continue
            right = "、".join(str(d) for d in days)
            # 免息两个月, 免息两周: a period in months or weeks is never spliced into days
            rep = number_fix(n, Decimal(days[0])) if len(days) == 1 and per == 1 else None
            out.append(
                self._f(
                    (n.start, n.end) if per == 1 else span,
                    f"{what}与客户记录不符：回复为 {said}，记录为 {right} 天",
                    f"回复里说免息 {said}，不对；客户免息券是免息 {right} 天，请按记录说。",
                    rep,
                )
            )
        return out

    def _discounts(self, reply: str, coupons: Sequence[object]) -> list[Finding]:
        if "折" not in reply:
            return []
        values = sorted({c.discount for c in coupons if isinstance(c, RateDiscountCoupon)})
        out: list[Finding] = []
        for m in _DISCOUNT.finditer(fold_width(reply)):
            value = parse_discount(m.group(1))
            if value is None:
                continue
            span = (m.start(), m.end())
            if not values:
                out.append(self._no_coupon(span, _KIND_NAMES["rate_discount"]))
                continue
            if value in values:
                continue
            right = "、".join(render_discount(v, "8") + "折" for v in values)
            rep = render_discount(values[0], m.group(1)) if len(values) == 1 else None
            out.append(
                self._f(
                    (m.start(1), m.end(1)),
                    f"折扣与客户记录不符：回复为 {m.group(1)}折，记录为 {right}",
                    f"回复里说的折扣不对；客户的利率折扣券是 {right}，请按记录说。",
                    rep,
                )
            )
        return out

    def _cash(self, view: ReplyView, coupons: Sequence[object]) -> list[Finding]:
        amounts = sorted({c.amount for c in coupons if isinstance(c, CashCoupon)})
        if not amounts or not any("cp_cash" in h.labels for h in view.hits):
            return []  # a cash-coupon word without a held cash coupon is flagged by the keyword
        out: list[Finding] = []
        for n in view.numbers:
            if not n.money:
                continue
            hit = view.nearest(n.full_start, n.full_end, self.money_labels)
            if hit is None or "cp_cash" not in hit.labels or n.value in amounts:
                continue
            right = "、".join(yuan(a) for a in amounts)
            rep = number_fix(n, amounts[0]) if len(amounts) == 1 else None
            out.append(
                self._f(
                    (n.start, n.end),
                    f"现金券金额与客户记录不符：回复为 {yuan(n.value)} 元，记录为 {right} 元",
                    f"回复里说的现金券金额 {yuan(n.value)} 元不对；客户的现金券是 {right} 元，请按记录说。",
                    rep,
                )
            )
        return out
