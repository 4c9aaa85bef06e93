"""Throughput of `guard serve --workers N` against one worker, on this machine.

    python -m bench.bench_workers [--workers N] [--rounds R] [--seconds S]

Starts the scripted upstream and two `guard serve` commands as an operator runs them (the shipped
policies, auth on, a durable SQLite ledger each, bench_proxy's reply and record): one with a
single worker — the baseline — and one with N (default 2). Both are loaded with bench_proxy's
keep-alive client at concurrency 16 and 64, R rounds of S seconds each, the two servers
alternating within a round; the figure is the median round. Everything shares this machine's
cores (the client, the upstream and the ledger writers too), so N workers cannot answer N times
as much here; on a machine with a core per worker and the model elsewhere they come closer.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.bench_proxy import KEY, REPLY, _free_port, _spawn, _throughput, _wait

__all__ = ["main", "run"]

CONCURRENCY = (16, 64)


def _serve(workers: int, port: int, upstream: str, folder: Path) -> subprocess.Popen[bytes]:
    cfg = folder / "guard.yaml"
    cfg.write_text(f"crm_source: none\napi_keys:\n  - {{name: bench, key: {KEY}, role: caller}}\n", encoding="utf-8")
    env = {**os.environ, "GUARD_LEDGER": str(folder / f"ledger-{workers}.db")}
    return subprocess.Popen(
        [sys.executable, "-m", "guard.cli", "serve", "--config", str(cfg), "--port", str(port),
         "--upstream", upstream, "--workers", str(workers), "--log-level", "warning"],
        env=env, stdout=subprocess.DEVNULL,
    )


def run(workers: int = 2, rounds: int = 5, seconds: float = 2.0) -> dict[tuple[int, int], list[float]]:
    """Requests/s of each round, per (workers, concurrency): the one-worker server and the N-worker one."""
    with tempfile.TemporaryDirectory(prefix="bench-workers-") as tmp:
        folder = Path(tmp)
        scenarios = folder / "scenarios.json"
        scenarios.write_text(json.dumps({"bench": REPLY}, ensure_ascii=False), encoding="utf-8")
        up_port = _free_port()
        upstream = f"http://127.0.0.1:{up_port}/v1"
        procs = [_spawn(["-m", "guard.testing.scripted_upstream", "--scenarios", str(scenarios), "--port", str(up_port)])]
        try:
            _wait(upstream + "/models", procs[0])
            urls: dict[int, str] = {}
            for n in (1, workers):
                (folder / str(n)).mkdir()
                port = _free_port()
                procs.append(_serve(n, port, upstream, folder / str(n)))
                urls[n] = f"http://127.0.0.1:{port}"
            for proc, url in zip(procs[1:], urls.values(), strict=True):
                _wait(url + "/readyz", proc)
            time.sleep(1.0)  # every worker started (the supervisor answers /readyz from the first)
            chat = {n: url + "/v1/chat/completions" for n, url in urls.items()}
            for url in chat.values():  # warm-up: connections, first-call costs in each worker
                asyncio.run(_throughput(url, max(CONCURRENCY), 1.0))
            result: dict[tuple[int, int], list[float]] = {(n, c): [] for n in chat for c in CONCURRENCY}
            for r in range(rounds):
                for c in CONCURRENCY:
                    order = list(chat) if r % 2 == 0 else list(reversed(chat))
                    for n in order:
                        rate, _ = asyncio.run(_throughput(chat[n], c, seconds))
                        result[(n, c)].append(rate)
            return result
        finally:
            for proc in reversed(procs):
                proc.terminate()
            for proc in procs:
                proc.wait(60)


def main(argv: list[str] | None = None) -> dict[tuple[int, int], list[float]]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workers", type=int, default=2, help="worker processes of the server compared (default 2)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=2.0, help="length of each round per server")
    args = ap.parse_args(argv)
    if args.workers < 2:
        ap.error("--workers must be 2 or more (one worker is the baseline)")
    print(f"guard serve --workers {args.workers} against --workers 1; {os.cpu_count()} CPUs; "
          f"{args.rounds} rounds of {args.seconds:g} s per server and concurrency (requests/s)")
    result = run(args.workers, args.rounds, args.seconds)
    for c in CONCURRENCY:
        one = statistics.median(result[(1, c)])
        many = statistics.median(result[(args.workers, c)])
        rounds = " ".join(f"{x:.0f}" for x in result[(args.workers, c)])
        print(f"concurrency {c}: 1 worker {one:7.0f}   {args.workers} workers {many:7.0f}   "
              f"ratio {many / one:.2f}x   (rounds: {rounds})")
    return result


if __name__ == "__main__":
    main()
