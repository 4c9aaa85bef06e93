"""Kill -9 a process that writes decisions, collect what it acknowledged (reusable).

The writer prints one trace id per line, after the call that makes the record durable returned
(for the proxy: after the client received the response). `run_and_kill` starts it, lets it
acknowledge at least `min_acks` ids, kills it with SIGKILL, and returns every id it printed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

__all__ = ["run_and_kill", "writer_command", "writer_processes"]

REPO_ROOT = Path(__file__).resolve().parents[2]


def run_and_kill(
    cmd: Sequence[str], *, min_acks: int, timeout: float = 60.0, env: dict[str, str] | None = None
) -> list[str]:
    """Run `cmd`, SIGKILL it once it printed `min_acks` lines, return all lines it printed."""
    proc = subprocess.Popen(
        list(cmd),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPO_ROOT,
        env={**os.environ, **(env or {})},
    )
    assert proc.stdout is not None
    acks: list[str] = []
    deadline = time.monotonic() + timeout
    try:
        while len(acks) < min_acks:
            line = proc.stdout.readline()
            if not line:
                err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
                raise RuntimeError(f"writer exited early ({proc.wait()}): {err[-2000:]}")
            acks.append(line.decode().strip())
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {len(acks)} acknowledgements in {timeout}s")
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()
        rest, _ = proc.communicate(timeout=30)
    acks += [x for x in rest.decode().splitlines() if x.strip()]
    assert proc.returncode == -signal.SIGKILL, proc.returncode
    return acks


def writer_command(ledger: str, threads: int = 4, *, on_loop: bool = False) -> list[str]:
    """The bundled ledger writer (`tests.audit.ledger_writer`) as a command line: `threads`
    threads calling `decision`, or with `on_loop` as many tasks calling `decision_async`."""
    return [sys.executable, "-m", "tests.audit.ledger_writer", ledger, str(threads), *(["--async"] if on_loop else [])]


def writer_processes(ledger: Path) -> list[int]:
    """Ledger writer processes (`guard.audit.writer`) still running on `ledger`."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if any(a.endswith(b"guard/audit/writer.py") for a in argv) and str(ledger).encode() in argv and state != "Z":
            pids.append(int(proc.name))
    return pids
