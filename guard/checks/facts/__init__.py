"""Facts: verify every reply against the customer's CRM record (contract §1–2).

`fact.name`, `fact.gender`, `fact.credit_line`, `fact.coupon`, `fact.age`, and `fact.<field>` for
facts a policy defines. One module per fact kind; `FACTS` is the registry entry.
"""

from __future__ import annotations

from guard.checks.base import CheckSpec
from guard.checks.facts.check import FactsCheck, build_facts
from guard.checks.facts.config import FactsConfig

__all__ = ["FACTS", "FactsCheck", "FactsConfig"]

FACTS: CheckSpec[FactsConfig] = CheckSpec("facts", FactsConfig, build_facts, "客户事实核对（姓名/称谓/额度/优惠券/年龄/自定义）")
