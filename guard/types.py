"""Records, findings and verdicts: the data every part of the guard exchanges.

`CustomerRecord` is the CRM row of contract §1. `Finding` is what a check reports (a code and a
span of code points in the *original* reply). `Verdict` is what the engine decides (contract §5).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

__all__ = [
    "Action",
    "CashCoupon",
    "Coupon",
    "CustomerRecord",
    "Decision",
    "Finding",
    "InterestFreeCoupon",
    "RateDiscountCoupon",
    "Verdict",
]


class Action(StrEnum):
    """What the policy says to do with a finding (ordered from mildest to strongest)."""

    WARN = "warn"
    MASK = "mask"
    FIX = "fix"
    TRUNCATE = "truncate"
    REGENERATE = "regenerate"
    BLOCK = "block"


class Decision(StrEnum):
    """The outcome of one evaluation (contract §5)."""

    ALLOW = "allow"
    REVISE = "revise"
    BLOCK = "block"


NonEmptyStr = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class _CouponBase(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)
    name: str | None = None
    expires_on: dt.date | None = None


class InterestFreeCoupon(_CouponBase):
    """免息券: interest-free for `days` days (optional)."""

    kind: Literal["interest_free"]
    days: int | None = Field(default=None, ge=1, le=3660)


class RateDiscountCoupon(_CouponBase):
    """利率折扣券: `discount` 0.8 means 8折 (the rate is multiplied by 0.8)."""

    kind: Literal["rate_discount"]
    discount: Decimal = Field(gt=0, lt=1)


class CashCoupon(_CouponBase):
    """现金券 / 减免券: `amount` yuan off."""

    kind: Literal["cash"]
    amount: Decimal = Field(gt=0)


Coupon = Annotated[InterestFreeCoupon | RateDiscountCoupon | CashCoupon, Field(discriminator="kind")]


class CustomerRecord(BaseModel):
    """The customer's CRM facts (contract §1). Unknown fields are kept for policy-defined facts."""

    model_config = ConfigDict(extra="allow", frozen=True, str_strip_whitespace=True)

    customer_id: NonEmptyStr
    name: NonEmptyStr
    gender: Literal["male", "female"]
    age: int | None = Field(default=None, ge=0, le=150)
    credit_line: Decimal | None = Field(default=None, ge=0)
    coupons: tuple[Coupon, ...] = ()
    phone: str | None = None
    segment: Literal["first_loan", "repeat_loan", "no_balance"] | None = None
    calls_last_7d: int | None = Field(default=None, ge=0)

    @field_validator("coupons", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return () if value is None else value

    @field_validator("credit_line", mode="before")
    @classmethod
    def _no_bool_or_text_amount(cls, value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError("credit_line must be a number of yuan, not true/false")
        return value

    def extra_fields(self) -> dict[str, Any]:
        """Fields beyond contract §1, available to policy-defined fact rules."""
        return dict(self.model_extra or {})


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing a check found in a reply.

    `start`/`end` are code-point offsets into the original reply. `detail` is human readable and
    never holds unmasked PII. `replacement` is the text a `mask` or `fix` action puts in place of
    the span; `correction` is what a `regenerate` action tells the model.
    """

    code: str
    start: int
    end: int
    detail: str
    action: Action
    tier: int | None = None
    replacement: str | None = None
    correction: str | None = None
    evidence: str | None = None  # masked form of the offending text, safe to log

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "start": self.start, "end": self.end, "detail": self.detail}
        if self.tier is not None:
            out["tier"] = self.tier
        out["action"] = self.action.value
        return out


@dataclass(frozen=True, slots=True)
class Verdict:
    """The engine's decision on one reply (contract §5).

    `released` is what may reach the customer: the reply (allow), the revised text (revise), or the
    policy's fallback text or None (block). `regenerate` is True when a finding asked for the model
    to try again; `corrections` then says what to tell it. Even then `released` is already safe, so
    a caller that cannot regenerate simply releases it.
    """

    decision: Decision
    violations: tuple[Finding, ...]
    released: str | None
    policy: str
    policy_version: str
    regenerate: bool = False
    corrections: tuple[str, ...] = field(default=())

    @property
    def codes(self) -> list[str]:
        return [f.code for f in self.violations]

    def to_json(self, case_id: Any = None, *, with_id: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if with_id:
            out["id"] = case_id
        out["decision"] = self.decision.value
        out["violations"] = [f.to_json() for f in self.violations]
        out["released"] = self.released
        out["policy"] = self.policy
        out["policy_version"] = self.policy_version
        return out
