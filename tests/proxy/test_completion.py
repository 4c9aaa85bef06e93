"""Helpers of the non-streamed completion (guard/proxy/completion.py) not covered end to end."""

from __future__ import annotations

import math
import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from guard.proxy.completion import relayed_finish, relayed_id, relayed_usage, rounded


@given(st.dictionaries(st.sampled_from(["facts", "lexicon", "pii", "length"]), st.floats(0, 1e6)))
def test_check_times_are_rounded_to_the_microsecond(timings: dict[str, float]) -> None:
    out = rounded(timings)
    assert list(out) == list(timings)
    for name, ms in timings.items():
        assert abs(out[name] - ms) <= 0.0005 * (1 + 1e-9) + 1e-12 * ms  # half a microsecond
        assert math.isclose(out[name] * 1000, round(out[name] * 1000), abs_tol=1e-6 * max(1.0, ms))


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=20), inner, max_size=4),
    max_leaves=12,
)
KEYS = st.sampled_from(["prompt_tokens", "completion_tokens", "x_details", "prompt_tokens_details", "note", "电话_tokens"])


@given(st.dictionaries(KEYS | st.text(max_size=20), JSON | st.dictionaries(KEYS | st.text(max_size=20), JSON)) | JSON)
def test_usage_is_only_token_counts_whatever_the_upstream_sent(usage: Any) -> None:
    out = relayed_usage(usage)
    if out is None:
        return
    assert out
    for key, value in out.items():
        assert re.fullmatch(r"[a-z_]+", key)
        if key.endswith("_details"):
            assert value and all(re.fullmatch(r"[a-z_]+_tokens", k) for k in value)
            values = list(value.values())
        else:
            assert key.endswith("_tokens")
            values = [value]
        assert all(type(v) is int and 0 <= v < 2**53 for v in values)


@pytest.mark.parametrize(
    ("finish", "relayed"),
    [("stop", "stop"), ("length", "length"), ("content_filter", "content_filter"), ("tool_calls", "stop"),
     ("function_call", "stop"), ("稳赚不赔", None), ("eos", None), ({"t": "x"}, None), (None, None)],
)
def test_only_known_finish_reasons_are_relayed(finish: Any, relayed: str | None) -> None:
    assert relayed_finish(finish) == relayed


@pytest.mark.parametrize(
    ("value", "relayed"),
    [("chatcmpl-abc.1:x_Y", "chatcmpl-abc.1:x_Y"), ("fp_44709d6fcb", "fp_44709d6fcb"), ("", None),
     ("a" * 129, None), ("稳赚不赔", None), ("id with space", None), ("x\n", None), ({"t": "x"}, None), (7, None),
     ("13812345678", None), ("chatcmpl-110101199003078515", None), ("fp_123456", "fp_123456")],
)
def test_ids_are_relayed_only_when_short_and_of_safe_characters(value: Any, relayed: str | None) -> None:
    assert relayed_id(value) == relayed
