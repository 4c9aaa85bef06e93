"""The facts check: every fact rule over one scan of the reply."""

from __future__ import annotations

from typing import ClassVar

from guard.checks.base import CheckInput, PolicyContext
from guard.checks.facts.age import AgeChecker
from guard.checks.facts.common import KeywordIndex, ReplyView
from guard.checks.facts.config import FactsConfig
from guard.checks.facts.coupons import CouponChecker
from guard.checks.facts.credit_line import CreditLineChecker
from guard.checks.facts.custom import CustomFactChecker
from guard.checks.facts.names import NameChecker
from guard.text.normalize import traditional_forms
from guard.types import Finding

__all__ = ["FactsCheck", "build_facts"]

_COUPON_LABELS = frozenset({"cp_if", "cp_rate", "cp_cash", "cp_generic"})
_CHANGE_TO = ("到", "至", "为", "成")


class FactsCheck:
    """Checks name, gender, credit line, coupons, age and policy-defined facts against the record."""

    name: ClassVar[str] = "facts"

    def __init__(self, config: FactsConfig) -> None:
        self.config = config
        cfg = config
        before_roles = (*cfg.credit_line.periods, *cfg.credit_line.changes)
        groups: list[tuple[str, tuple[str, ...]]] = [
            ("credit", cfg.credit_line.triggers),
            ("role", cfg.credit_line.roles),
            # Roles only before the amount, in its own clause (each sets label "before").
            ("role", before_roles),
            ("before", before_roles),
            # 提高到 names the amount after the change: a keyword of no role, so that the change
            # word inside it is not read and the word before it decides (额度提高到5000元).
            ("to", tuple(w + end for w in cfg.credit_line.changes for end in _CHANGE_TO)),
            ("cp_if", cfg.coupon.interest_free),
            ("cp_rate", cfg.coupon.rate_discount),
            ("cp_cash", cfg.coupon.cash),
            ("cp_generic", cfg.coupon.generic),
            ("cp_ignore", cfg.coupon.ignore),
            ("subject", (*cfg.age.subjects, *cfg.name.male, *cfg.name.female)),
            ("age_other", cfg.age.others),
        ]
        groups += [(f"custom:{c.field}", c.triggers) for c in cfg.custom]
        # A reply in traditional characters (您的額度是5000元) says the same: each keyword's
        # traditional form has its labels too.
        groups += [(label, traditional_forms(tuple(words))) for label, words in groups]
        self.index = KeywordIndex(groups)
        custom_labels = frozenset(f"custom:{c.field}" for c in cfg.custom)
        money = frozenset({"credit", "role"}) | _COUPON_LABELS | custom_labels
        self.names = NameChecker(cfg.name, cfg.gender)
        self.credit = CreditLineChecker(cfg.credit_line, money)
        self.coupons = CouponChecker(cfg.coupon, money)
        self.age = AgeChecker(cfg.age)
        self.custom = tuple(CustomFactChecker(c, money) for c in cfg.custom)

    def run(self, inp: CheckInput) -> list[Finding]:
        reply, record = inp.reply, inp.record
        view = ReplyView(reply, self.index)
        out = self.names.run(reply, record)
        out += self.credit.run(view, record)
        out += self.coupons.run(view, record)
        out += self.age.run(view, record)
        for c in self.custom:
            out += c.run(view, record)
        return out


def build_facts(cfg: FactsConfig, _ctx: PolicyContext) -> FactsCheck:
    return FactsCheck(cfg)
