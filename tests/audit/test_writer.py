"""The SQLite ledger's writer process (`guard.audit.writer`): what `append_async` does with sync=full."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sqlite3
import threading
from pathlib import Path
from typing import Any, Literal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import guard.audit.ledger as ledger_module
from guard.audit.auditor import build_entry
from guard.audit.ledger import LedgerError, SqliteLedger, canonical_json, open_ledger
from guard.audit.query import verify
from guard.audit.redact import Redactor
from tests.audit.records import make_record


def _entry(i: int, **kw: object) -> dict[str, Any]:
    return build_entry(make_record(f"{i:032x}", **kw), redactor=Redactor())  # type: ignore[arg-type]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_the_writer_process_writes_the_same_chain_as_the_committer_thread(tmp_path: Path) -> None:
    entries = [_entry(i, decision=("allow", "block", "mask")[i % 3]) for i in range(40)]
    bodies = {}
    writer: Literal["process", "thread"]
    for writer in ("process", "thread"):
        led = SqliteLedger(tmp_path / f"{writer}.db", writer=writer)

        async def main(led: SqliteLedger = led) -> list[int]:
            return [await led.append_async(e) for e in entries]

        assert asyncio.run(main()) == list(range(1, 41))
        assert (len(led._channels) == 1) is (writer == "process")
        bodies[writer] = [(r.body, r.prev_hash, r.hash, r.codes) for r in led.rows()]
        assert verify(led).ok
        led.close()
    assert bodies["process"] == bodies["thread"]
    assert bodies["process"][0][0] == canonical_json({**entries[0], "seq": 1})


def test_concurrent_appends_each_get_the_seq_of_their_own_record(tmp_path: Path) -> None:
    led = SqliteLedger(tmp_path / "l.db")

    async def main() -> list[int]:
        return list(await asyncio.gather(*(led.append_async(_entry(i)) for i in range(300))))

    seqs = asyncio.run(main())
    assert sorted(seqs) == list(range(1, 301))
    by_seq = {r.seq: r.trace_id for r in led.rows()}
    assert all(by_seq[seq] == f"{i:032x}" for i, seq in enumerate(seqs))
    assert verify(led).ok
    led.close()


def test_the_records_of_one_loop_iteration_share_one_send_and_one_commit(tmp_path: Path) -> None:
    """Handed over together, they reach the writer together: one read, one transaction, one fsync."""
    led = SqliteLedger(tmp_path / "l.db")

    async def main() -> tuple[list[int], int]:
        assert await led.append_async(_entry(0)) == 1  # the writer is up
        (channel,) = led._channels.values()
        commits = 0

        def counted() -> None:
            nonlocal commits
            commits += 1

        channel._on_commit = counted  # called once per batch of answers (one per commit)
        tasks = [asyncio.ensure_future(led.append_async(_entry(i))) for i in range(1, 21)]
        seqs = list(await asyncio.gather(*tasks))  # the 20 tasks all start in one iteration
        return seqs, commits

    seqs, commits = asyncio.run(main())
    assert seqs == list(range(2, 22))
    assert commits == 1
    assert verify(led).ok
    led.close()


def test_a_record_larger_than_the_socket_buffer_keeps_its_place(tmp_path: Path) -> None:
    """A record that does not fit the socket at once is sent in parts; the records after it wait."""
    led = SqliteLedger(tmp_path / "l.db")
    big = _entry(1)
    big["evidence"] = ["长" * 3_000_000]  # ≈ 9 MB of UTF-8

    async def main() -> list[int]:
        return list(
            await asyncio.gather(
                led.append_async(_entry(0)), led.append_async(big), led.append_async(_entry(2))
            )
        )

    assert asyncio.run(main()) == [1, 2, 3]
    rows = list(led.rows())
    assert [r.trace_id for r in rows] == [f"{i:032x}" for i in range(3)]
    assert rows[1].record()["evidence"] == big["evidence"]
    assert verify(led).ok
    led.close()


def test_a_dead_writer_fails_every_open_record_and_the_next_one_gets_a_new_writer(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    led = SqliteLedger(path)
    other = sqlite3.connect(path, isolation_level=None, timeout=30.0)

    async def main() -> None:
        assert await led.append_async(_entry(0)) == 1
        (pid,) = led.writer_pids
        other.execute("BEGIN IMMEDIATE")  # the writer's next commit waits for this lock
        tasks = [asyncio.ensure_future(led.append_async(_entry(i))) for i in range(1, 4)]
        await asyncio.sleep(0.2)
        assert not any(t.done() for t in tasks)
        os.kill(pid, signal.SIGKILL)
        results = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 10)
        assert all(isinstance(r, LedgerError) and "writer process is gone" in str(r) for r in results), (
            results
        )
        other.execute("COMMIT")
        assert await led.append_async(_entry(4)) == 2  # none of the three was committed
        (new_pid,) = led.writer_pids
        assert new_pid != pid

    asyncio.run(main())
    other.close()
    assert [r.trace_id for r in led.rows()] == [f"{0:032x}", f"{4:032x}"]
    assert verify(led).ok
    led.close()


def test_a_cancelled_append_is_committed_all_the_same(tmp_path: Path) -> None:
    led = SqliteLedger(tmp_path / "l.db")

    async def main() -> int:
        task = asyncio.ensure_future(led.append_async(_entry(0)))
        await asyncio.sleep(0)  # handed over to the writer
        task.cancel()
        return await led.append_async(_entry(1))

    assert asyncio.run(main()) == 2
    assert [r.trace_id for r in led.rows()] == [f"{0:032x}", f"{1:032x}"]
    led.close()


def test_close_from_another_thread_commits_and_settles_what_the_loop_handed_over(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    led = SqliteLedger(path)
    other = sqlite3.connect(path, isolation_level=None, timeout=30.0)

    async def main() -> list[int]:
        assert await led.append_async(_entry(0)) == 1
        (pid,) = led.writer_pids
        other.execute("BEGIN IMMEDIATE")  # hold the commit so the records are in flight at close
        tasks = [asyncio.ensure_future(led.append_async(_entry(i))) for i in range(1, 6)]
        await asyncio.sleep(0.1)
        closer = threading.Thread(target=led.close)
        closer.start()
        await asyncio.sleep(0.2)
        other.execute("COMMIT")
        seqs = list(await asyncio.wait_for(asyncio.gather(*tasks), 10))
        await asyncio.to_thread(closer.join, 10)
        assert not _alive(pid)
        return seqs

    assert asyncio.run(main()) == [2, 3, 4, 5, 6]
    other.close()
    reopened = SqliteLedger(path, create=False)
    assert reopened.count() == 6 and verify(reopened).ok
    reopened.close()


def test_each_event_loop_has_its_writer_and_close_ends_them_all(tmp_path: Path) -> None:
    led = SqliteLedger(tmp_path / "l.db")
    pids = []
    for i in range(3):
        assert asyncio.run(led.append_async(_entry(i))) == i + 1
        pids += led.writer_pids
    assert len(set(pids)) == 3  # a new loop, a new writer; the old loop's writer was ended
    assert len(led._channels) == 1
    led.close()
    assert not any(_alive(p) for p in pids)
    assert led.count() == 3 and verify(led).ok


def test_the_writer_process_stays_small(tmp_path: Path) -> None:
    """It imports the standard library and the ledger module only, not the engine."""
    led = SqliteLedger(tmp_path / "l.db")

    async def main() -> int:
        await led.append_async(_entry(0))
        (pid,) = led.writer_pids
        status = Path(f"/proc/{pid}/status").read_text()
        return int(status.split("VmRSS:")[1].split()[0])

    rss_kb = asyncio.run(main())
    led.close()
    assert rss_kb < 60_000, f"writer process RSS {rss_kb} kB"


def test_without_a_writer_process_the_committer_thread_commits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def cannot_start(*args: object, **kwargs: object) -> None:
        raise PermissionError("no subprocesses here")

    monkeypatch.setattr(ledger_module, "WriterChannel", cannot_start)
    led = SqliteLedger(tmp_path / "l.db")
    with caplog.at_level(logging.WARNING, logger="guard.audit.ledger"):
        assert asyncio.run(led.append_async(_entry(0))) == 1
    assert led.writer == "thread" and led._committer is not None
    assert "committing on a thread instead" in caplog.text and "no subprocesses" not in caplog.text
    assert asyncio.run(led.append_async(_entry(1))) == 2
    led.close()


def test_the_writer_is_chosen_by_guard_ledger_writer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GUARD_LEDGER_WRITER", "thread")
    led = open_ledger(str(tmp_path / "a.db"))
    assert isinstance(led, SqliteLedger) and led.writer == "thread"
    led.close()
    monkeypatch.setenv("GUARD_LEDGER_WRITER", "fork")
    with pytest.raises(LedgerError, match="GUARD_LEDGER_WRITER must be process or thread"):
        open_ledger(str(tmp_path / "b.db"))
    monkeypatch.delenv("GUARD_LEDGER_WRITER")
    led = open_ledger(str(tmp_path / "c.db"))
    assert isinstance(led, SqliteLedger) and led.writer == "process"
    led.close()


_TEXT = st.text(st.characters(codec="utf-8"), max_size=40)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63) | st.floats(allow_nan=False) | _TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXT, inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(extra=_JSON)
def test_any_json_record_is_stored_as_the_committer_thread_stores_it(
    tmp_path_factory: pytest.TempPathFactory, extra: Any
) -> None:
    """Newlines, U+2028, NUL, quotes, deep nesting: the JSON line to the writer loses nothing."""
    base = tmp_path_factory.mktemp("w")
    bodies = []
    entry = {**_entry(0), "extra": extra, "note": 'a\nb\u2028c\x00d"e\\'}
    writer: Literal["process", "thread"]
    for writer in ("process", "thread"):
        led = SqliteLedger(base / f"{writer}.db", writer=writer)
        assert asyncio.run(led.append_async(entry)) == 1
        bodies.append([(r.body, r.hash) for r in led.rows()])
        led.close()
    assert bodies[0] == bodies[1]


def test_the_writer_outlives_signals_to_the_process_group_and_ends_with_its_socket(tmp_path: Path) -> None:
    """Ctrl-C in a terminal or systemd's SIGTERM reach the writer too; it must stay until the
    server's shutdown has handed over its last records (EOF), not drop them."""
    led = SqliteLedger(tmp_path / "l.db")

    async def main() -> int:
        assert await led.append_async(_entry(0)) == 1
        (pid,) = led.writer_pids
        os.kill(pid, signal.SIGTERM)
        os.kill(pid, signal.SIGINT)
        await asyncio.sleep(0.2)
        assert _alive(pid)
        assert await led.append_async(_entry(1)) == 2
        assert led.writer_pids == [pid]
        return pid

    pid = asyncio.run(main())
    led.close()
    assert not _alive(pid)
    assert led.count() == 2


