"""What a serving process's event loop does with its time: the probe behind `bench.proxy_idle`.

`bench.proxy_idle` starts its servers with `bench/_probe` first on their path; the
`sitecustomize` there calls `install` when `BENCH_PROBE_OUT` names a file. `install` wraps the
ledger writer channel's `submit` and `_answer` (`guard.audit.writer.WriterChannel`) so that a
`LoopClock` knows when a record handed over is waiting for its commit, and answers SIGUSR1 by
appending one JSON line to that file: the `Window` since the previous signal.

Python runs signal handlers on the main thread, which is the event loop's in a uvicorn server,
so `time.thread_time()` there is the loop thread's CPU time. A window's wall time minus that CPU
time is the time the loop was idle (waiting in `epoll`: for a socket, for the writer's answer).
Nothing here runs unless the probe is installed; the guard itself knows nothing of it.
"""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from types import FrameType
from typing import Any

__all__ = ["LoopClock", "Window", "install"]


@dataclass(frozen=True)
class Window:
    """One stretch of a server's life, in seconds."""

    wall: float
    loop_cpu: float  # the event-loop thread's CPU time
    pending_wall: float  # of `wall`: some record handed to the ledger writer waited for its commit
    pending_cpu: float  # the loop thread's CPU time during those stretches
    commits: int  # pending stretches that ended: every record handed over had its answer

    @property
    def busy(self) -> float:
        """The share of the wall time the loop thread was running."""
        return self.loop_cpu / self.wall

    @property
    def pending(self) -> float:
        """The share of the wall time a record waited for its commit."""
        return self.pending_wall / self.wall

    @property
    def idle_pending(self) -> float:
        """The share of the wall time the loop was idle while a record waited for its commit."""
        return max(0.0, self.pending_wall - self.pending_cpu) / self.wall

    @property
    def idle_otherwise(self) -> float:
        """The share of the wall time the loop was idle with no record waiting."""
        idle = max(0.0, self.wall - self.loop_cpu)
        return max(0.0, idle - max(0.0, self.pending_wall - self.pending_cpu)) / self.wall

    def to_json(self) -> dict[str, float | int]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Window:
        return cls(float(data["wall"]), float(data["loop_cpu"]), float(data["pending_wall"]),
                   float(data["pending_cpu"]), int(data["commits"]))


class LoopClock:
    """Wall and loop-thread CPU time, split by whether a record waits for its ledger commit."""

    def __init__(self, wall: Callable[[], float] = time.perf_counter, cpu: Callable[[], float] = time.thread_time) -> None:
        self._wall, self._cpu = wall, cpu
        self._start = (wall(), cpu())
        self._since: tuple[float, float] | None = None  # the start of the stretch now pending
        self._pending_wall = 0.0
        self._pending_cpu = 0.0
        self._commits = 0

    def pending_starts(self) -> None:
        """A record was handed over with none waiting before it."""
        if self._since is None:
            self._since = (self._wall(), self._cpu())

    def pending_ends(self) -> None:
        """Every record handed over has its answer."""
        if self._since is not None:
            self._pending_wall += self._wall() - self._since[0]
            self._pending_cpu += self._cpu() - self._since[1]
            self._since = None
            self._commits += 1

    def window(self) -> Window:
        """The stretch since the previous call (or since the start); the next one begins now.

        A pending stretch that spans the boundary is split between the two windows.
        """
        wall, cpu = self._wall(), self._cpu()
        pending_wall, pending_cpu = self._pending_wall, self._pending_cpu
        if self._since is not None:
            pending_wall += wall - self._since[0]
            pending_cpu += cpu - self._since[1]
            self._since = (wall, cpu)
        out = Window(wall - self._start[0], cpu - self._start[1], pending_wall, pending_cpu, self._commits)
        self._start = (wall, cpu)
        self._pending_wall = self._pending_cpu = 0.0
        self._commits = 0
        return out


def install(out: str) -> LoopClock:
    """Probe this process's ledger writer channels; on SIGUSR1 append the window to `out`."""
    from guard.audit.writer import WriterChannel

    clock = LoopClock()
    submit, answer = WriterChannel.submit, WriterChannel._answer

    def probed_submit(self: WriterChannel, line: bytes) -> Any:
        was_waiting = bool(self._waiters)
        fut = submit(self, line)
        if not was_waiting and self._waiters:
            clock.pending_starts()
        return fut

    def probed_answer(self: WriterChannel, data: bytes) -> None:
        answer(self, data)
        if not self._waiters:
            clock.pending_ends()

    WriterChannel.submit = probed_submit  # type: ignore[method-assign]
    WriterChannel._answer = probed_answer  # type: ignore[method-assign]

    def dump(signum: int, frame: FrameType | None) -> None:
        with open(out, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(clock.window().to_json()) + "\n")

    signal.signal(signal.SIGUSR1, dump)
    return clock
