"""The decision ledger: durable, hash-chained, group-committed.

Every decision is one row. A row's `body` is the canonical JSON of the record (sorted keys, no
spaces, UTF-8) including its own `seq`; its `hash` is SHA-256 over the previous row's hash, a
newline and the body. Editing, deleting or reordering rows therefore breaks the chain at the first
row touched, which `guard.audit.query.verify` names.

Writes use group commit with a leader/follower hand-off: a caller that finds no commit in flight
becomes the leader and commits everything queued so far in one transaction (one fsync); callers
that arrive meanwhile queue up and are committed together by the next leader. `append` returns
only once its own row is committed (or raises).

`await append_async(entry)` is the same for a caller on an asyncio event loop (the proxy). The
loop never blocks on a durable commit. SQLite with `sync="full"` hands the record to a writer
process (`guard.audit.writer`), which commits whatever it has read in one transaction: the fsync
and the commit's CPU leave the serving process and its GIL. PostgreSQL (and SQLite with
`writer="thread"`) hands it to one committer thread per ledger, which commits everything queued
since its last commit in one transaction and then settles all their futures with one wake-up of
each loop; no thread is handed each request (a thread hop costs about 0.1 ms of CPU here, and
with one thread per waiting request the wake-ups multiply). SQLite with `sync="normal"` has no
fsync to wait for, so there the loop commits the records of one loop iteration itself, on a
connection that never waits for another writer's lock (`SqliteLedger.append_async`).

Sync policy (SQLite, WAL mode): `sync="full"` (default) fsyncs the WAL at every commit, so a
committed record survives a process kill *and* a power loss; `sync="normal"` survives a process
kill (kill -9) but a power loss may drop the last commits (the chain stays intact).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import json
import logging
import os
import queue
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from guard.audit.record import OPEN_DECISION
from guard.audit.writer import WriterChannel

try:
    import orjson
except ImportError:  # not installed, or a writer process started without its folder: the standard library does it all
    orjson = None  # type: ignore[assignment]

__all__ = [
    "GENESIS_HASH",
    "AuditLedger",
    "LedgerError",
    "LedgerFilters",
    "LedgerRow",
    "SqliteLedger",
    "canonical_json",
    "chain_hash",
    "commit_entries",
    "configure_writer",
    "default_ledger_target",
    "open_ledger",
]

_log = logging.getLogger(__name__)

GENESIS_HASH = "0" * 64
TABLE = "guard_audit"
COLUMNS = "seq, trace_id, ts, caller, customer_id, model, policy, policy_version, decision, codes, body, prev_hash, hash"
# Columns copied out of the body for indexed queries; `verify` checks they still equal the body.
INDEXED_FIELDS = ("trace_id", "ts", "caller", "customer_id", "model", "policy", "policy_version", "decision")


class LedgerError(RuntimeError):
    """The ledger could not commit or read a record (the caller must fail closed)."""


def _json_default(obj: Any) -> Any:
    if isinstance(obj, Decimal):
        return str(obj)
    if isinstance(obj, dt.date | dt.datetime):
        return obj.isoformat()
    if isinstance(obj, tuple | set | frozenset):
        return list(obj)
    raise TypeError(f"not JSON-serialisable: {type(obj).__name__}")


def canonical_json(obj: Any) -> str:
    """The one serialisation that is hashed: sorted keys, no whitespace, UTF-8 text."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_json_default)


def _finite(obj: Any) -> bool:
    """No NaN or infinite float in `obj` (orjson would write one as `null`)."""
    if isinstance(obj, float):
        return obj - obj == 0.0  # NaN and ±inf give NaN
    if isinstance(obj, dict):
        obj = obj.values()
    elif not isinstance(obj, _SEQUENCES):
        return True
    # Strings, ints and None (most of a record) pass without a call; empty containers too.
    return all(type(v) in _LEAVES or not v or _finite(v) for v in obj)


# Tuples, not `X | Y`: isinstance with a union object is several times slower on 3.11.
_SEQUENCES = (list, tuple)
_LEAVES = frozenset({str, int, bool, type(None)})
_ORJSON_LINE = (
    0 if orjson is None else orjson.OPT_APPEND_NEWLINE | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME
)


