"""Zero lost records under kill -9: every acknowledged decision is in the ledger; the chain verifies."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from guard.audit.auditor import build_entry
from guard.audit.ledger import SqliteLedger
from guard.audit.postgres import PostgresLedger
from guard.audit.query import verify
from guard.audit.redact import Redactor
from tests.audit.durability import run_and_kill, writer_command, writer_processes
from tests.audit.records import make_record


def make_entry() -> dict[str, object]:
    return build_entry(make_record("f" * 32), redactor=Redactor())  # type: ignore[arg-type]

pytestmark = pytest.mark.slow


def _check(acks: list[str], open_: Callable[[], SqliteLedger | PostgresLedger], min_acks: int) -> None:
    assert len(acks) >= min_acks
    led = open_()
    try:
        stored = {r.trace_id for r in led.rows()}
        lost = [a for a in acks if a not in stored]
        assert not lost, f"{len(lost)} acknowledged records lost, e.g. {lost[:3]}"
        rep = verify(led)
        assert rep.ok, rep
        assert rep.checked >= len(acks)
    finally:
        led.close()


def test_sqlite_survives_kill_9(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    for _ in range(2):  # kill, then restart on the same file and kill again
        acks = run_and_kill(writer_command(str(path)), min_acks=300)
        _check(acks, lambda: SqliteLedger(path, create=False), 300)


def test_sqlite_survives_kill_9_with_the_commits_in_the_writer_process(tmp_path: Path) -> None:
    """The proxy's path: tasks on an event loop, sync=full, commits in the ledger's writer
    process. Every acknowledged record is stored, and the orphaned writer ends by itself."""
    path = tmp_path / "ledger.db"
    probe = SqliteLedger(path)  # the helper below does see a live writer process
    asyncio.run(probe.append_async(make_entry()))
    assert writer_processes(path) == probe.writer_pids
    probe.close()
    assert not writer_processes(path)
    for _ in range(2):
        acks = run_and_kill(writer_command(str(path), threads=16, on_loop=True), min_acks=300)
        deadline = time.monotonic() + 10
        while writer_processes(path) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not writer_processes(path), "the writer process outlived the killed server"
        _check(acks, lambda: SqliteLedger(path, create=False), 300)


def test_postgres_survives_kill_9(pg_dsn: str) -> None:
    acks = run_and_kill(writer_command(pg_dsn), min_acks=200)
    _check(acks, lambda: PostgresLedger(pg_dsn, create=False), 200)


def test_two_processes_sharing_one_sqlite_file_survive_kill_9(tmp_path: Path) -> None:
    """Two guard processes on one host, one ledger file: one chain, nothing acknowledged lost."""
    import threading

    path = tmp_path / "shared.db"
    SqliteLedger(path).close()  # create the schema before both start
    results: list[list[str]] = [[], []]

    def run(k: int) -> None:
        results[k] = run_and_kill(writer_command(str(path), threads=2), min_acks=150)

    workers = [threading.Thread(target=run, args=(k,)) for k in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    _check(results[0] + results[1], lambda: SqliteLedger(path, create=False), 300)
