"""`parse_chat_request`: the request and its inline record validated in one step."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from guard.proxy.errors import GuardHTTPError
from guard.proxy.openai_models import model_list, parse_chat_request
from guard.types import CustomerRecord
from guard.validation import describe_validation_error

_COUPON = st.one_of(
    st.fixed_dictionaries({"kind": st.just("interest_free")}, optional={"days": st.integers(0, 365), "name": st.text(max_size=5)}),
    st.fixed_dictionaries({"kind": st.just("rate_discount"), "discount": st.floats(0.01, 1)}),
    st.fixed_dictionaries({"kind": st.just("cash"), "amount": st.integers(0, 10**6) | st.floats(0, 1e6)},
                          optional={"expires_on": st.dates().map(str)}),
)
_RECORD = st.fixed_dictionaries(
    {"customer_id": st.text(min_size=1, max_size=8).filter(str.strip), "name": st.text(min_size=1, max_size=4).filter(str.strip),
     "gender": st.sampled_from(["male", "female"])},
    optional={
        "age": st.integers(0, 150),
        "credit_line": st.none() | st.integers(0, 10**9) | st.floats(0, 1e9) | st.decimals(0, 10**9, places=2).map(float),
        "coupons": st.lists(_COUPON, max_size=3),
        "phone": st.text(max_size=11),
        "segment": st.sampled_from(["first_loan", "repeat_loan", "no_balance"]),
        "calls_last_7d": st.integers(0, 100),
        "vip_level": st.integers() | st.text(max_size=4),
    },
)


def _body(record: Any) -> bytes:
    return json.dumps({"model": "m", "messages": [{"role": "user", "content": "你好"}], "guard": {"record": record}},
                      ensure_ascii=False).encode()


@given(_RECORD)
def test_the_inline_record_is_the_record_a_separate_validation_would_give(record: dict[str, Any]) -> None:
    """The same record, or the same refusal, as validating the record on its own (the old path)."""
    try:
        alone: CustomerRecord | str = CustomerRecord.model_validate(json.loads(_body(record))["guard"]["record"])
    except ValidationError as exc:
        alone = describe_validation_error(exc, "guard.record")
    try:
        together: CustomerRecord | str | None = parse_chat_request(_body(record), "application/json").guard.record
    except GuardHTTPError as exc:
        assert exc.code == "invalid_record"
        together = exc.message
    assert together == alone


@pytest.mark.parametrize(
    "record",
    [
        {"customer_id": "C1", "name": "张飞"},
        {"customer_id": "C1", "name": "张飞", "gender": "x", "age": -1},
        {"customer_id": "C1", "name": "张飞", "gender": "male", "credit_line": True},
        {"customer_id": "C1", "name": "张飞", "gender": "male", "coupons": [{"kind": "cash"}]},
        {},
    ],
)
def test_a_record_at_fault_is_invalid_record_worded_as_before(record: dict[str, Any]) -> None:
    with pytest.raises(GuardHTTPError) as info:
        parse_chat_request(_body(record), "application/json")
    assert info.value.status == 422 and info.value.code == "invalid_record"
    with pytest.raises(ValidationError) as direct:
        CustomerRecord.model_validate(record)
    assert info.value.message == describe_validation_error(direct.value, "guard.record")
    assert "张飞" not in info.value.message


# -- the model list a client sees ---------------------------------------------------------------------

_QWEN = {"id": "qwen2.5-7b", "object": "model", "created": 5, "owned_by": "vllm", "max_model_len": 8192}
_LLAMA = {"id": "llama3", "object": "model", "created": 6, "owned_by": "vllm"}


def test_an_alias_is_listed_as_the_model_it_maps_to() -> None:
    got = model_list([_QWEN, _LLAMA], {"guarded": "qwen2.5-7b"})
    assert got == {"object": "list", "data": [{**_QWEN, "id": "guarded"}, _QWEN, _LLAMA]}
    assert next(iter(got["data"][0])) == "id"


def test_an_alias_of_a_model_the_upstream_does_not_list_is_listed_as_the_guards() -> None:
    got = model_list([_LLAMA], {"guarded": "elsewhere"})
    assert got["data"] == [{"id": "guarded", "object": "model", "created": 0, "owned_by": "guard"}, _LLAMA]


def test_an_alias_hides_the_upstream_model_of_its_name() -> None:
    """A caller naming `llama3` gets `qwen2.5-7b` (the map wins): the upstream's llama3 is not callable."""
    got = model_list([_QWEN, _LLAMA], {"llama3": "qwen2.5-7b", "b": "a"})
    assert [m["id"] for m in got["data"]] == ["llama3", "b", "qwen2.5-7b"]
    assert got["data"][0] == {**_QWEN, "id": "llama3"}


def test_without_a_map_the_upstream_list_is_relayed() -> None:
    assert model_list([_QWEN, _LLAMA], {}) == {"object": "list", "data": [_QWEN, _LLAMA]}
