"""Small helpers shared by the benchmarks: timing, percentiles, the shared data folder."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path

__all__ = ["SHARED_DATA", "percentile", "summarize", "time_each"]

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("GUARD_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


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
