"""Decision records for the audit tests (and the durability writer)."""

from __future__ import annotations

import time
from typing import Any

from guard.audit.api import DecisionRecord


def id_check_digit(first17: str) -> str:
    """GB 11643-1999 check digit of an 18-digit resident ID."""
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return "10X98765432"[sum(int(d) * w for d, w in zip(first17, weights, strict=True)) % 11]


PHONE = "13912345678"
ID_CARD = "11010519491231002" + id_check_digit("11010519491231002")
EMAIL = "wang.xiaoming@example.com"
NAME = "王小明"
PLANTED = (PHONE, ID_CARD, EMAIL, NAME)


def make_record(
    trace_id: str, *, decision: str = "allow", codes: tuple[str, ...] = (), **kw: Any
) -> DecisionRecord:
    """A plain decision record; keyword arguments override fields."""
    fields: dict[str, Any] = {
        "trace_id": trace_id,
        "timestamp": time.time(),
        "caller": "svc-outbound",
        "customer_id": "C20261124001",
        "model": "qwen2.5-7b",
        "policy": "outbound_marketing",
        "policy_version": "sha256:abc123",
        "decision": decision,
        "codes": codes,
        "violations": tuple({"code": c, "start": 0, "end": 1, "action": "warn"} for c in codes),
        "original_masked": "张先生您好，您的4000元额度已经审核通过了。",
        "released": "张先生您好，您的4000元额度已经审核通过了。",
    }
    fields.update(kw)
    return DecisionRecord(**fields)


def pii_record(trace_id: str) -> DecisionRecord:
    """A record from a careless caller: raw PII in the reply, evidence, extra and error text."""
    reply = f"{NAME}您好，请拨打{PHONE}，身份证{ID_CARD}，邮箱{EMAIL}。"
    start = 0
    return make_record(
        trace_id,
        decision="revise",
        codes=("pii.person", "pii.phone", "pii.id_card", "pii.email"),
        violations=(
            {
                "code": "pii.person",
                "start": start,
                "end": start + len(NAME),
                "action": "mask",
                "evidence": NAME,
            },
            {
                "code": "pii.phone",
                "start": reply.index(PHONE),
                "end": reply.index(PHONE) + 11,
                "action": "mask",
                "evidence": PHONE,
            },
            {
                "code": "pii.id_card",
                "start": reply.index(ID_CARD),
                "end": reply.index(ID_CARD) + 18,
                "action": "mask",
                "evidence": ID_CARD,
                "detail": f"身份证号 {ID_CARD}",
            },
            {
                "code": "pii.email",
                "start": reply.index(EMAIL),
                "end": reply.index(EMAIL) + len(EMAIL),
                "action": "mask",
                "evidence": EMAIL,
            },
        ),
        original_masked=reply,
        released=f"{NAME}您好，请拨打{PHONE}。",
        error=f"upstream said: {EMAIL}",
        extra={"note": f"callback {PHONE}", "nested": [ID_CARD]},
        check_ms={"pii": 0.4, "length": 0.02},
        sensitive_values=(NAME,),
    )
