"""Helpers of the non-streamed completion (guard/proxy/completion.py) not covered end to end."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from guard.proxy.completion import rounded


@given(st.dictionaries(st.sampled_from(["facts", "lexicon", "pii", "length"]), st.floats(0, 1e6)))
def test_check_times_are_rounded_to_the_microsecond(timings: dict[str, float]) -> None:
    out = rounded(timings)
    assert list(out) == list(timings)
    for name, ms in timings.items():
        assert abs(out[name] - ms) <= 0.0005 * (1 + 1e-9) + 1e-12 * ms  # half a microsecond
        assert math.isclose(out[name] * 1000, round(out[name] * 1000), abs_tol=1e-6 * max(1.0, ms))
