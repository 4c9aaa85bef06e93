"""Small helpers shared by the benchmarks: timing, percentiles, the shared data folder."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "HEADLINES", "SHARED_DATA", "CpuTicks", "Headline", "cpu_ticks", "headline", "latency_headline", "percentile",
    "steal_note", "steal_share", "summarize", "time_each",
]

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("GUARD_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


@dataclass(frozen=True)
class CpuTicks:
    """The whole machine's CPU time so far, in clock ticks: all of it, and the hypervisor's share."""

    total: int
    steal: int


def cpu_ticks(stat: str | None = None) -> CpuTicks | None:
    """The first line of `/proc/stat` (or of `stat`), summed; None where there is no such file.

    Its fields are user, nice, system, idle, iowait, irq, softirq, steal, guest, guest_nice;
    guest time is already counted in user time, so it is left out of the total.
    """
    if stat is None:
        try:
            stat = Path("/proc/stat").read_text()
        except OSError:
            return None
    fields = stat.split("\n", 1)[0].split()
    if not fields or fields[0] != "cpu" or len(fields) < 9:
        return None
    ticks = [int(x) for x in fields[1:9]]
    return CpuTicks(total=sum(ticks), steal=ticks[7])


def steal_share(before: CpuTicks | None, after: CpuTicks | None) -> float | None:
    """The share of the machine's CPU time the hypervisor took between two readings (steal).

    On a shared VM this is what the benchmarks cannot control: the vCPUs are not running while
    another guest runs, which shows as stalls of a few ms in the p99s of both the guard and its
    baseline. None when unknown.
    """
    if before is None or after is None or after.total <= before.total:
        return None
    return (after.steal - before.steal) / (after.total - before.total)


def steal_note(steal: float | None) -> str:
    """`steal_share` as words for a benchmark's output ("" when unknown)."""
    return "" if steal is None else f"the hypervisor took {steal:.1%} of the machine's CPU time (steal)"


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) by nearest rank."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


def time_each(fn: Callable[[str], object], inputs: Sequence[str], repeat: int = 1) -> list[float]:
    """Seconds per call of `fn` on each input (after one warm-up pass)."""
    for x in inputs[: min(50, len(inputs))]:
        fn(x)
    out = []
    clock = time.perf_counter
    for _ in range(repeat):
        for x in inputs:
            t0 = clock()
            fn(x)
            out.append(clock() - t0)
    return out


def summarize(label: str, seconds: Sequence[float]) -> str:
    us = [s * 1e6 for s in seconds]
    return (
        f"{label:<40} n={len(us):>7}  p50={percentile(us, 50):8.1f} µs  p99={percentile(us, 99):8.1f} µs"
        f"  mean={statistics.fmean(us):8.1f} µs"
    )


# -- headline figures, collected by `python -m bench` -------------------------------------------

@dataclass
class Headline:
    """One headline figure of a benchmark, with its baseline from the same run and its target.

    Latencies are in `unit` (µs or ms); `limit` is the p99 bound the target sets (absolute, or the
    baseline's p99 plus an allowed addition) and `min_per_s` a throughput floor.
    """

    area: str
    what: str
    unit: str = "µs"
    p50: float | None = None
    p99: float | None = None
    per_s: float | None = None
    baseline: str | None = None
    base_p50: float | None = None
    base_p99: float | None = None
    base_per_s: float | None = None
    target: str = "—"
    limit: float | None = None
    min_per_s: float | None = None
    met: bool | None = None
    note: str = ""

    def __post_init__(self) -> None:
        if self.met is None and self.limit is not None and self.p99 is not None:
            self.met = self.p99 <= self.limit
        if self.met is None and self.min_per_s is not None and self.per_s is not None:
            self.met = self.per_s >= self.min_per_s

    def ratios(self) -> str:
        """Guard against baseline: p50 and p99 ratios, or the throughput ratio."""
        parts = []
        if self.p50 is not None and self.base_p50:
            parts.append(f"p50 {self.p50 / self.base_p50:.2f}x")
        if self.p99 is not None and self.base_p99:
            parts.append(f"p99 {self.p99 / self.base_p99:.2f}x")
        if self.per_s is not None and self.base_per_s:
            parts.append(f"throughput {self.per_s / self.base_per_s:.0%}")
        return ", ".join(parts) or "—"

    def measured(self) -> str:
        parts = []
        if self.p50 is not None and self.p99 is not None:
            parts.append(f"p50 {_num(self.p50)} / p99 {_num(self.p99)} {self.unit}")
        if self.per_s is not None:
            parts.append(f"{_num(self.per_s)}/s")
        if self.note:
            parts.append(self.note)
        return "; ".join(parts)

    def base(self) -> str:
        if self.baseline is None:
            return "—"
        parts = []
        if self.base_p50 is not None and self.base_p99 is not None:
            parts.append(f"p50 {_num(self.base_p50)} / p99 {_num(self.base_p99)} {self.unit}")
        if self.base_per_s is not None:
            parts.append(f"{_num(self.base_per_s)}/s")
        return f"{self.baseline}: " + "; ".join(parts)

    def line(self) -> str:
        met = {True: "met", False: "NOT met", None: "no target"}[self.met]
        return (f"  >> {self.area} | {self.what}: {self.measured()} | baseline {self.base()} | ratio {self.ratios()}"
                f" | target {self.target}: {met}")


def _num(x: float) -> str:
    if abs(x) >= 100:
        return f"{x:,.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    return f"{x:.3g}" if abs(x) < 1 else f"{x:.2f}"


HEADLINES: list[Headline] = []


def headline(h: Headline) -> Headline:
    """Record a headline figure (for `python -m bench`) and print it."""
    HEADLINES.append(h)
    print(h.line())
    return h


def latency_headline(
    area: str,
    what: str,
    seconds: Sequence[float],
    *,
    baseline: str | None = None,
    base_seconds: Sequence[float] | None = None,
    unit: str = "µs",
    target: str = "—",
    limit: float | None = None,
    limit_added: float | None = None,
    with_rate: bool = True,
    note: str = "",
) -> Headline:
    """A headline from per-call seconds (throughput: calls per second of one thread, 1 / mean).

    `limit_added` sets the p99 bound to the baseline's p99 plus that much (an "adds at most" target).
    """
    scale = 1e6 if unit == "µs" else 1e3

    def stats(xs: Sequence[float]) -> tuple[float, float, float]:
        return percentile(xs, 50) * scale, percentile(xs, 99) * scale, len(xs) / sum(xs)

    p50, p99, per_s = stats(seconds)
    b50 = b99 = None
    rate: float | None = per_s if with_rate else None
    brate: float | None = None
    if base_seconds:
        b50, b99, b_per_s = stats(base_seconds)
        brate = b_per_s if with_rate else None
    if limit_added is not None and b99 is not None:
        limit = b99 + limit_added
    return headline(Headline(area, what, unit, p50, p99, rate, baseline, b50, b99, brate, target, limit, note=note))
