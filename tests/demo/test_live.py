"""`guard demo`: the live run through the real proxy, its table, its ledger, and its clean-up."""

from __future__ import annotations

import io
import threading
from pathlib import Path

import pytest

from guard.demo import live
from guard.demo.live import CASES, DemoResult, run_live_demo

# scenario → (decision, violation codes, regenerations, what the customer hears contains)
EXPECTED = {
    "correct": ("allow", [], 0, "您的4000元额度"),
    "wrong_surname": ("revise", ["fact.name"], 0, "张先生您好"),
    "wrong_amount_chinese": ("revise", ["fact.credit_line"], 0, "四千元"),
    "spaced_banned_word": ("block", ["lexicon.tier3"], 0, "稍后由专员"),
    "id_number": ("revise", ["pii.id_card"], 0, "110105********002X"),
    "long_sentence": ("revise", ["length.sentence"], 0, "刘先生您好。"),
    "coupon_not_held": ("block", ["fact.coupon"], 2, "稍后由专员"),
    "coupon_regenerated": ("allow", [], 1, "30天免息券"),
}


def _demo_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name in ("scripted-upstream", "guard-server")]


_BEFORE: set[threading.Thread] = set()


@pytest.fixture(scope="module")
def run() -> tuple[DemoResult, str]:
    # Other tests' session-scoped servers use the same thread names: only new threads count.
    _BEFORE.update(_demo_threads())
    out = io.StringIO()
    return run_live_demo(out), out.getvalue()


@pytest.fixture
def result(run: tuple[DemoResult, str]) -> DemoResult:
    return run[0]


def test_every_scenario_ends_as_expected(result: DemoResult) -> None:
    assert [r.case.name for r in result.rows] == list(EXPECTED)
    for row in result.rows:
        decision, codes, regenerations, heard = EXPECTED[row.case.name]
        assert (row.decision, row.codes, row.regenerations) == (decision, codes, regenerations), row.case.name
        assert heard in row.released, row.case.name
    assert result.ok


def test_streamed_and_plain_requests_and_both_record_sources_are_used() -> None:
    kinds = {(c.stream, c.inline) for c in CASES}
    assert kinds == {(True, True), (True, False), (False, True), (False, False)}


def test_actions_come_from_the_ledger(result: DemoResult) -> None:
    actions = {r.case.name: r.actions for r in result.rows}
    assert actions["wrong_amount_chinese"] == ["fix"]
    assert actions["spaced_banned_word"] == ["block"]
    assert actions["id_number"] == ["mask"]
    assert actions["long_sentence"] == ["truncate"]
    assert actions["coupon_not_held"] == ["regenerate"]


def test_output_has_progress_table_and_a_verified_audit_trail(run: tuple[DemoResult, str]) -> None:
    result, printed = run
    assert result.table in printed
    assert f"[{len(CASES)}/{len(CASES)}]" in printed
    for case in CASES:
        assert case.title in printed
    assert "guard 要求重写" in printed  # the correction sent to the model is shown
    streamed = sum(c.stream for c in CASES)  # a stream has its open record and its final record
    assert result.verify_ok and result.verify_output.startswith(f"OK: {len(CASES) + streamed} records, chain intact")
    rows = [ln.split() for ln in result.query_output.splitlines() if ln[:1].isdigit()]
    assert len(rows) == len(CASES) + streamed
    assert sum(row[3] == "open" for row in rows) == streamed  # seq, date, trace_id, decision, …
    assert "11010519491231002X" not in result.query_output  # the ledger view never shows raw PII


def test_servers_are_stopped_and_the_temporary_folder_removed(result: DemoResult) -> None:
    assert result.workdir is not None and not result.workdir.exists()
    assert [t for t in _demo_threads() if t not in _BEFORE] == []


def test_ctrl_c_mid_run_stops_everything(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    calls = 0
    real = live._ask

    def interrupted(*args: object) -> object:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise KeyboardInterrupt
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(live, "_ask", interrupted)
    before = set(_demo_threads())
    with pytest.raises(KeyboardInterrupt):
        run_live_demo(io.StringIO(), workdir=tmp_path / "demo")
    assert [t for t in _demo_threads() if t not in before] == []
    assert (tmp_path / "demo" / "ledger.db").exists()  # a kept folder stays, with what was recorded
