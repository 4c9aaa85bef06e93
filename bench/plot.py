"""The benchmark summary as a picture: latency per check against target and baseline, throughput.

Left: one row per latency figure, log scale — the guard's p50 (dot) to p99 (bar end), its
baseline from the same run in grey, the target's p99 bound as a red tick. Right: throughput
figures against their baseline and floor.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.ticker import FuncFormatter, NullFormatter

from bench.common import Headline

__all__ = ["plot"]

_TO_US = {"µs": 1.0, "ms": 1000.0}
_BOX = {"facecolor": "white", "edgecolor": "none", "pad": 0.3, "alpha": 0.8}
_COLOR = {True: "#2e7d32", False: "#c62828", None: "#1565c0"}


def _time_label(us: float, _pos: object = None) -> str:
    if us >= 1e6:
        return f"{us / 1e6:.3g} s"
    if us >= 1e3:
        return f"{us / 1e3:.3g} ms"
    return f"{us:.3g} µs"


def _rate_label(x: float, _pos: object = None) -> str:
    return f"{x / 1000:.3g}k/s" if x >= 1000 else f"{x:.3g}/s"


def plot(rows: Sequence[Headline], path: Path, title: str) -> None:
    """Draw `rows` to a PNG at `path`."""
    lat = [h for h in rows if h.p50 is not None and h.p99 is not None and h.unit in _TO_US and h.min_per_s is None]
    thr = [h for h in rows if h.per_s is not None and (h.min_per_s is not None or h.area == "policy reload")]
    heights = [max(1.0, 0.42 * len(lat)), max(1.0, 0.42 * len(thr))]
    fig, (ax, ax2) = plt.subplots(
        2, 1, figsize=(12, sum(heights) + 2.2), gridspec_kw={"height_ratios": heights}, constrained_layout=True
    )
    labels = []
    for i, h in enumerate(reversed(lat)):
        k = _TO_US[h.unit]
        assert h.p50 is not None and h.p99 is not None
        y = i
        if h.base_p50 is not None and h.base_p99 is not None:
            ax.plot([h.base_p50 * k, h.base_p99 * k], [y - 0.22] * 2, color="#9e9e9e", lw=4, solid_capstyle="butt")
            ax.plot([h.base_p50 * k], [y - 0.22], "o", color="#616161", ms=4)
            ax.annotate(h.baseline or "", (h.base_p99 * k, y - 0.22), xytext=(4, 0), textcoords="offset points",
                        va="center", fontsize=7, color="#616161", bbox=_BOX)
        ax.plot([h.p50 * k, h.p99 * k], [y + 0.12] * 2, color=_COLOR[h.met], lw=7, solid_capstyle="butt")
        ax.plot([h.p50 * k], [y + 0.12], "o", color="white", ms=4, mec=_COLOR[h.met])
        ax.annotate(f"p99 {_time_label(h.p99 * k)}", (h.p99 * k, y + 0.12), xytext=(4, 0),
                    textcoords="offset points", va="center", fontsize=7, color=_COLOR[h.met], bbox=_BOX)
        if h.limit is not None:
            ax.plot([h.limit * k] * 2, [y - 0.42, y + 0.42], color="#d50000", lw=2)
        labels.append(f"{h.area}: {h.what}")
    ax.set_yticks(range(len(lat)), labels, fontsize=8.5)
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(FuncFormatter(_time_label))
    ax.grid(axis="x", which="major", color="#e0e0e0")
    ax.set_xlabel("time per call, log scale (bar: p50 dot → p99 end)")
    ax.set_title("Latency: guard (green met / red not met / blue no target), baseline grey, target p99 red |",
                 fontsize=10)
    ax.set_ylim(-0.7, len(lat) - 0.3)

    if not thr:
        ax2.set_axis_off()
    names = []
    for i, h in enumerate(reversed(thr)):
        assert h.per_s is not None
        if h.base_per_s is not None:
            ax2.barh(i - 0.2, h.base_per_s, height=0.35, color="#bdbdbd")
        ax2.barh(i + 0.2, h.per_s, height=0.35, color=_COLOR[h.met])
        if h.min_per_s is not None:
            ax2.plot([h.min_per_s] * 2, [i - 0.45, i + 0.45], color="#d50000", lw=2)
        ax2.annotate(_rate_label(h.per_s), (h.per_s, i + 0.2), xytext=(3, 0), textcoords="offset points",
                     va="center", fontsize=7, color=_COLOR[h.met])
        names.append(f"{h.area}: {h.what}")
    ax2.set_yticks(range(len(thr)), names, fontsize=8.5)
    ax2.set_xscale("log")
    ax2.xaxis.set_major_formatter(FuncFormatter(_rate_label))
    ax2.xaxis.set_minor_formatter(NullFormatter())
    ax2.grid(axis="x", which="major", color="#e0e0e0")
    ax2.set_xlabel("per second, log scale")
    ax2.set_title("Throughput: guard (colour as above), baseline grey, target floor red |", fontsize=10)
    fig.suptitle(title, fontsize=11)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