def hand_over_line(entry: dict[str, Any]) -> bytes:
    """`entry` as one JSON line for the writer process, which parses it and stores it as the
    committer thread stores `entry` (this line is transport; the hash is over `canonical_json`).

    orjson writes it ≈ 10× faster than `json.dumps` (≈ 1.6 µs against ≈ 15 µs for a decision
    record with Chinese text, docs/benchmarks.md "Proxy", eleventh round), and parses back to the
    same values. What it would write differently goes through `json.dumps`: a NaN or infinite
    float (orjson writes `null`), an integer beyond 64 bits, a key that is not a string; dates and
    dataclasses reach `_json_default` as before. Neither writes a raw line break.
    """
    if orjson is not None and _finite(entry):
        try:
            return orjson.dumps(entry, default=_json_default, option=_ORJSON_LINE)
        except TypeError:  # orjson.JSONEncodeError
            pass
    return (json.dumps(entry, ensure_ascii=False, separators=(",", ":"), default=_json_default) + "\n").encode()


def read_hand_over_line(line: bytes) -> Any:
    """A hand-over line parsed back (in the writer process): the same values as `json.loads`.

    orjson parses a decision record ≈ 3× faster, the check for long numbers included (≈ 6 µs
    against ≈ 16, 2026-12-07). `json.loads` reads what orjson refuses (`NaN`, an integer beyond
    64 bits, a lone surrogate: what `hand_over_line` wrote with `json.dumps`) or could read
    differently (a number of 19 digits or more), and raises `ValueError` where it cannot either.
    """
    if orjson is not None and not _long_number(line):
        try:
            return orjson.loads(line)
        except orjson.JSONDecodeError:
            pass
    return json.loads(line)


_DIGIT_MASK = bytes(0x31 if 0x30 <= b <= 0x39 else 0x30 for b in range(256))  # a digit → "1", else "0"
_NINETEEN = b"1" * 19
_BEFORE_A_NUMBER = frozenset(b":,[.eE+-")


def _long_number(line: bytes) -> bool:
    """Whether `line` may hold a number with 19 digits in a row (in its integer part, fraction or
    exponent). orjson reads an integer beyond 64 bits as a float where `json.loads` keeps an int.

    A number's digits start the line or follow one of `:,[.eE+-` (spaces aside); 19 digits after
    anything else (a letter, a quote) are inside a string. A string that looks like a number only
    costs the slower parse. About 1 µs for a decision record (a regex search took about 18).
    """
    mask = line.translate(_DIGIT_MASK)
    start = mask.find(_NINETEEN)  # the first digit of a run of 19 or more
    while start >= 0:
        i = start - 1
        while i >= 0 and line[i] in b" \t\r\n":
            i -= 1
        if i < 0 or line[i] in _BEFORE_A_NUMBER:
            return True
        after = mask.find(b"0", start)  # past this run
        if after < 0:
            return False
        start = mask.find(_NINETEEN, after)
    return False


