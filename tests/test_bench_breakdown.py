"""`python -m bench.proxy_breakdown`: the guard's service path in process, with parts switched off."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.proxy_breakdown import VARIANTS, _build, evaluate_alone, main, run
from guard.engine import evaluate


def test_every_variant_is_measured_and_switching_parts_off_costs_less() -> None:
    result = run(requests=400, rounds=1, concurrency=8)
    assert set(result.rounds) == set(VARIANTS)
    assert all(len(r) == 1 and r[0] > 0 for r in result.rounds.values())
    full = result.median("full")
    # The checks and the audit are most of the guard's own work (≈ 110 and ≈ 55 of ≈ 170 µs here):
    # far apart enough to hold in one short round.
    assert result.median("neither") < result.median("no checks") < full
    assert result.median("neither") < full / 2


def test_the_no_checks_variant_swaps_the_services_evaluate_for_its_rounds_only(tmp_path: Path) -> None:
    variant = _build("no checks", tmp_path)
    service = variant.app.state.service
    try:
        assert service.evaluate is evaluate
        with variant.patch():
            assert service.evaluate is not evaluate
        assert service.evaluate is evaluate
    finally:
        variant.app.state.auditor.close()


def test_evaluate_alone_names_each_check() -> None:
    per_call, checks = evaluate_alone(200)
    assert per_call > 0
    assert {"facts", "lexicon", "pii", "length"} <= set(checks)
    assert sum(checks.values()) < per_call  # the checks are part of the call


def test_main_prints_a_row_per_variant(capsys: pytest.CaptureFixture[str]) -> None:
    main(["--quick", "--requests", "160", "--rounds", "1", "--concurrency", "4"])
    out = capsys.readouterr().out
    for name in VARIANTS:
        assert f"\n{name} " in out
    assert "evaluate() alone" in out
