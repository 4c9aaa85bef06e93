"""Ledger write latency and throughput, against plain SQLite inserts measured in the same run.

    python -m bench.bench_ledger [--n 3000] [--threads 8] [--seconds 3]

- baseline: one plain INSERT + COMMIT per record into a WAL SQLite file with synchronous=FULL
  (no chain, no canonical JSON, no group commit);
- ledger, one writer: `SqliteLedger.append` (canonical JSON, SHA-256 chain, commit) per record.
  With FULL it runs in turns with the baseline (`--rounds` blocks each, in alternating order):
  both wait for the disk's fsync, whose latency drifts from minute to minute on a shared host,
  so one after the other they would compare two spells of the disk rather than two writers;
- decision, one writer: the whole `OtelAuditor` call (spans without an exporter, masking, the
  ledger write) — what a guarded call pays for its audit;
- group commit: `--threads` threads appending at once, per-append latency and records/s;
- sustained: records/s over `--seconds` with `--sustained-threads` writers, sync FULL and NORMAL;
- from an event loop (`append_async`, what the proxy calls), one awaiting task and 16: per record,
  wall time and the whole process's CPU (user + system: the kernel's share of an fsync and of the
  thread wake-ups counts), and the writer process's CPU where there is one: with FULL through the
  writer process (the default) and the committer thread, with NORMAL through the committer thread
  and on the loop itself (the default).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Literal

from bench.common import Headline, headline, percentile
from guard.audit.api import DecisionRecord
from guard.audit.auditor import OtelAuditor, build_entry
from guard.audit.ledger import GENESIS_HASH, AuditLedger, SqliteLedger, canonical_json
from guard.audit.redact import Redactor


def _record(i: int) -> DecisionRecord:
    return DecisionRecord(
        trace_id=f"{i:032x}",
        timestamp=time.time(),
        caller="svc-outbound",
        customer_id=f"C2026{i:08d}",
        model="qwen2.5-7b",
        policy="outbound_marketing",
        policy_version="sha256:3f2a9c",
        decision="revise",
        codes=("pii.phone", "length.sentence"),
        violations=(
            {"code": "pii.phone", "start": 12, "end": 23, "action": "mask", "evidence": "139****5678"},
            {"code": "length.sentence", "start": 0, "end": 58, "action": "warn"},
        ),
        original_masked="张先生您好，您的4000元额度已经审核通过了，如有疑问请拨打***********咨询。",
        released="张先生您好，您的4000元额度已经审核通过了，如有疑问请拨打***********咨询。",
        latency_ms=612.0,
        check_ms={"facts": 0.21, "length": 0.02, "lexicon": 0.05, "pii": 0.11},
    )


def _line(label: str, ms: list[float], extra: str = "") -> str:
    return (
        f"{label:<46} n={len(ms):>6}  p50={percentile(ms, 50):7.3f} ms  p95={percentile(ms, 95):7.3f} ms"
        f"  p99={percentile(ms, 99):7.3f} ms{extra}"
    )


def _baseline_conn(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, trace_id TEXT, body TEXT)")
    return conn


def _baseline_block(conn: sqlite3.Connection, body: str, start: int, n: int) -> list[float]:
    out = []
    for i in range(start, start + n):
        t0 = time.perf_counter()
        conn.execute("BEGIN")
        conn.execute("INSERT INTO t (trace_id, body) VALUES (?, ?)", (f"{i:032x}", body))
        conn.execute("COMMIT")
        out.append((time.perf_counter() - t0) * 1000)
    return out


def _append_block(led: SqliteLedger, entries: list[dict[str, Any]]) -> list[float]:
    out = []
    for e in entries:
        t0 = time.perf_counter()
        led.append(e)
        out.append((time.perf_counter() - t0) * 1000)
    return out


def baseline_and_full(root: Path, n: int, rounds: int) -> tuple[list[float], list[float]]:
    """The baseline and `ledger.append` with sync=FULL, in turns: `rounds` blocks of each.

    Odd rounds run the ledger first, so neither always follows the other's fsyncs.
    """
    conn = _baseline_conn(root / "base.db")
    led = SqliteLedger(root / "single-full.db", sync="full")
    red = Redactor()
    body = canonical_json(build_entry(_record(0), redactor=red))
    entries = [build_entry(_record(i), redactor=red) for i in range(n)]
    base: list[float] = []
    full: list[float] = []
    try:
        for r in range(rounds):
            lo, hi = n * r // rounds, n * (r + 1) // rounds
            if r % 2:
                full += _append_block(led, entries[lo:hi])
                base += _baseline_block(conn, body, lo, hi - lo)
            else:
                base += _baseline_block(conn, body, lo, hi - lo)
                full += _append_block(led, entries[lo:hi])
    finally:
        conn.close()
        led.close()
    return base, full


def chain_cpu(n: int) -> list[float]:
    red = Redactor()
    entries = [build_entry(_record(i), redactor=red) for i in range(n)]
    out = []
    for i, e in enumerate(entries):
        t0 = time.perf_counter()
        AuditLedger._chain([e], i, GENESIS_HASH)
        out.append((time.perf_counter() - t0) * 1000)
    return out


def single(path: Path, n: int, sync: Literal["full", "normal"]) -> list[float]:
    led = SqliteLedger(path, sync=sync)
    red = Redactor()
    try:
        return _append_block(led, [build_entry(_record(i), redactor=red) for i in range(n)])
    finally:
        led.close()


def decisions(path: Path, n: int) -> list[float]:
    auditor = OtelAuditor(SqliteLedger(path))
    out = []
    for i in range(n):
        rec = _record(i)
        with auditor.call(caller="svc", customer_id="C1", model="qwen2.5-7b", stream=False) as call:
            t0 = time.perf_counter()
            call.decision(rec)
            out.append((time.perf_counter() - t0) * 1000)
    auditor.close()
    return out


def concurrent(
    path: Path,
    threads: int,
    *,
    per_thread: int | None = None,
    seconds: float | None = None,
    sync: Literal["full", "normal"] = "full",
) -> tuple[list[float], float]:
    led = SqliteLedger(path, sync=sync)
    red = Redactor()
    lat: list[list[float]] = [[] for _ in range(threads)]
    stop = threading.Event()
    start = threading.Barrier(threads + 1)

    def work(k: int) -> None:
        entries = [build_entry(_record(k * 1_000_000 + i), redactor=red) for i in range(per_thread or 500)]
        start.wait()
        i = 0
        while not stop.is_set() and (per_thread is None or i < per_thread):
            e = entries[i % len(entries)]
            t0 = time.perf_counter()
            led.append(e)
            lat[k].append((time.perf_counter() - t0) * 1000)
            i += 1

    ts = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
    for t in ts:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    if seconds is not None:
        time.sleep(seconds)
        stop.set()
    for t in ts:
        t.join()
    elapsed = time.perf_counter() - t0
    led.close()
    flat = [x for xs in lat for x in xs]
    return flat, len(flat) / elapsed


def _child_cpu(led: SqliteLedger) -> float:
    """CPU seconds (user + system) used so far by the ledger's writer processes."""
    total = 0.0
    for pid in led.writer_pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def from_loop(
    path: Path, sync: Literal["full", "normal"], tasks: int, n: int, how: Literal["process", "committer", "loop"]
) -> tuple[float, float, float]:
    """(wall µs, CPU µs here, CPU µs in the writer process) per record of `append_async` from
    `tasks` tasks on one event loop, through the writer process, the committer thread or the loop."""
    led = SqliteLedger(path, sync=sync, writer="thread" if how == "committer" else "process")
    entry = build_entry(_record(0), redactor=Redactor())
    append = (lambda e: AuditLedger.append_async(led, e)) if how == "committer" else led.append_async
    per = max(1, n // tasks)

    async def run(k: int) -> None:
        async def one() -> None:
            for _ in range(k):
                await append(dict(entry))

        await asyncio.gather(*(one() for _ in range(tasks)))

    async def main() -> tuple[float, float, float]:
        await run(max(1, 50 // tasks))
        t0, c0, w0 = time.perf_counter(), os.times(), _child_cpu(led)
        await run(per)
        t1, c1, w1 = time.perf_counter(), os.times(), _child_cpu(led)
        total = per * tasks
        cpu = (c1.user - c0.user) + (c1.system - c0.system)
        return (t1 - t0) / total * 1e6, cpu / total * 1e6, (w1 - w0) / total * 1e6

    try:
        return asyncio.run(main())
    finally:
        led.close()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument(
        "--n", type=int, default=None, help="records per single-writer run (default 3000, 1500 with --quick)"
    )
    ap.add_argument("--threads", type=int, default=8, help="writers in the group-commit run")
    ap.add_argument("--sustained-threads", type=int, default=32, help="writers in the sustained runs")
    ap.add_argument(
        "--seconds", type=float, default=None, help="sustained run length (default 3, 2 with --quick)"
    )
    ap.add_argument(
        "--rounds", type=int, default=10, help="turns of the baseline and the FULL ledger (default 10)"
    )
    ap.add_argument("--quick", action="store_true")
    res: dict[str, Any] = {}
    ap.add_argument("--dir", default=None, help="where the SQLite files go (default: the system temp dir)")
    args = ap.parse_args(argv)
    args.n = args.n or (1500 if args.quick else 3000)
    args.seconds = args.seconds or (2.0 if args.quick else 3.0)
    print(_line("chain: canonical JSON + SHA-256, CPU only", chain_cpu(args.n)))
    with tempfile.TemporaryDirectory(prefix="bench-ledger-", dir=args.dir) as d:
        root = Path(d)
        b, res["full"] = baseline_and_full(root, args.n, args.rounds)
        print(
            _line("baseline: plain INSERT+COMMIT, sync=FULL", b, f"  {1000 / (sum(b) / len(b)):8.0f} rec/s")
        )
        res["normal"] = single(root / "single-normal.db", args.n, "normal")
        syncs: tuple[Literal["full"], Literal["normal"]] = ("full", "normal")
        for sync in syncs:
            s = res[sync]
            print(
                _line(
                    f"ledger.append, 1 writer, sync={sync.upper()}",
                    s,
                    f"  {1000 / (sum(s) / len(s)):8.0f} rec/s",
                )
            )
        dd = decisions(root / "decisions.db", args.n)
        print(_line("OtelAuditor decision(), 1 writer, FULL", dd))
        lat, rate = concurrent(root / "group.db", args.threads, per_thread=args.n // args.threads)
        print(_line(f"ledger.append, {args.threads} writers (group commit)", lat, f"  {rate:8.0f} rec/s"))
        for sync in syncs:
            lat, rate = concurrent(
                root / f"sustained-{sync}.db", args.sustained_threads, seconds=args.seconds, sync=sync
            )
            label = f"sustained {args.seconds:.0f}s, {args.sustained_threads} writers, {sync.upper()}"
            print(_line(label, lat, f"  {rate:8.0f} rec/s"))
            headline(
                Headline(
                    "ledger",
                    f"sustained, {args.sustained_threads} writers, sync={sync.upper()}",
                    "ms",
                    percentile(lat, 50),
                    percentile(lat, 99),
                    rate,
                    "plain INSERT+COMMIT, 1 writer, FULL",
                    percentile(b, 50),
                    percentile(b, 99),
                    1000 / (sum(b) / len(b)),
                    target="≥ 5,000 records/s",
                    min_per_s=5000,
                )
            )
        paths: tuple[tuple[Literal["full", "normal"], Literal["process", "committer", "loop"], str], ...] = (
            ("full", "process", "writer process (default)"),
            ("full", "committer", "committer thread"),
            ("normal", "committer", "committer thread"),
            ("normal", "loop", "on the loop (default)"),
        )
        for sync, how, label in paths:
            for tasks in (1, 16):
                wall, cpu, child = from_loop(root / f"loop-{sync}-{how}-{tasks}.db", sync, tasks, args.n, how)
                extra = f", {child:7.1f} µs CPU in the writer process" if how == "process" else ""
                print(
                    f"append_async, {sync.upper()}, {label}, {tasks:>2} task(s): {wall:7.1f} µs wall, "
                    f"{cpu:7.1f} µs CPU here{extra} per record"
                )
        over = percentile(res["full"], 99) - percentile(b, 99)
        print(f"ledger p99 minus baseline p99 (sync=FULL): {over:+.3f} ms")
        for sync in ("full", "normal"):
            s = res[sync]
            added = sync == "full"  # FULL: the disk's fsync is in both; NORMAL: the whole append counts
            headline(
                Headline(
                    "ledger",
                    f"ledger.append, 1 writer, sync={sync.upper()}",
                    "ms",
                    percentile(s, 50),
                    percentile(s, 99),
                    1000 / (sum(s) / len(s)),
                    "plain INSERT+COMMIT, FULL",
                    percentile(b, 50),
                    percentile(b, 99),
                    1000 / (sum(b) / len(b)),
                    target="adds ≤ 0.3 ms at p99" if added else "whole append ≤ 0.3 ms at p99",
                    limit=percentile(b, 99) + 0.3 if added else 0.3,
                    note=f"added p99 {percentile(s, 99) - percentile(b, 99):+.3f} ms" if added else "",
                )
            )


if __name__ == "__main__":
    main()