def chain_hash(prev_hash: str, body: str) -> str:
    """SHA-256 (hex) of `prev_hash + "\\n" + body`."""
    return hashlib.sha256(f"{prev_hash}\n{body}".encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class LedgerRow:
    """One stored record as read back."""

    seq: int
    trace_id: str
    ts: float
    caller: str | None
    customer_id: str | None
    model: str | None
    policy: str
    policy_version: str
    decision: str
    codes: tuple[str, ...]
    body: str
    prev_hash: str
    hash: str

    def record(self) -> dict[str, Any]:
        """The stored record (the parsed body)."""
        out: dict[str, Any] = json.loads(self.body)
        return out

    def to_json(self) -> dict[str, Any]:
        """The record plus its chain fields: what export and the HTTP API hand out."""
        return {**self.record(), "seq": self.seq, "prev_hash": self.prev_hash, "hash": self.hash}


@dataclass(frozen=True, slots=True)
class LedgerFilters:
    """Query filters; every field is optional and they combine with AND."""

    since: float | None = None
    until: float | None = None
    decision: str | None = None
    code: str | None = None
    policy: str | None = None
    policy_version: str | None = None
    customer_id: str | None = None
    caller: str | None = None
    trace_id: str | None = None
    limit: int | None = None
    newest_first: bool = False
    # Only the open records of streams that have no final record (decision "open", no other
    # decision under the same trace id): streams cut short by the guard's end, or still running.
    unfinished: bool = False

    def check(self) -> LedgerFilters:
        """`self`; ValueError for filters that match nothing whatever the ledger holds: the open
        records `unfinished` lists have decision `open` and no codes."""
        if self.unfinished and (self.decision not in (None, OPEN_DECISION) or self.code is not None):
            raise ValueError(
                "unfinished lists the open records of streams (decision open, no codes): with another "
                "decision or a code it matches nothing; leave those out"
            )
        return self

    def where(self) -> tuple[str, list[Any]]:
        """SQL WHERE clause (with `?` placeholders) and its parameters."""
        parts: list[str] = []
        params: list[Any] = []
        for col, val in (
            ("decision", self.decision),
            ("policy", self.policy),
            ("policy_version", self.policy_version),
            ("customer_id", self.customer_id),
            ("caller", self.caller),
            ("trace_id", self.trace_id),
        ):
            if val is not None:
                parts.append(f"{col} = ?")
                params.append(val)
        if self.since is not None:
            parts.append("ts >= ?")
            params.append(self.since)
        if self.until is not None:
            parts.append("ts < ?")
            params.append(self.until)
        if self.code is not None:
            esc = self.code.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            parts.append("codes LIKE ? ESCAPE '\\'")
            params.append(f'%"{esc}"%')
        if self.unfinished:
            # The final record is looked for anywhere in the ledger, whatever the other filters
            # (`--until` may end between a stream's open record and its final one).
            parts.append(
                f"decision = ? AND NOT EXISTS (SELECT 1 FROM {TABLE} AS fin "
                f"WHERE fin.trace_id = {TABLE}.trace_id AND fin.decision <> ?)"
            )
            params += [OPEN_DECISION, OPEN_DECISION]
        return (" WHERE " + " AND ".join(parts) if parts else ""), params


class _Pending:
    __slots__ = ("done", "entry", "error", "seq", "wake")

    def __init__(self, entry: dict[str, Any]) -> None:
        self.entry = entry
        self.seq = 0
        self.error: BaseException | None = None
        self.done = False
        self.wake = threading.Lock()
        self.wake.acquire()


@dataclass
class _GroupCommit:
    """Leader/follower group commit shared by the SQLite and PostgreSQL ledgers."""

    max_batch: int = 512
    queue: list[_Pending] = field(default_factory=list)
    mutex: threading.Lock = field(default_factory=threading.Lock)
    leader: bool = False  # a caller is committing a batch right now (or has been handed the turn)
    commit_lock: threading.Lock = field(default_factory=threading.Lock)  # guards the write connection


_Waiter = tuple[dict[str, Any], asyncio.AbstractEventLoop, "asyncio.Future[int]"]


def _settle(waiters: list[tuple[asyncio.Future[int], int]], error: BaseException | None) -> None:
    """On the waiters' loop: resolve each future with its seq, or fail it."""
    for fut, seq in waiters:
        if fut.done():  # the awaiting task was cancelled; its record is committed all the same
            continue
        if error is None:
            fut.set_result(seq)
        else:
            exc = LedgerError(f"ledger write failed: {type(error).__name__}")
            exc.__cause__ = error
            fut.set_exception(exc)


class _Committer:
    """The thread behind `append_async`: commits whatever is queued, one transaction at a time."""

    def __init__(self, ledger: AuditLedger) -> None:
        self._ledger = ledger
        self._queue: queue.SimpleQueue[_Waiter | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="guard-ledger-commit", daemon=True)
        self._thread.start()

    def submit(self, item: _Waiter) -> None:
        self._queue.put(item)

    def stop(self) -> None:
        """Commit what is queued, then end the thread."""
        self._queue.put(None)
        self._thread.join(timeout=30)

    def _run(self) -> None:
        ledger, q = self._ledger, self._queue
        stopping = False
        while not stopping:
            item = q.get()
            if item is None:
                break
            batch = [item]
            while len(batch) < ledger._gc.max_batch:
                try:
                    nxt = q.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    stopping = True
                    break
                batch.append(nxt)
            error: BaseException | None = None
            seqs: list[int] = [0] * len(batch)
            try:
                with ledger._gc.commit_lock:
                    seqs = ledger._write_batch([entry for entry, _, _ in batch])
            except BaseException as exc:  # every waiter of the batch fails closed
                error = exc
            by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[int], int]]] = {}
            for (_, loop, fut), seq in zip(batch, seqs, strict=True):
                by_loop.setdefault(loop, []).append((fut, seq))
            for loop, waiters in by_loop.items():
                with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
                    loop.call_soon_threadsafe(_settle, waiters, error)


