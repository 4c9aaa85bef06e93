"""The shared ledger on PostgreSQL (psycopg 3): same schema and chain as the SQLite ledger.

Several replicas may append at once: every commit takes a transaction-scoped advisory lock
(`pg_advisory_xact_lock`) before reading the chain head, so commits from all replicas form one
linear chain. Group commit applies within each replica. Durability follows the server's
`synchronous_commit` (on by default: the commit returns after the WAL is flushed).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import psycopg

from guard.audit.ledger import _INSERT, _LAST, GENESIS_HASH, SCHEMA, AuditLedger, LedgerError

__all__ = ["ADVISORY_LOCK_KEY", "PostgresLedger"]

# Any constant works; all replicas must agree on it. ("guard" in ASCII.)
ADVISORY_LOCK_KEY = 0x6775617264


class PostgresLedger(AuditLedger):
    """A ledger in a PostgreSQL database shared by several guard replicas."""

    placeholder = "%s"

    def __init__(
        self, dsn: str, *, max_batch: int = 512, create: bool = True, connect_timeout: int = 10
    ) -> None:
        super().__init__(max_batch=max_batch)
        self.dsn = dsn
        self._connect_timeout = connect_timeout
        try:
            self._conn = psycopg.connect(dsn, connect_timeout=connect_timeout)
        except psycopg.Error as exc:
            raise LedgerError(f"cannot connect to the PostgreSQL ledger: {type(exc).__name__}") from None
        if create:
            with self._conn.transaction():
                self._conn.execute("SELECT pg_advisory_xact_lock(%s)", (ADVISORY_LOCK_KEY,))
                for stmt in SCHEMA:
                    self._conn.execute(stmt.replace("{seq_type}", "BIGINT"))

    def _write_batch(self, entries: Sequence[dict[str, Any]]) -> list[int]:
        conn = self._conn
        if conn.closed or conn.broken:
            conn = self._conn = psycopg.connect(self.dsn, connect_timeout=self._connect_timeout)
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (ADVISORY_LOCK_KEY,))
            last = conn.execute(self._sql(_LAST)).fetchone()
            rows = self._chain(entries, *(last if last else (0, GENESIS_HASH)))
            with conn.cursor() as cur:
                cur.executemany(self._sql(_INSERT), rows)
        return [r[0] for r in rows]

    def _read(self, sql: str, params: Sequence[Any]) -> Iterator[tuple[Any, ...]]:
        with psycopg.connect(self.dsn, connect_timeout=self._connect_timeout) as conn:
            conn.read_only = True
            with conn.cursor(name="guard_audit_read") as cur:  # server-side: streams large ledgers
                try:
                    cur.execute(sql, list(params))
                    yield from cur
                except psycopg.Error as exc:
                    raise LedgerError(f"cannot read the PostgreSQL ledger: {type(exc).__name__}") from None

    def execute_raw(self, sql: str, params: Sequence[Any] = ()) -> None:
        """Run one statement outside the chain (tests use it to tamper with rows)."""
        with self._gc.commit_lock, self._conn.transaction():
            self._conn.execute(sql, list(params))

    def close(self) -> None:
        super().close()
        with self._gc.commit_lock:
            self._conn.close()