def test_a_writer_that_cannot_run_fails_its_records_closed_then_the_thread_takes_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """E.g. a frozen app whose sys.executable is not a Python: the process starts and exits."""
    import guard.audit.writer as writer_module

    monkeypatch.setattr(writer_module.sys, "executable", "/bin/false")
    led = SqliteLedger(tmp_path / "l.db")

    async def main() -> int:
        with pytest.raises(LedgerError, match="writer process is gone"):
            await asyncio.wait_for(led.append_async(_entry(0)), 10)
        with caplog.at_level(logging.WARNING, logger="guard.audit.ledger"):
            return await led.append_async(_entry(1))

    assert asyncio.run(main()) == 1  # nothing of the first record was committed
    assert led.writer == "thread" and "ended before its first commit" in caplog.text
    assert [r.trace_id for r in led.rows()] == [f"{1:032x}"]
    led.close()


def test_an_answer_outside_the_protocol_fails_closed(tmp_path: Path) -> None:
    led = SqliteLedger(tmp_path / "l.db")

    async def main() -> None:
        assert await led.append_async(_entry(0)) == 1
        (channel,) = led._channels.values()
        task = asyncio.ensure_future(led.append_async(_entry(1)))
        await asyncio.sleep(0)
        channel._answer(b"Traceback (most recent call last):\n")  # as if the child printed junk
        with pytest.raises(LedgerError, match="writer process is gone"):
            await asyncio.wait_for(task, 10)
        assert channel.broken
        assert await led.append_async(_entry(2)) >= 2  # a new writer (the record of 1 may be in)

    asyncio.run(main())
    assert verify(led).ok
    led.close()