class AuditLedger:
    """Base of the ledgers: group commit, chain building, the read queries."""

    placeholder = "?"

    def __init__(self, *, max_batch: int = 512) -> None:
        self._gc = _GroupCommit(max_batch=max_batch)
        self._closed = False
        self._committer: _Committer | None = None
        self._committer_lock = threading.Lock()

    # -- writing ---------------------------------------------------------------------------------
    def append(self, entry: dict[str, Any]) -> int:
        """Commit one record (a JSON-able dict with at least the indexed fields); return its seq.

        Returns only after the record is committed. Raises `LedgerError` if it was not.
        """
        if self._closed:
            raise LedgerError("ledger is closed")
        p = _Pending(entry)
        gc = self._gc
        with gc.mutex:
            gc.queue.append(p)
            lead = not gc.leader
            gc.leader = True
        if not lead:
            p.wake.acquire()  # released when our record is committed, or when we are the next leader
            if p.done:
                return self._result(p)
        # Leader: commit what is queued (our record is first), wake its owners, hand over.
        with gc.mutex:
            batch = gc.queue[: gc.max_batch]
            del gc.queue[: gc.max_batch]
        try:
            with gc.commit_lock:
                seqs = self._write_batch([b.entry for b in batch])
        except BaseException as exc:
            for b in batch:
                b.error, b.done = exc, True
        else:
            for b, s in zip(batch, seqs, strict=True):
                b.seq, b.done = s, True
        finally:
            for b in batch:
                if b is not p:
                    b.wake.release()
            with gc.mutex:
                if gc.queue:
                    gc.queue[0].wake.release()  # the next leader
                else:
                    gc.leader = False
        return self._result(p)

    async def append_async(self, entry: dict[str, Any]) -> int:
        """`append` for a caller on an asyncio event loop: the loop is not blocked meanwhile.

        Returns the record's seq once it is committed; raises `LedgerError` if it was not.
        Concurrent callers share commits (one transaction, one fsync, per batch).
        """
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[int] = loop.create_future()
        self._submit_committer(entry, loop, fut)
        return await fut

    def _submit_committer(
        self, entry: dict[str, Any], loop: asyncio.AbstractEventLoop, fut: asyncio.Future[int]
    ) -> None:
        """Queue one record for the committer thread, which settles `fut` on `loop`."""
        with self._committer_lock:
            if self._closed:
                raise LedgerError("ledger is closed")
            if self._committer is None:
                self._committer = _Committer(self)
            self._committer.submit((entry, loop, fut))

    @staticmethod
    def _result(p: _Pending) -> int:
        if p.error is not None:
            raise LedgerError(f"ledger write failed: {type(p.error).__name__}") from p.error
        return p.seq

    @staticmethod
    def _chain(entries: Sequence[dict[str, Any]], last_seq: int, last_hash: str) -> list[tuple[Any, ...]]:
        rows: list[tuple[Any, ...]] = []
        seq, prev = last_seq, last_hash
        for e in entries:
            seq += 1
            body = canonical_json({**e, "seq": seq})
            h = chain_hash(prev, body)
            codes = canonical_json(list(e.get("codes") or ()))
            rows.append(
                (
                    seq,
                    str(e["trace_id"]),
                    float(e["ts"]),
                    e.get("caller"),
                    e.get("customer_id"),
                    e.get("model"),
                    str(e["policy"]),
                    str(e["policy_version"]),
                    str(e["decision"]),
                    codes,
                    body,
                    prev,
                    h,
                )
            )
            prev = h
        return rows

    def _write_batch(self, entries: Sequence[dict[str, Any]]) -> list[int]:
        raise NotImplementedError

    # -- reading ---------------------------------------------------------------------------------
    def _read(self, sql: str, params: Sequence[Any]) -> Iterator[tuple[Any, ...]]:
        raise NotImplementedError

    def _sql(self, sql: str) -> str:
        return sql if self.placeholder == "?" else sql.replace("?", self.placeholder)

    def rows(self, filters: LedgerFilters | None = None) -> Iterator[LedgerRow]:
        """Rows matching `filters`, in chain order (or newest first)."""
        f = filters or LedgerFilters()
        where, params = f.where()
        sql = f"SELECT {COLUMNS} FROM {TABLE}{where} ORDER BY seq {'DESC' if f.newest_first else 'ASC'}"
        if f.limit is not None:
            sql += f" LIMIT {int(f.limit)}"
        for r in self._read(self._sql(sql), params):
            yield _row(r)

    def get(self, trace_id: str) -> list[LedgerRow]:
        """Every record of one trace (normally one)."""
        return list(self.rows(LedgerFilters(trace_id=trace_id)))

    def head(self) -> LedgerRow | None:
        """The last record of the chain."""
        last = list(self.rows(LedgerFilters(limit=1, newest_first=True)))
        return last[0] if last else None

    def count(self) -> int:
        """Number of records."""
        for (n,) in self._read(f"SELECT COUNT(*) FROM {TABLE}", ()):
            return int(n)
        return 0

    def close(self) -> None:
        """Commit what `append_async` queued, release connections; further appends fail."""
        with self._committer_lock:
            self._closed = True
            committer, self._committer = self._committer, None
        if committer is not None:
            committer.stop()

    def __enter__(self) -> AuditLedger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _row(r: Sequence[Any]) -> LedgerRow:
    return LedgerRow(
        seq=int(r[0]),
        trace_id=r[1],
        ts=float(r[2]),
        caller=r[3],
        customer_id=r[4],
        model=r[5],
        policy=r[6],
        policy_version=r[7],
        decision=r[8],
        codes=tuple(json.loads(r[9])),
        body=r[10],
        prev_hash=r[11],
        hash=r[12],
    )


