"""Soak: a bounded run of `guard serve` under fixed concurrency against the scripted upstream.

    python -m bench.soak [--seconds 120] [--concurrency 16] [--interval 15]

Two subprocesses: the scripted upstream (`python -m guard.testing.scripted_upstream`) and
`guard serve` as an operator runs it (the shipped policies, auth on, the durable SQLite ledger
in a temporary folder, full sync). This process keeps `--concurrency` clients busy with a mix of
non-streamed and streamed completions whose replies are allowed, revised (PII masked) or blocked.
It reports, per interval: requests, errors, p50/p99 latency and the guard's resident memory;
and at the end: total errors (any non-200, a wrong decision, a stream without [DONE]), RSS at
start and end, and how much p99 moved between intervals (the first interval is the baseline).
Not part of pytest: it runs for minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.common import REPO_ROOT, percentile

KEY = "sk-soak"
RECORD = {"customer_id": "S1", "name": "张飞", "gender": "male", "credit_line": 4000, "phone": "13812345678"}
SCENARIOS = {
    "allow": "张先生您好，我是小安金融的客服。您的4000元额度已经审核通过了。欢迎随时在App里操作，感谢您的接听！",
    "revise": "张先生您好。您的朋友王小明，手机13912345678，也在用我们的产品。感谢您的接听！",
    "block": "张先生您好，这款产品稳赚不赔。欢迎办理！",
}
MIX = [(name, stream) for name in SCENARIOS for stream in (False, True)]


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(port: int, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing on port {port}")


def rss_mb(pid: int) -> float:
    """Resident set size of `pid` in MB (VmRSS)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@dataclass
class Interval:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    rss: float = 0.0


async def _one(client: httpx.AsyncClient, scenario: str, stream: bool) -> bool:
    body: dict[str, Any] = {"model": scenario, "messages": [{"role": "user", "content": "你好"}],
                            "stream": stream, "guard": {"record": RECORD}}
    if not stream:
        r = await client.post("/v1/chat/completions", json=body)
        return r.status_code == 200 and r.json()["guard"]["decision"] == scenario
    async with client.stream("POST", "/v1/chat/completions", json=body) as r:
        if r.status_code != 200:
            return False
        lines = [line async for line in r.aiter_lines() if line]
    if lines[-1] != "data: [DONE]":
        return False
    return bool(json.loads(lines[-2][5:])["guard"]["decision"] == scenario)


async def _load(url: str, pid: int, seconds: float, concurrency: int, interval: float) -> list[Interval]:
    intervals: list[Interval] = [Interval()]
    start = time.monotonic()
    end = start + seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, headers={"authorization": f"Bearer {KEY}"}, timeout=30,
                                 limits=limits) as client:

        async def worker(k: int) -> None:
            i = k
            while time.monotonic() < end:
                scenario, stream = MIX[i % len(MIX)]
                i += 1
                t0 = time.perf_counter()
                try:
                    ok = await _one(client, scenario, stream)
                except (httpx.HTTPError, KeyError, ValueError, IndexError):
                    ok = False
                cur = intervals[-1]
                cur.latencies.append(time.perf_counter() - t0)
                if not ok:
                    cur.errors += 1

        async def ticker() -> None:
            while time.monotonic() < end:
                await asyncio.sleep(min(interval, max(0.0, end - time.monotonic())))
                intervals[-1].rss = rss_mb(pid)
                if time.monotonic() < end:
                    intervals.append(Interval())

        await asyncio.gather(ticker(), *(worker(k) for k in range(concurrency)))
    if not intervals[-1].latencies:
        intervals.pop()
    return intervals


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak")
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--interval", type=float, default=15.0)
    args = parser.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="guard-soak-"))
    scenarios = tmp / "scenarios.json"
    scenarios.write_text(json.dumps(SCENARIOS, ensure_ascii=False), encoding="utf-8")
    up_port, guard_port = _free_port(), _free_port()
    env = {
        **os.environ,
        "GUARD_LEDGER": str(tmp / "ledger.db"),
        "GUARD_API_KEYS": json.dumps([{"name": "soak", "key": KEY, "role": "caller"}]),
        "GUARD_CRM_SOURCE": "none",
    }
    procs: list[subprocess.Popen[bytes]] = []
    try:
        up = subprocess.Popen([sys.executable, "-m", "guard.testing.scripted_upstream", "--scenarios", str(scenarios),
                               "--port", str(up_port)], cwd=REPO_ROOT, stdout=subprocess.DEVNULL)
        procs.append(up)
        guard = subprocess.Popen([sys.executable, "-m", "guard.cli", "serve", "--port", str(guard_port),
                                  "--upstream", f"http://127.0.0.1:{up_port}/v1", "--log-level", "warning"],
                                 cwd=REPO_ROOT, env=env)
        procs.append(guard)
        _wait(up_port, up)
        _wait(guard_port, guard)
        url = f"http://127.0.0.1:{guard_port}"
        asyncio.run(_load(url, guard.pid, 3.0, args.concurrency, 3.0))  # warm-up, not reported
        rss_start = rss_mb(guard.pid)
        intervals = asyncio.run(_load(url, guard.pid, args.seconds, args.concurrency, args.interval))
        rss_end = rss_mb(guard.pid)
    finally:
        for p in reversed(procs):
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
    print(f"soak: {args.seconds:.0f} s at concurrency {args.concurrency}, mix {len(MIX)} kinds "
          "(allow/revise/block x plain/stream), guard serve with the durable SQLite ledger")
    print(f"{'interval':>8} {'requests':>9} {'errors':>7} {'req/s':>7} {'p50 ms':>8} {'p99 ms':>8} {'RSS MB':>8}")
    for n, iv in enumerate(intervals, 1):
        lat = iv.latencies
        print(f"{n:>8} {len(lat):>9} {iv.errors:>7} {len(lat) / args.interval:>7.0f} "
              f"{percentile(lat, 50) * 1000:>8.1f} {percentile(lat, 99) * 1000:>8.1f} {iv.rss:>8.1f}")
    total = sum(len(iv.latencies) for iv in intervals)
    errors = sum(iv.errors for iv in intervals)
    p99s = [percentile(iv.latencies, 99) * 1000 for iv in intervals]
    every = [x for iv in intervals for x in iv.latencies]
    print(f"total: {total} requests, {errors} errors; p50 {percentile(every, 50) * 1000:.1f} ms, "
          f"p99 {percentile(every, 99) * 1000:.1f} ms")
    print(f"RSS of the guard process: {rss_start:.1f} MB at start, {rss_end:.1f} MB at end "
          f"({rss_end - rss_start:+.1f} MB)")
    print(f"p99 per interval: baseline (first) {p99s[0]:.1f} ms, min {min(p99s):.1f}, max {max(p99s):.1f} ms")
    return 0 if errors == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
