"""`json_bytes`: the proxy's JSON out, as `json.dumps` compact UTF-8 writes it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from guard.proxy.encoding import json_bytes


def _stdlib(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()


@pytest.mark.parametrize(
    "obj",
    [
        {"choices": [{"index": 0, "message": {"role": "assistant", "content": "张先生您好，额度4000元。"}}]},
        {"content": "换行\n制表\t引号\"反斜杠\\ 控制\x01 表情😀 零宽\u200b 行分隔\u2028"},
        {"usage": {"prompt_tokens": 12, "completion_tokens": 34}, "created": 1_765_000_000, "ok": True, "x": None},
        [1, -2, 2**63 - 1, -(2**63)],
        {"guard": {"violations": [], "regenerations": 0}},
    ],
)
def test_same_bytes_as_the_standard_encoder(obj: Any) -> None:
    assert json_bytes(obj) == _stdlib(obj)


@pytest.mark.parametrize("obj", [{"n": 2**64}, {"n": -(2**70)}, {1: "a key that is not a string"}])
def test_what_orjson_refuses_goes_through_the_standard_encoder(obj: Any) -> None:
    assert json_bytes(obj) == _stdlib(obj)


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**80), 2**80) | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@given(_json)
def test_reads_back_as_the_same_value(obj: Any) -> None:
    out = json_bytes(obj)
    assert json.loads(out) == json.loads(_stdlib(obj))
    assert b"\n" not in out  # an SSE event is one line
