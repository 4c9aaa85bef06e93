"""`python -m bench.proxy_idle` and its probe: where the proxy's event loop spends its time."""

from __future__ import annotations

import pytest

from bench.loop_probe import LoopClock, Window
from bench.proxy_idle import main


class _Clocks:
    """A wall clock and a CPU clock the test moves by hand."""

    def __init__(self) -> None:
        self.wall = 100.0
        self.cpu = 10.0

    def advance(self, wall: float, cpu: float) -> None:
        self.wall += wall
        self.cpu += cpu


def _clock() -> tuple[LoopClock, _Clocks]:
    t = _Clocks()
    return LoopClock(wall=lambda: t.wall, cpu=lambda: t.cpu), t


def test_a_window_splits_the_idle_time_by_whether_a_commit_was_pending() -> None:
    clock, t = _clock()
    t.advance(2.0, 1.5)  # busy 1.5 of 2 s, nothing pending
    clock.pending_starts()
    t.advance(1.0, 0.25)  # a commit pending for 1 s, the loop busy a quarter of it
    clock.pending_starts()  # another record while one waits: the same stretch
    t.advance(1.0, 0.75)
    clock.pending_ends()
    w = clock.window()
    assert w == Window(wall=4.0, loop_cpu=2.5, pending_wall=2.0, pending_cpu=1.0, commits=1)
    assert w.busy == pytest.approx(0.625)
    assert w.pending == pytest.approx(0.5)
    assert w.idle_pending == pytest.approx(0.25)  # 1 s of the 2 pending
    assert w.idle_otherwise == pytest.approx(0.125)  # 0.5 s of the 2 not pending
    assert w.busy + w.idle_pending + w.idle_otherwise == pytest.approx(1.0)


def test_a_pending_stretch_across_two_windows_is_split_between_them() -> None:
    clock, t = _clock()
    clock.pending_starts()
    t.advance(1.0, 0.5)
    first = clock.window()
    t.advance(3.0, 1.0)
    clock.pending_ends()
    t.advance(1.0, 1.0)
    second = clock.window()
    assert (first.wall, first.pending_wall, first.pending_cpu, first.commits) == (1.0, 1.0, 0.5, 0)
    assert (second.wall, second.pending_wall, second.pending_cpu, second.commits) == (4.0, 3.0, 1.0, 1)
    assert clock.window() == Window(0.0, 0.0, 0.0, 0.0, 0)  # nothing carried over


def test_an_answer_with_nothing_pending_is_not_a_commit() -> None:
    clock, t = _clock()
    t.advance(1.0, 1.0)
    clock.pending_ends()
    assert clock.window().commits == 0


def test_a_window_survives_its_json_line() -> None:
    w = Window(4.0, 2.5, 2.0, 1.0, 7)
    assert Window.from_json(w.to_json()) == w


def test_a_short_run_probes_both_servers(capsys: pytest.CaptureFixture[str]) -> None:
    results = main(["--concurrency", "4", "--rounds", "1", "--seconds", "0.5"])
    assert set(results) == {("relay", 4), ("guard", 4)}
    (relay_rate, relay), = results[("relay", 4)]
    (guard_rate, guard), = results[("guard", 4)]
    assert relay_rate > 0 and guard_rate > 0
    assert relay.commits == 0 and relay.pending_wall == 0.0  # the relay has no ledger
    assert guard.commits > 0 and 0.0 < guard.pending_wall < guard.wall  # the guard waits for commits
    assert 0.5 <= guard.wall < 5.0 and 0.0 < guard.busy <= 1.05
    out = capsys.readouterr().out
    assert "concurrency 4" in out and "loop idle then" in out
