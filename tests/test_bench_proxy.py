"""`bench/bench_proxy.py`: its interleaving (every series once a round, none always first) and its A/A lines."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bench.bench_proxy import _aa_line, _aa_note, _rotated


@given(n=st.integers(1, 8), i=st.integers(0, 10_000))
def test_each_round_runs_every_series_once(n: int, i: int) -> None:
    assert sorted(_rotated(n, i)) == list(range(n))


@given(n=st.integers(1, 8), start=st.integers(0, 10_000))
def test_over_n_rounds_each_series_runs_first_once(n: int, start: int) -> None:
    assert sorted(_rotated(n, i)[0] for i in range(start, start + n)) == list(range(n))


def test_the_aa_control_is_the_second_relay_minus_the_first() -> None:
    first = [0.001] * 99 + [0.002]  # p50 1 ms, p99 ≈ 1.99 ms
    second = [0.0015] * 100  # p50 and p99 1.5 ms
    line = _aa_line(second, first)
    assert "p50= 0.500" in line and "minus the first" in line
    note = _aa_note(second, first)
    assert note.startswith("A/A control") and "p50 +0.500" in note
