"""How `guard serve` runs the app: uvicorn on uvloop's event loop, parsing HTTP with httptools.

Both are dependencies (uvicorn's `[standard]` pair). On the benchmark machine, guarded and
relayed requests alike were served ≈ 25–35 % faster on them than on asyncio's own loop and h11,
the pure-Python parser uvicorn uses otherwise (docs/benchmarks.md, "Proxy → thirteenth round").
Where either cannot be imported (uvloop has no Windows build) the server runs on the standard
one and says so in a warning at start, rather than failing.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

__all__ = ["server_options", "server_stack"]

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