SCHEMA = (
    f"""CREATE TABLE IF NOT EXISTS {TABLE} (
    seq {{seq_type}} PRIMARY KEY,
    trace_id TEXT NOT NULL,
    ts DOUBLE PRECISION NOT NULL,
    caller TEXT,
    customer_id TEXT,
    model TEXT,
    policy TEXT NOT NULL,
    policy_version TEXT NOT NULL,
    decision TEXT NOT NULL,
    codes TEXT NOT NULL,
    body TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
)""",
    f"CREATE INDEX IF NOT EXISTS {TABLE}_trace ON {TABLE} (trace_id)",
    f"CREATE INDEX IF NOT EXISTS {TABLE}_ts ON {TABLE} (ts)",
    f"CREATE INDEX IF NOT EXISTS {TABLE}_customer ON {TABLE} (customer_id, ts)",
)

# The WAL's bound. A WAL is written again from its start ("restarted") only when a writer begins
# while every frame is checkpointed and no reader uses the file. Under steady load a PASSIVE
# checkpoint never catches the frames committed while it runs, so without help the file grows
# until a lull (measured: 205 MB after 5 s of back-to-back commits). Past `WAL_RESTART_FRAMES`
# the checkpointer asks for a RESTART (see `SqliteLedger._checkpoint_loop`); `WAL_SIZE_LIMIT`
# is what a reset leaves of a file that grew larger while a long read held it.
WAL_RESTART_FRAMES = 4096  # ≈ 16 MB of 4 KiB pages
WAL_SIZE_LIMIT = 64 * 1024 * 1024
# How long a RESTART waits for the write lock, or (holding it, so commits wait too) for readers to
# leave the WAL; it gives up after that and is retried once the WAL has grown as much again.
_RESTART_WAIT_MS = 10


def configure_writer(conn: sqlite3.Connection, sync: str) -> None:
    """The settings of every connection that commits to a SQLite ledger (this process's and the
    writer process's): the sync level, a generous lock wait, checkpoints left to the checkpointer
    thread, and the WAL size a reset leaves behind."""
    conn.execute(f"PRAGMA synchronous={'FULL' if sync == 'full' else 'NORMAL'}")
    conn.execute("PRAGMA busy_timeout=30000")
    conn.execute("PRAGMA wal_autocheckpoint=0")
    conn.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT}")


_INSERT = f"INSERT INTO {TABLE} ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
_LAST = f"SELECT seq, hash FROM {TABLE} ORDER BY seq DESC LIMIT 1"


