"""Where the proxy's event loop spends its time under load: running, idle while a ledger commit
is pending, idle otherwise — the guard against the relay.

    python -m bench.proxy_idle [--quick] [--rounds R] [--seconds S] [--concurrency 16 64]

The throughput of one serving process is bounded by its event-loop thread: requests a second
are the loop's busy share over its CPU time a request. The relay's loop is busy all the time
under bench_proxy's load; whatever share the guard's loop sits idle is throughput it leaves
unused. The guard waits for one thing the relay does not: a non-streamed reply is released only
once its decision record is committed, fsync included, by the ledger's writer process.

This runs bench_proxy's two servers (`--serve guard`, `--serve passthrough`) against one
scripted upstream, loaded in turn by bench_proxy's client, R rounds of S seconds at each
concurrency, the order rotating each round. Each server runs with `bench/_probe` on its path,
whose `sitecustomize` installs `bench.loop_probe`: around each round the server is asked
(SIGUSR1) for its loop thread's CPU time over the wall time, and for how long records waited for
their commit, with the loop's CPU time meanwhile. Reported per server and concurrency, medians
over the rounds: requests/s, the loop's busy share, the share of the time a commit was pending,
and the loop's idle share while one was pending and while none was.

A diagnostic, like `bench.proxy_breakdown`: no target, and the probe's own cost (a wrapper
around each hand-over to the writer and each answer from it, two clock reads when a commit starts
and ends) is in the guard's figures. Measured figures: docs/benchmarks.md,
"Proxy", eighteenth round.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from bench.bench_proxy import REPLY, _free_port, _throughput, _wait
from bench.common import REPO_ROOT
from bench.loop_probe import Window
from bench.proxy_ab import Server, _spawn, _stop, start_upstream

__all__ = ["PROBE", "Round", "main", "run"]

PROBE = Path(__file__).resolve().parent / "_probe"
Round = tuple[float, Window]  # requests/s, and the server's window of that round


def _window(pid: int, out: Path, timeout: float = 10.0) -> Window:
    """Ask server `pid` for the window since its previous one; wait for its line in `out`."""
    before = out.read_text(encoding="utf-8").count("\n") if out.exists() else 0
    os.kill(pid, signal.SIGUSR1)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if out.exists():
            lines = out.read_text(encoding="utf-8").splitlines()
            if len(lines) > before:
                return Window.from_json(json.loads(lines[before]))
        time.sleep(0.01)
    raise RuntimeError(f"server {pid} did not answer the probe")


def run(*, concurrencies: tuple[int, ...], rounds: int, seconds: float) -> dict[tuple[str, int], list[Round]]:
    """Every round's requests/s and loop window, by (server, concurrency)."""
    results: dict[tuple[str, int], list[Round]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-idle-") as tmp, ExitStack() as stack:
        folder = Path(tmp)
        procs: list[subprocess.Popen[bytes]] = []
        stack.callback(_stop, procs)
        upstream = start_upstream(folder, {"bench": REPLY}, procs)
        servers = [Server("relay", relay=True), Server("guard")]
        where: dict[str, tuple[str, int, Path]] = {}
        for i, server in enumerate(servers):
            out = folder / f"probe-{i}.jsonl"
            server.env = {"PYTHONPATH": f"{PROBE}{os.pathsep}{REPO_ROOT}", "BENCH_PROBE_OUT": str(out)}
            port = _free_port()
            proc = _spawn(server, port, upstream, folder / f"ledger-{i}.db")
            procs.append(proc)
            _wait(f"http://127.0.0.1:{port}" + ("/docs" if server.relay else "/healthz"), proc)
            where[server.name] = (f"http://127.0.0.1:{port}/v1/chat/completions", proc.pid, out)
        for conc in concurrencies:
            for url, _, _ in where.values():  # warm-up
                asyncio.run(_throughput(url, conc, 0.5))
            for r in range(rounds):
                for server in servers[r % len(servers):] + servers[: r % len(servers)]:
                    url, pid, out = where[server.name]
                    _window(pid, out)  # ends the window of whatever ran before
                    rate, _ = asyncio.run(_throughput(url, conc, seconds))
                    results.setdefault((server.name, conc), []).append((rate, _window(pid, out)))
    return results


def _pct(x: float) -> str:
    return f"{x * 100:5.1f} %"


def report(results: dict[tuple[str, int], list[Round]], seconds: float) -> None:
    for conc in sorted({c for _, c in results}):
        rows = [(name, rs) for (name, c), rs in results.items() if c == conc]
        print(f"\nconcurrency {conc}: {len(rows[0][1])} rounds of {seconds:g} s each, medians over the rounds")
        print(f"  {'server':<7} {'requests/s':>10} {'loop busy':>10} {'commit pending':>15} "
              f"{'loop idle then':>15} {'loop idle otherwise':>20}")
        for name, rs in rows:
            windows = [w for _, w in rs]
            rate = statistics.median(r for r, _ in rs)
            busy = statistics.median(w.busy for w in windows)
            if any(w.commits for w in windows):
                pending = _pct(statistics.median(w.pending for w in windows))
                idle_then = _pct(statistics.median(w.idle_pending for w in windows))
            else:
                pending = idle_then = "—"
            idle_else = statistics.median(w.idle_otherwise for w in windows)
            print(f"  {name:<7} {rate:10.0f} {_pct(busy):>10} {pending:>15} {idle_then:>15} {_pct(idle_else):>20}")


def main(argv: list[str] | None = None) -> dict[tuple[str, int], list[Round]]:
    parser = argparse.ArgumentParser(prog="python -m bench.proxy_idle", description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrency", type=int, nargs="+", default=[16, 64])
    parser.add_argument("--rounds", type=int, default=None, help="rounds per concurrency (default 4, 2 with --quick)")
    parser.add_argument("--seconds", type=float, default=None, help="seconds a server is loaded a round (default 4, 2 with --quick)")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    seconds = args.seconds or (2.0 if args.quick else 4.0)
    results = run(concurrencies=tuple(args.concurrency), rounds=args.rounds or (2 if args.quick else 4), seconds=seconds)
    report(results, seconds)
    return results


if __name__ == "__main__":
    main()
