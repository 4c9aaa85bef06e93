"""Real peers for the audit tests: a rotel OTLP collector and a throw-away PostgreSQL cluster.

Reusable by other test suites (e.g. the proxy's end-to-end tests): `RotelCollector` and
`PostgresCluster` are context managers that start the real binaries on 127.0.0.1 free ports.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

__all__ = ["CollectedSpan", "PostgresCluster", "RotelCollector", "free_port", "wait_port"]


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 15.0) -> None:
    """Block until something accepts connections on 127.0.0.1:port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


@dataclass
class CollectedSpan:
    """One span as the collector printed it: name, ids, raw attribute values (`Str(x)`, `Int(3)`…)."""

    name: str = ""
    trace_id: str = ""
    span_id: str = ""
    parent_id: str = ""
    kind: str = ""
    attributes: dict[str, str] = field(default_factory=dict)

    def str_attr(self, key: str) -> str | None:
        """The attribute's value if it is a string (`Str(x)` -> x)."""
        raw = self.attributes.get(key)
        if raw is None or not raw.startswith("Str("):
            return None
        return raw[4:-1]


_KV = re.compile(r"^\s*(Trace ID|Parent ID|ID|Name|Kind)\s*:\s*(.*)$")
_ATTR = re.compile(r"^\s*-> ([^:]+): (.*)$")


class RotelCollector:
    """The rotel OTLP collector (the binary shipped in the `rotel` wheel), printing what it receives.

    It runs with the blackhole exporter and `--debug-log traces,metrics --debug-log-verbosity
    detailed`, so every received span and metric is written to `output` as text we can read back.
    """

    def __init__(self, workdir: Path) -> None:
        import rotel

        self.binary = Path(rotel.__file__).parent / "rotel-agent"
        if not self.binary.exists():
            raise FileNotFoundError(f"rotel-agent binary not found at {self.binary}")
        self.workdir = workdir
        self.output = workdir / "rotel-out.txt"
        self.grpc_port, self.http_port = free_port(), free_port()
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def http_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def grpc_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.grpc_port}"

    def __enter__(self) -> RotelCollector:
        cmd = [
            str(self.binary), "start",
            "--exporter", "blackhole",
            "--debug-log", "traces", "--debug-log", "metrics",
            "--debug-log-verbosity", "detailed",
            "--otlp-grpc-endpoint", f"127.0.0.1:{self.grpc_port}",
            "--otlp-http-endpoint", f"127.0.0.1:{self.http_port}",
            "--pid-file", str(self.workdir / "rotel.pid"),
            "--log-file", str(self.workdir / "rotel.log"),
        ]  # fmt: skip
        with open(self.output, "wb") as out:
            self._proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        wait_port(self.http_port)
        wait_port(self.grpc_port)
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._proc is not None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()

    def text(self) -> str:
        """Everything the collector printed so far (ANSI colours removed)."""
        return re.sub(r"\x1b\[[0-9;]*m", "", self.output.read_text(encoding="utf-8", errors="replace"))

    def spans(self) -> list[CollectedSpan]:
        """Spans printed so far."""
        spans: list[CollectedSpan] = []
        cur: CollectedSpan | None = None
        for line in self.text().splitlines():
            if line.startswith("Span #"):
                cur = CollectedSpan()
                spans.append(cur)
                continue
            if line.startswith(("ResourceSpans", "ResourceMetrics", "ScopeSpans")):
                cur = None
                continue
            if cur is None:
                continue
            m = _KV.match(line)
            if m:
                key, val = m.group(1), m.group(2).strip()
                if key == "Trace ID":
                    cur.trace_id = val
                elif key == "Parent ID":
                    cur.parent_id = val
                elif key == "ID":
                    cur.span_id = val
                elif key == "Name":
                    cur.name = val
                else:
                    cur.kind = val
                continue
            a = _ATTR.match(line)
            if a:
                cur.attributes[a.group(1).strip()] = a.group(2).strip()
        return spans

    def wait_for(self, predicate: Any, timeout: float = 15.0) -> list[CollectedSpan]:
        """Poll until `predicate(spans)` is true; return the spans."""
        deadline = time.monotonic() + timeout
        while True:
            spans = self.spans()
            if predicate(spans):
                return spans
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"collector did not receive the expected spans; got {[s.name for s in spans]}"
                )
            time.sleep(0.1)


def _pg_bin(name: str) -> str | None:
    for d in (None, "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/17/bin"):
        found = (
            shutil.which(name) if d is None else (f"{d}/{name}" if os.path.exists(f"{d}/{name}") else None)
        )
        if found:
            return found
    return None


class PostgresCluster:
    """A temporary PostgreSQL cluster (initdb + pg_ctl) on 127.0.0.1, removed on exit.

    initdb refuses to run as root, so as root the cluster belongs to `nobody`.
    """

    def __init__(self) -> None:
        initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
        if not initdb or not pg_ctl:
            raise FileNotFoundError("initdb/pg_ctl not found (apt-get install -y postgresql)")
        self.initdb, self.pg_ctl = initdb, pg_ctl
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="guard-pg-"))
        self.data = self.dir / "data"
        self._as: list[str] = []
        if os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            os.chown(self.dir, nobody.pw_uid, nobody.pw_gid)
            self._as = ["runuser", "-u", "nobody", "--"]

    @property
    def dsn(self) -> str:
        return f"postgresql://guard@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        subprocess.run([*self._as, *args], check=True, capture_output=True, timeout=120)

    def __enter__(self) -> PostgresCluster:
        self._run(self.initdb, "-D", str(self.data), "-A", "trust", "-U", "guard", "-E", "UTF8", "--no-sync")
        opts = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c shared_buffers=16MB -c max_connections=40"
        self._run(
            self.pg_ctl,
            "-D",
            str(self.data),
            "-o",
            opts,
            "-l",
            str(self.dir / "log"),
            "-w",
            "-t",
            "60",
            "start",
        )
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            self._run(self.pg_ctl, "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)