def commit_entries(conn: sqlite3.Connection, entries: Sequence[dict[str, Any]]) -> list[int]:
    """One transaction on `conn`: read the chain head, append `entries`, commit; their seqs.

    Every writer of a SQLite ledger commits through this (the serving process's connections and
    the writer process of `guard.audit.writer`), so the chain stays linear whoever writes.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        last = conn.execute(_LAST).fetchone()
        rows = AuditLedger._chain(entries, *(last if last else (0, GENESIS_HASH)))
        conn.executemany(_INSERT, rows)
        conn.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(sqlite3.Error):  # the original error is the one to report
            conn.execute("ROLLBACK")
        raise
    return [r[0] for r in rows]


class SqliteLedger(AuditLedger):
    """The embedded ledger: one SQLite file in WAL mode (see the module docstring for `sync`).

    Several processes may share the file: each commit reads the chain head inside its
    `BEGIN IMMEDIATE` transaction, so the chain stays linear whoever writes.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        sync: Literal["full", "normal"] = "full",
        max_batch: int = 512,
        create: bool = True,
        checkpoint_interval: float = 0.5,
        writer: Literal["process", "thread"] | None = None,
    ) -> None:
        super().__init__(max_batch=max_batch)
        if sync not in ("full", "normal"):
            raise ValueError("sync must be 'full' or 'normal'")
        chosen = writer or _writer_from_env()
        if chosen not in ("process", "thread"):
            raise ValueError("writer must be 'process' or 'thread'")
        self.writer: Literal["process", "thread"] = "process" if chosen == "process" else "thread"
        self._channels: dict[asyncio.AbstractEventLoop, WriterChannel] = {}
        self._channels_closed = False
        self.path = Path(path)
        if not create and not self.path.exists():
            raise LedgerError(f"no ledger at {self.path}")
        if create:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self.sync = sync
        self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30.0)
        try:
            self._conn.execute("PRAGMA journal_mode=WAL")
            configure_writer(self._conn, sync)
            if create:
                for stmt in SCHEMA:
                    # INTEGER PRIMARY KEY: seq is the rowid itself (one b-tree less per commit).
                    self._conn.execute(stmt.replace("{seq_type}", "INTEGER"))
        except sqlite3.Error as exc:
            self._conn.close()
            raise LedgerError(f"cannot open the ledger {self.path}: {exc}") from None
        # Checkpoints (copying the WAL into the main file) run in a background thread, not in
        # the commit of whichever decision happens to cross the WAL size threshold.
        self._stop = threading.Event()
        self._dirty = threading.Event()
        self._checkpointer = threading.Thread(
            target=self._checkpoint_loop,
            args=(checkpoint_interval,),
            name="guard-ledger-checkpoint",
            daemon=True,
        )
        self._checkpointer.start()
        # The event-loop path (`append_async` with sync="normal"): its own connection, which never
        # waits for the write lock (busy timeout 0: if another writer holds it, the batch goes to
        # the committer thread instead). Set up with the usual timeout, since opening may briefly
        # meet another connection's lock (the checkpointer's first read of a new WAL file).
        self._loop_conn = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=30.0
        )
        try:
            configure_writer(self._loop_conn, "normal")  # reads the schema: may wait
        except sqlite3.Error as exc:
            self._loop_conn.close()
            self._stop.set()
            self._checkpointer.join(timeout=30)
            self._conn.close()
            raise LedgerError(f"cannot open the ledger {self.path}: {exc}") from None
        self._loop_conn.execute("PRAGMA busy_timeout=0")
        self._loop_pending: dict[
            asyncio.AbstractEventLoop, list[tuple[dict[str, Any], asyncio.Future[int]]]
        ] = {}

    # -- the event-loop path ---------------------------------------------------------------------
    async def append_async(self, entry: dict[str, Any]) -> int:
        """Commit one record from an event loop; return its seq once it is committed.

        With `sync="full"` the commit (and SQLite's own WAL fsync) runs off the loop: in a writer
        process (`writer="process"`, the default: `guard.audit.writer`), or on the committer
        thread of `AuditLedger.append_async` (`writer="thread"`, and if the process cannot be
        started). With `sync="normal"` there is no fsync to wait for, so the records handed over
        in one loop iteration are committed together by a callback on the loop itself: no thread
        hand-off, which on this 2-vCPU machine cost ≈0.1 ms of CPU and ≈0.1 ms of latency per
        commit (`bench/bench_proxy.py`). The loop never waits for another writer's lock: when it
        is held (another process, or the committer thread), the batch goes to the committer
        thread, which waits for it.
        """
        if self.sync == "full":
            if self.writer == "process":
                return await self._append_via_process(entry)
            return await super().append_async(entry)
        if self._closed:
            raise LedgerError("ledger is closed")
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[int] = loop.create_future()
        pending = self._loop_pending.get(loop)
        if pending is None:
            pending = self._loop_pending[loop] = []
            loop.call_soon(self._flush_loop, loop)
        pending.append((entry, fut))
        return await fut

    async def _append_via_process(self, entry: dict[str, Any]) -> int:
        try:
            line = hand_over_line(entry)
        except (TypeError, ValueError) as exc:  # not JSON (as the in-process commit would find)
            raise LedgerError(f"ledger write failed: {type(exc).__name__}") from exc
        channel = self._channel(asyncio.get_running_loop())
        if channel is None:  # the process could not be started: the committer thread
            return await super().append_async(entry)
        return await channel.submit(line)

    @property
    def writer_pids(self) -> list[int]:
        """The process ids of this ledger's writer processes (one per event loop that appended)."""
        with self._committer_lock:
            return [c.pid for c in self._channels.values()]

    def _channel(self, loop: asyncio.AbstractEventLoop) -> WriterChannel | None:
        """This loop's writer process: started on first use, and again after one died."""
        with self._committer_lock:
            if self._closed or self._channels_closed:
                raise LedgerError("ledger is closed")
            channel = self._channels.get(loop)
            if channel is not None and not channel.broken:
                return channel
            stale = [c for lp, c in self._channels.items() if c.broken or lp.is_closed()]
            for c in stale:
                del self._channels[c.loop]
            if channel is not None and channel.answered == 0:
                # It ended before its first answer: it cannot run here (no usable interpreter at
                # sys.executable, a sandbox). Its records failed closed; the thread takes over.
                _log.warning(
                    "ledger writer process ended before its first commit: committing on a thread instead"
                )
                self.writer = "thread"
                channel = None
            else:
                try:
                    channel = WriterChannel(
                        self.path, self.sync, loop, on_commit=self._dirty.set, error=LedgerError
                    )
                except OSError as exc:
                    _log.warning(
                        "ledger writer process not started (%s): committing on a thread instead",
                        type(exc).__name__,
                    )
                    self.writer = "thread"
                    channel = None
                else:
                    self._channels[loop] = channel
        for c in stale:
            c.close()
        return channel

    def _flush_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        batch = self._loop_pending.pop(loop, [])
        if not batch:
            return
        try:
            seqs = self._write_loop_batch([entry for entry, _ in batch])
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                _settle([(fut, 0) for _, fut in batch], exc)
                return
            for entry, fut in batch:  # another writer holds the lock: the committer thread waits for it
                try:
                    self._submit_committer(entry, loop, fut)
                except LedgerError as err:
                    _settle([(fut, 0)], err)
            return
        except BaseException as exc:  # not committed: every waiter fails closed
            _settle([(fut, 0) for _, fut in batch], exc)
            return
        _settle([(fut, seq) for (_, fut), seq in zip(batch, seqs, strict=True)], None)

    def _write_loop_batch(self, entries: Sequence[dict[str, Any]]) -> list[int]:
        # BEGIN IMMEDIATE raises "database is locked" at once if another writer holds the lock.
        return self._commit(self._loop_conn, entries)

    def _commit(self, conn: sqlite3.Connection, entries: Sequence[dict[str, Any]]) -> list[int]:
        seqs = commit_entries(conn, entries)
        self._dirty.set()
        return seqs

    def _checkpoint_loop(self, interval: float) -> None:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30.0)
        try:
            conn.execute(f"PRAGMA synchronous={self.sync.upper()}")
            # Only RESTART waits on locks (PASSIVE never does): bound how long it holds commits back.
            conn.execute(f"PRAGMA busy_timeout={_RESTART_WAIT_MS}")
            restart_at = WAL_RESTART_FRAMES
            while not self._stop.wait(interval):
                if self._dirty.is_set():
                    self._dirty.clear()
                    try:
                        restart_at = self._checkpoint(conn, restart_at)
                    except sqlite3.Error as exc:  # the WAL stays valid; the next round tries again
                        _log.warning("ledger checkpoint failed (%s); retrying", type(exc).__name__)
                        self._dirty.set()
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        except sqlite3.Error:
            pass  # the next writer's open or checkpoint catches up; the WAL stays valid
        finally:
            conn.close()

    @staticmethod
    def _checkpoint(conn: sqlite3.Connection, restart_at: int) -> int:
        """One PASSIVE checkpoint; past `restart_at` frames also a RESTART. The next threshold.

        The PASSIVE ones copy nearly everything without holding anyone back, so the RESTART
        after them has only the last few commits to copy before the next writer starts the WAL
        over. If it cannot get its locks within `_RESTART_WAIT_MS` (a long read is using the
        WAL, or back-to-back commits keep the write lock), it is tried again once the WAL has
        grown by as much again.
        """
        _, frames, _ = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        if frames < restart_at:
            return WAL_RESTART_FRAMES if frames < WAL_RESTART_FRAMES else restart_at
        # A second PASSIVE copies what was committed during the first (which may have copied
        # thousands of frames): the RESTART's own copy, done while it holds commits back, stays short.
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        busy, _, _ = conn.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()
        return WAL_RESTART_FRAMES if not busy else frames + WAL_RESTART_FRAMES

    def _write_batch(self, entries: Sequence[dict[str, Any]]) -> list[int]:
        return self._commit(self._conn, entries)

    def _read(self, sql: str, params: Sequence[Any]) -> Iterator[tuple[Any, ...]]:
        conn = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True, timeout=30.0)
        try:
            yield from conn.execute(sql, list(params))
        except sqlite3.Error as exc:
            raise LedgerError(f"cannot read the ledger {self.path}: {exc}") from None
        finally:
            conn.close()

    def execute_raw(self, sql: str, params: Sequence[Any] = ()) -> None:
        """Run one statement outside the chain (tests use it to tamper with rows)."""
        with self._gc.commit_lock:
            self._conn.execute(sql, list(params))

    def close(self) -> None:
        if self._closed:
            return
        pending, self._loop_pending = self._loop_pending, {}
        for loop, batch in pending.items():  # not flushed yet: the committer commits and settles them
            for entry, fut in batch:
                self._submit_committer(entry, loop, fut)
        with self._committer_lock:
            self._channels_closed = True  # no new writer process from here on
            channels, self._channels = list(self._channels.values()), {}
        for channel in channels:  # each writer process commits what it was handed, then ends
            channel.close()
        super().close()  # stops the committer once what it holds is committed
        self._stop.set()
        self._checkpointer.join(timeout=30)
        with self._gc.commit_lock:
            self._conn.close()
        self._loop_conn.close()


