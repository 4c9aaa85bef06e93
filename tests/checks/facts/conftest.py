from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from guard.checks.base import CheckInput, PolicyContext
from guard.checks.facts import FACTS, FactsCheck
from guard.text.sentences import split_sentences
from guard.types import CustomerRecord, Finding

BASE: dict[str, Any] = {
    "customer_id": "C1",
    "name": "张飞",
    "gender": "male",
    "age": 35,
    "credit_line": 4000,
    "coupons": [
        {"kind": "interest_free", "name": "免息券", "days": 30},
        {"kind": "rate_discount", "discount": 0.8},
        {"kind": "cash", "amount": 50},
    ],
    "phone": "13812345678",
    "segment": "repeat_loan",
    "calls_last_7d": 3,
}


def make_record(**overrides: Any) -> CustomerRecord:
    return CustomerRecord.model_validate({**BASE, **overrides})


def build(raw: dict[str, Any] | None = None) -> FactsCheck:
    check = FACTS.build_from(raw or {}, PolicyContext(Path(".")))
    assert isinstance(check, FactsCheck)
    return check


def run(check: FactsCheck, record: CustomerRecord, reply: str) -> list[Finding]:
    return check.run(CheckInput(reply, record, split_sentences(reply)))


@pytest.fixture(scope="session")
def facts() -> FactsCheck:
    return build()
