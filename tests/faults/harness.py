"""The app as `guard serve` builds it (`create_app(settings)`): shipped policies, a real SQLite
ledger in tmp, uvicorn on 127.0.0.1, in front of any upstream URL. Shared by tests/faults and
tests/security."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openai import OpenAI

from guard.audit.ledger import open_ledger
from guard.proxy.app import create_app
from guard.proxy.settings import ApiKey, GuardSettings
from guard.testing.server import serve_in_thread

CALLER, AUDITOR, ADMIN = "sk-faults-caller", "sk-faults-auditor", "sk-faults-admin"
KEYS = (
    ApiKey(name="dialogue", key=CALLER, role="caller"),
    ApiKey(name="qa", key=AUDITOR, role="auditor"),
    ApiKey(name="ops", key=ADMIN, role="admin"),
)
RECORD: dict[str, Any] = {
    "customer_id": "C1",
    "name": "张飞",
    "gender": "male",
    "credit_line": 4000,
    "phone": "13812345678",
}


@dataclass
class Served:
    """A running guard: its base URL and its ledger file."""

    url: str
    ledger: Path

    def client(self, key: str = CALLER) -> OpenAI:
        return OpenAI(base_url=self.url + "/v1", api_key=key, max_retries=0, timeout=30)

    def records(self) -> dict[str, dict[str, Any]]:
        """Every ledger record by trace id (read through a second connection, as an auditor would)."""
        led = open_ledger(str(self.ledger), create=False)
        try:
            return {row.trace_id: row.record() for row in led.rows()}
        finally:
            led.close()


@contextlib.contextmanager
def serve_guard(upstream_url: str, tmp: Path, *, uvicorn_log_level: str = "warning", **overrides: Any) -> Iterator[Served]:
    """`create_app(settings)` with the shipped policies and a ledger in `tmp`, served by uvicorn."""
    ledger = tmp / "ledger.db"
    options: dict[str, Any] = {
        "upstream_base_url": upstream_url,
        "ledger": str(ledger),
        "crm_source": "none",
        "api_keys": KEYS,
        "upstream_read_timeout": 1.5,  # generous: an in-process peer on a loaded 2-core machine
        "upstream_connect_timeout": 3.0,
        "upstream_retries": 0,
        "policy_watch": False,
        **overrides,
    }
    with serve_in_thread(create_app(GuardSettings(**options)), log_level=uvicorn_log_level) as url:
        yield Served(url, ledger)


@contextlib.contextmanager
def full_backlog_port() -> Iterator[int]:
    """A port that is listened on but never accepts: once its backlog is full, SYNs are dropped,
    so a connect attempt times out (a deterministic stand-in for an unroutable host)."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    fillers = []
    try:
        for _ in range(8):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                s.connect(("127.0.0.1", port))
            fillers.append(s)
        yield port
    finally:
        for s in fillers:
            s.close()
        server.close()


def closed_port() -> int:
    """A port nothing listens on (connection refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
