"""How `guard serve` runs the app: uvicorn on uvloop's event loop, parsing HTTP with httptools.

Both are dependencies (uvicorn's `[standard]` pair). On the benchmark machine, guarded and
relayed requests alike were served ≈ 25–35 % faster on them than on asyncio's own loop and h11,
the pure-Python parser uvicorn uses otherwise (docs/benchmarks.md, "Proxy → thirteenth round").
Where either cannot be imported (uvloop has no Windows build) the server runs on the standard
one and says so in a warning at start, rather than failing.

With `workers` above 1, `guard serve` binds the port once and runs that many worker processes on
it under uvicorn's supervisor (`uvicorn.supervisors.Multiprocess`), each building its own app with
`worker_app` from the settings the command resolved (`WORKER_SETTINGS_ENV`). A worker that cannot
start (an invalid policy, a ledger it cannot open) exits with uvicorn's start-up failure status,
and the supervisor then stops rather than starting it again and again.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import sys
from typing import Any

__all__ = ["WORKER_SETTINGS_ENV", "server_options", "server_stack", "worker_app"]

WORKER_SETTINGS_ENV = "GUARD_SERVE_WORKER_SETTINGS"
"""Set by `guard serve` for its workers: JSON `{"config_file": path or null, "overrides": {...}}`."""

log = logging.getLogger("guard.proxy.server")


def _importable(module: str) -> bool:
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


def server_stack() -> tuple[str, str]:
    """The event loop and HTTP parser the server runs on: ("uvloop" or "asyncio", "httptools" or "h11")."""
    return ("uvloop" if _importable("uvloop") else "asyncio", "httptools" if _importable("httptools") else "h11")


def server_options(*, host: str, port: int, log_level: str) -> dict[str, Any]:
    """`uvicorn.run`'s keyword arguments for `guard serve`: the loop and parser of `server_stack`,
    no access log."""
    loop, http = server_stack()
    if (loop, http) != ("uvloop", "httptools"):
        log.warning(
            "serving on %s's event loop with the %s HTTP parser: uvloop or httptools cannot be imported, "
            "and requests are served ≈ 25–35 %% slower without them (docs/operations.md)", loop, http,
        )
    return {"host": host, "port": port, "log_level": log_level, "access_log": False, "loop": loop, "http": http}


def worker_app() -> Any:
    """The app of one worker of `guard serve --workers N` (uvicorn's app factory, in the worker).

    The settings are resolved as the command resolved them: its settings file and command-line
    options (from `WORKER_SETTINGS_ENV`), over the environment the worker inherited.
    """
    from uvicorn.config import STARTUP_FAILURE

    from guard.proxy.app import create_app
    from guard.proxy.settings import load_settings

    try:
        spec = json.loads(os.environ[WORKER_SETTINGS_ENV])
        return create_app(load_settings(spec["config_file"], **spec["overrides"]))
    except Exception as exc:  # nothing is served by a worker that could not start: say why, stop
        log.error("worker process %d cannot start: %s: %s", os.getpid(), type(exc).__name__, exc)
        sys.exit(STARTUP_FAILURE)