_LINE_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**80), 2**80) | st.floats() | _TEXT
    | st.decimals(allow_nan=False) | st.dates(),
    lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner) | st.dictionaries(_TEXT, inner, max_size=4),
    max_leaves=12,
)


@given(value=_LINE_VALUES)
def test_the_hand_over_line_reads_back_as_the_standard_encoders_line(value: Any) -> None:
    """orjson where it writes the same values, `json.dumps` where it would not (NaN, infinities,
    integers beyond 64 bits): the writer parses exactly what the committer thread would store."""
    entry = {**_entry(0), "extra": value}
    line = ledger_module.hand_over_line(entry)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    standard = json.dumps(entry, ensure_ascii=False, separators=(",", ":"), default=ledger_module._json_default)
    assert canonical_json(json.loads(line)) == canonical_json(json.loads(standard))


_LINES = st.one_of(
    st.builds(lambda v: ledger_module.hand_over_line({**_entry(0), "extra": v}), _LINE_VALUES),
    # what the standard encoder writes and orjson refuses, and lines that are no JSON at all
    st.sampled_from([b'{"a":NaN}\n', b'{"a":-Infinity}', b'{"a":1e400}', b'{"a":' + str(2**70).encode() + b"}",
                     b'{"a":"\\ud800"}', b'{"a":"\xff"}', b"\xef\xbb\xbf{}", b'{"a":1,"a":2}', b"", b"{", b"[1,]",
                     b"12345678901234567890", b'{"a":[ -12345678901234567890]}', b'{"a":0.1234567890123456789012}',
                     b'{"a":1e1234567890123456789}', b'{"a":"x:12345678901234567890"}']),
    st.binary(max_size=30),
)


