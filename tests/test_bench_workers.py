"""`python -m bench.bench_workers`: `guard serve --workers N` against one worker, as an operator runs them."""

from __future__ import annotations

import pytest

from bench.bench_workers import CONCURRENCY, main


def test_both_servers_answer_at_each_concurrency(capsys: pytest.CaptureFixture[str]) -> None:
    result = main(["--workers", "2", "--rounds", "1", "--seconds", "0.5"])
    assert set(result) == {(n, c) for n in (1, 2) for c in CONCURRENCY}
    assert all(len(rates) == 1 and rates[0] > 0 for rates in result.values())
    out = capsys.readouterr().out
    assert "concurrency 16: 1 worker" in out and "concurrency 64: 1 worker" in out


def test_one_worker_is_the_baseline_not_a_variant() -> None:
    with pytest.raises(SystemExit):
        main(["--workers", "1"])
