"""Fixtures for the audit tests: ledgers on SQLite and on a real PostgreSQL, a real OTLP collector."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from guard.audit.ledger import AuditLedger, SqliteLedger
from guard.audit.postgres import PostgresLedger
from tests.audit.realparts import PostgresCluster, RotelCollector


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PostgresCluster]:
    """One PostgreSQL cluster for the whole session (initdb takes seconds)."""
    with PostgresCluster() as c:
        yield c


@pytest.fixture
def pg_dsn(pg_cluster: PostgresCluster) -> Iterator[str]:
    """A DSN on a fresh, empty database."""
    with psycopg.connect(pg_cluster.dsn, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS guard_test")
        conn.execute("CREATE DATABASE guard_test")
    yield pg_cluster.dsn.rsplit("/", 1)[0] + "/guard_test"


@pytest.fixture(params=["sqlite", "postgres"])
def make_ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], AuditLedger]]:
    """A factory of ledgers on one store; several calls = several replicas sharing it."""
    opened: list[AuditLedger] = []
    if request.param == "sqlite":
        path = tmp_path / "ledger.db"

        def factory() -> AuditLedger:
            led: AuditLedger = SqliteLedger(path)
            opened.append(led)
            return led
    else:
        dsn = request.getfixturevalue("pg_dsn")

        def factory() -> AuditLedger:
            led: AuditLedger = PostgresLedger(dsn)
            opened.append(led)
            return led

    yield factory
    for led in opened:
        led.close()


@pytest.fixture
def collector(tmp_path: Path) -> Iterator[RotelCollector]:
    """The rotel OTLP collector on free ports, printing what it receives."""
    with RotelCollector(tmp_path) as c:
        yield c
