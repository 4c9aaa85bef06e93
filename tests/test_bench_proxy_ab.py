"""`python -m bench.proxy_ab`: guards side by side with one relay, in the same rounds."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.bench_proxy import RECORD
from bench.common import SHARED_DATA
from bench.proxy_ab import Server, _report, check_variants, main, varied_replies
from guard.engine import evaluate
from guard.policy import load_policy_set
from guard.policy.dates import business_today
from guard.policy.loader import DEFAULT_POLICY_DIR
from guard.types import CustomerRecord


def _default_checks(folder: Path) -> dict[str, object]:
    policy = load_policy_set(folder).select(None, None, today=business_today())
    return {check.name: check for check in policy.checks}


def test_check_variants_drop_one_check_each(tmp_path: Path) -> None:
    shipped = _default_checks(DEFAULT_POLICY_DIR)
    variants = check_variants(DEFAULT_POLICY_DIR, tmp_path)
    assert set(variants) == {f"without {name}" for name in shipped} | {"without person names", "without any check"}
    for name in shipped:
        assert set(_default_checks(variants[f"without {name}"])) == set(shipped) - {name}
    assert _default_checks(variants["without any check"]) == {}
    person_off = _default_checks(variants["without person names"])
    assert set(person_off) == set(shipped)
    assert "CN_PERSON" not in person_off["pii"].analyzer.entities  # type: ignore[attr-defined]
    assert "CN_MOBILE" in person_off["pii"].analyzer.entities  # type: ignore[attr-defined]


def test_varied_replies_are_different_and_let_through() -> None:
    if not (SHARED_DATA / "afqmc" / "dev.csv").exists():
        pytest.skip("AFQMC dev.csv absent from the shared data")
    replies = varied_replies(8)
    assert len(replies) == len(set(replies)) == 8
    policy = load_policy_set(None).select(None, None, today=business_today())
    record = CustomerRecord.model_validate(RECORD)
    assert all(evaluate(policy, record, text, model_in_loop=True).decision.value == "allow" for text in replies)


def test_a_short_run_loads_the_relay_and_this_guard(capsys: pytest.CaptureFixture[str]) -> None:
    servers = main(["--rounds", "1", "--seconds", "0.3", "--ledger-normal"])
    assert [s.name for s in servers] == ["relay", "HEAD", "ledger sync=normal"]
    assert servers[2].env == {"GUARD_LEDGER_SYNC": "normal"}
    assert all(len(s.rates) == 1 and s.rates[0] > 0 and s.cpu_ms[0] > 0 for s in servers)
    out = capsys.readouterr().out
    assert "of the relay" in out
    if Path("/proc/stat").exists():  # one round: its steal is reported
        assert "steal in each round: " in out and "(mean " in out


def test_the_report_gives_the_steal_of_each_round(capsys: pytest.CaptureFixture[str]) -> None:
    relay, guard = Server("relay", relay=True, rates=[100.0, 90.0], cpu_ms=[1.0, 1.0]), Server("HEAD", rates=[70.0, 63.0], cpu_ms=[1.4, 1.5])
    _report([relay, guard], 16, [0.004, None, 0.125])
    out = capsys.readouterr().out
    assert "70.0% of the relay" in out
    assert "steal in each round: 0.4% 12.5% (mean 6.5%)" in out
    _report([relay, guard], 16, [None])
    assert "steal" not in capsys.readouterr().out