@given(line=_LINES)
def test_the_writer_reads_a_line_as_json_loads_does(line: bytes) -> None:
    """orjson where it can, `json.loads` where orjson refuses: the same values, the same refusals."""
    try:
        expected: Any = json.loads(line)
    except ValueError:
        with pytest.raises(ValueError):
            ledger_module.read_hand_over_line(line)
        return
    got = ledger_module.read_hand_over_line(line)
    # canonical_json writes NaN as NaN on both sides (NaN != NaN), and tells 1 from 1.0 and True.
    assert canonical_json(got) == canonical_json(expected)


def test_the_writer_process_parses_with_orjson(tmp_path: Path) -> None:
    """The child runs without site packages; it is handed orjson's folder and loads it."""
    led = SqliteLedger(tmp_path / "o.db")

    async def main() -> str:
        await led.append_async(_entry(0))
        (pid,) = led.writer_pids
        return Path(f"/proc/{pid}/maps").read_text()

    maps = asyncio.run(main())
    led.close()
    assert "orjson" in maps
    assert led.count() == 1 and verify(led).ok


def test_a_decision_record_is_written_by_orjson() -> None:
    """The fast path is the usual one: a record as the auditor builds it goes through orjson."""
    import orjson

    entry = build_entry(make_record("0" * 32, decision="revise", codes=("pii.phone",)), redactor=Redactor(),
                        attempts=[{"attempt": 1, "duration_ms": 0.8}])
    line = ledger_module.hand_over_line(entry)
    assert line == orjson.dumps(entry, option=orjson.OPT_APPEND_NEWLINE)
    assert json.loads(line) == json.loads(json.dumps(entry))
