"""Every benchmark in one command: `python -m bench [--quick] [--only facts,pii] [--json F] [--plot F]`.

Runs bench_facts, bench_lexicon, bench_pii, bench_engine, bench_proxy, bench_ledger and
bench_policy_reload in this process, one after the other (each prints its own figures and its
baselines, measured in the same run), then a summary of the headline figures — measured,
baseline, ratio, target, met? — written as JSON (default var/bench/latest.json) and drawn as a
PNG (default docs/img/benchmarks.png; needs matplotlib, a dev extra). `--quick` is passed to
every benchmark (smaller samples). Exit status 1 if a benchmark failed to run.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import os
import platform
import sys
import time
import traceback
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import HEADLINES, REPO_ROOT, Headline, cpu_ticks, steal_note, steal_share

MODULES = ("facts", "lexicon", "pii", "engine", "proxy", "ledger", "policy_reload")


def _machine() -> dict[str, Any]:
    mem = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.0f} GiB"
    except OSError:
        pass
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    from guard.native import status as native_status

    return {
        "check_modules": native_status().describe(),
        "cpus": os.cpu_count(),
        "cpu": cpu or platform.processor(),
        "memory": mem,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average_at_start": [round(x, 2) for x in load],
    }


def _summary_table(rows: Sequence[Headline]) -> str:
    """A markdown table of the headline figures (readable as plain text too)."""
    lines = [
        "| area | what | measured | baseline (same run) | ratio to baseline | target | met? |",
        "|---|---|---|---|---|---|---|",
    ]
    for h in rows:
        met = {True: "yes", False: "**no**", None: "—"}[h.met]
        lines.append(f"| {h.area} | {h.what} | {h.measured()} | {h.base()} | {h.ratios()} | {h.target} | {met} |")
    return "\n".join(lines)


def run(modules: Sequence[str], quick: bool) -> tuple[list[Headline], dict[str, Any]]:
    """Run the benchmarks; returns the headline figures and per-module status and seconds."""
    status: dict[str, Any] = {}
    HEADLINES.clear()
    argv = ["--quick"] if quick else []
    for name in modules:
        print(f"\n{'=' * 100}\n== bench.bench_{name} {' '.join(argv)}\n{'=' * 100}", flush=True)
        t0, ticks0 = time.perf_counter(), cpu_ticks()
        try:
            module = importlib.import_module(f"bench.bench_{name}")
            module.main(argv)
            ok, error = True, None
        except (Exception, SystemExit) as exc:  # one broken benchmark must not hide the others
            traceback.print_exc()
            ok, error = False, f"{type(exc).__name__}: {exc}"
        seconds = time.perf_counter() - t0
        steal = steal_share(ticks0, cpu_ticks())
        status[name] = {"ok": ok, "seconds": round(seconds, 1), "error": error,
                        "steal_share": None if steal is None else round(steal, 4)}
        print(f"-- bench_{name}: {'done' if ok else 'FAILED'} in {seconds:.0f} s{'; ' + steal_note(steal) if steal is not None else ''}", flush=True)
    return list(HEADLINES), status


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--quick", action="store_true", help="smaller samples in every benchmark")
    ap.add_argument("--only", help=f"comma list of benchmarks to run (default all: {','.join(MODULES)})")
    ap.add_argument("--json", default=str(REPO_ROOT / "var" / "bench" / "latest.json"), help="where the summary goes")
    ap.add_argument("--plot", default=str(REPO_ROOT / "docs" / "img" / "benchmarks.png"),
                    help="where the PNG goes ('' for none)")
    args = ap.parse_args(argv)
    modules = MODULES if not args.only else tuple(m.strip() for m in args.only.split(",") if m.strip())
    unknown = set(modules) - set(MODULES)
    if unknown:
        ap.error(f"unknown benchmarks: {sorted(unknown)}")
    started = datetime.now(UTC)
    machine = _machine()
    print(f"python -m bench{' --quick' if args.quick else ''} — {started:%Y-%m-%d %H:%M} UTC, {machine['cpus']} CPUs "
          f"({machine['cpu']}), {machine['memory']}, Python {machine['python']}, load average "
          f"{machine['load_average_at_start']} (a shared machine: other jobs run beside these benchmarks); "
          f"check modules {machine['check_modules']}")
    t0, ticks0 = time.perf_counter(), cpu_ticks()
    rows, status = run(modules, args.quick)
    elapsed = time.perf_counter() - t0
    steal = steal_share(ticks0, cpu_ticks())

    table = _summary_table(rows)
    print(f"\n{'=' * 100}\nSummary — {len(rows)} headline figures, {elapsed:.0f} s in all{'; ' + steal_note(steal) if steal is not None else ''}\n{table}")
    failed = [m for m, s in status.items() if not s["ok"]]
    if failed:
        print(f"\nFAILED to run: {', '.join(failed)}")
    report = {
        "command": "python -m bench" + (" --quick" if args.quick else "") + (f" --only {args.only}" if args.only else ""),
        "started_utc": started.isoformat(timespec="seconds"),
        "seconds": round(elapsed, 1),
        "steal_share": None if steal is None else round(steal, 4),
        "machine": machine,
        "benchmarks": status,
        "headlines": [dataclasses.asdict(h) for h in rows],
        "summary_markdown": table,
    }
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {out}")
    if args.plot:
        try:
            from bench.plot import plot
        except ImportError as exc:  # matplotlib is a dev extra
            print(f"no plot: {exc}")
        else:
            title = f"{report['command']} — {started:%Y-%m-%d %H:%M} UTC, {machine['cpus']} shared CPUs"
            plot(rows, Path(args.plot), title)
            print(f"wrote {args.plot}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
