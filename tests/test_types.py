from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from guard.types import CustomerRecord
from guard.validation import describe_validation_error

BASE: dict[str, Any] = {"customer_id": "C1", "name": "张飞", "gender": "male"}


def test_contract_example_parses() -> None:
    rec = CustomerRecord.model_validate(
        {
            **BASE,
            "age": 35,
            "credit_line": 4000,
            "coupons": [{"kind": "interest_free", "name": "免息券", "days": 30, "expires_on": "2026-12-31"}],
            "phone": "13812345678",
            "segment": "repeat_loan",
            "calls_last_7d": 3,
            "due_date": "2026-12-10",
        }
    )
    assert rec.credit_line == Decimal(4000)
    assert rec.coupons[0].kind == "interest_free"
    assert rec.extra_fields() == {"due_date": "2026-12-10"}


@pytest.mark.parametrize(
    ("patch", "expected"),
    [
        ({}, None),
        ({"credit_line": None}, None),
        ({"credit_line": "4000.50"}, None),
        ({"coupons": None}, None),
        ({"coupons": []}, None),
        ({"coupons": [{"kind": "rate_discount", "discount": 0.8}]}, None),
        ({"coupons": [{"kind": "cash", "amount": 50}]}, None),
        ({"name": "A"}, None),
        ({"name": "阿依古丽·买买提"}, None),
        ({"gender": "m"}, "record.gender: Input should be 'male' or 'female'"),
        ({"name": ""}, "record.name: String should have at least 1 character"),
        ({"credit_line": -1}, "record.credit_line: Input should be greater than or equal to 0"),
        ({"credit_line": True}, "record.credit_line: Value error, credit_line must be a number of yuan"),
        ({"age": "old"}, "record.age: Input should be a valid integer"),
        ({"coupons": [{"kind": "gift"}]}, "record.coupons.0: Input tag 'gift' found using 'kind' does not match"),
        ({"coupons": [{"kind": "rate_discount", "discount": 8}]}, "record.coupons.0.rate_discount.discount: Input should be less than 1"),
        ({"segment": "vip"}, "record.segment: Input should be 'first_loan', 'repeat_loan' or 'no_balance'"),
    ],
)
def test_record_validation_names_the_field(patch: dict[str, Any], expected: str | None) -> None:
    data = {**BASE, **patch}
    if expected is None:
        CustomerRecord.model_validate(data)
        return
    with pytest.raises(ValidationError) as info:
        CustomerRecord.model_validate(data)
    assert expected in describe_validation_error(info.value, "record")


def test_missing_required_fields() -> None:
    with pytest.raises(ValidationError) as info:
        CustomerRecord.model_validate({"name": "张飞"})
    msg = describe_validation_error(info.value, "record")
    assert "record.customer_id: required field is missing" in msg
    assert "record.gender: required field is missing" in msg


def test_errors_never_echo_the_value() -> None:
    with pytest.raises(ValidationError) as info:
        CustomerRecord.model_validate({**BASE, "phone": 13812345678, "age": "13812345678"})
    assert "13812345678" not in describe_validation_error(info.value, "record")