def _writer_from_env() -> str:
    return os.environ.get("GUARD_LEDGER_WRITER", "process").strip().lower() or "process"


def default_ledger_target() -> str:
    """GUARD_LEDGER, or ./var/guard-ledger.db."""
    return os.environ.get("GUARD_LEDGER") or str(Path("var") / "guard-ledger.db")


def open_ledger(target: str | None = None, *, create: bool = True, **options: Any) -> AuditLedger:
    """A ledger from a SQLite path or a PostgreSQL DSN (`postgresql://…`).

    SQLite's sync policy comes from `sync=` or GUARD_LEDGER_SYNC (`full`, the default, or `normal`);
    with `full`, where the event loop's commits run from `writer=` or GUARD_LEDGER_WRITER (`process`,
    the default, or `thread`).
    """
    t = target or default_ledger_target()
    if t.startswith(("postgresql://", "postgres://")) or t.startswith("host=") or " dbname=" in t:
        from guard.audit.postgres import PostgresLedger

        return PostgresLedger(t, create=create, **options)
    sync = options.pop("sync", None) or os.environ.get("GUARD_LEDGER_SYNC", "full").strip().lower()
    if sync not in ("full", "normal"):
        raise LedgerError(f"GUARD_LEDGER_SYNC must be full or normal, not {sync!r}")
    writer = options.pop("writer", None) or _writer_from_env()
    if writer not in ("process", "thread"):
        raise LedgerError(f"GUARD_LEDGER_WRITER must be process or thread, not {writer!r}")
    return SqliteLedger(
        t,
        create=create,
        sync="full" if sync == "full" else "normal",
        writer="process" if writer == "process" else "thread",
        **options,
    )
