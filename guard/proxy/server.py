"""How `guard serve` runs the app: uvicorn on uvloop's event loop, parsing HTTP with httptools.

Both are dependencies (uvicorn's `[standard]` pair). On the benchmark machine, guarded and
relayed requests alike were served ≈ 25–35 % faster on them than on asyncio's own loop and h11,
the pure-Python parser uvicorn uses otherwise (docs/benchmarks.md, "Proxy → thirteenth round").
Where either cannot be imported (uvloop has no Windows build) the server runs on the standard
one and says so in a warning at start, rather than failing.

With `workers` above 1, `guard serve` runs that many worker processes (`serve_workers`), each
building its own app with `worker_app` from the settings the command resolved
(`WORKER_SETTINGS_ENV`) and listening on its own socket, all bound to the one port with
`SO_REUSEPORT`: the kernel spreads new connections over them by their addresses. (With one
socket shared by all, as uvicorn's own `--workers` does, whichever worker wakes first accepts every
pending connection: 16 connections opened together went all to one of two workers in 5 of 8
trials, and a keep-alive connection stays where it was accepted.) A worker that cannot start (an
invalid policy, a ledger it cannot open) exits with uvicorn's start-up failure status, and the
supervisor then stops the others instead of starting it again and again; a worker that ends
later is replaced.
"""

from __future__ import annotations

import copy
import importlib
import json
import logging
import multiprocessing
import os
import signal
import socket
import sys
import threading
from multiprocessing.process import BaseProcess
from typing import Any

__all__ = ["WORKER_SETTINGS_ENV", "log_config", "serve_workers", "server_options", "server_stack", "worker_app"]

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


def log_config(log_level: str) -> dict[str, Any]:
    """uvicorn's logging configuration plus the guard's own loggers (`guard.*`) on its handler, at
    `log_level`: without it their INFO lines (the start-up heap, policy reloads) were dropped and
    their warnings printed bare, without a level. They still propagate (to no handler, unless an
    embedder configured the root logger)."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    level = "DEBUG" if log_level.lower() == "trace" else log_level.upper()
    config["loggers"]["guard"] = {"handlers": ["default"], "level": level, "propagate": True}
    return config


def worker_app() -> Any:
    """The app of one worker of `guard serve --workers N` (uvicorn's app factory, in the worker).

    The settings are resolved as the command resolved them: its settings file and command-line
    options (from `WORKER_SETTINGS_ENV`), over the environment the worker inherited.
    """
    from uvicorn.config import STARTUP_FAILURE

    from guard.policy.errors import PolicyError
    from guard.proxy.app import create_app
    from guard.proxy.settings import ConfigError, load_settings

    try:
        spec = json.loads(os.environ[WORKER_SETTINGS_ENV])
        return create_app(load_settings(spec["config_file"], **spec["overrides"]))
    except (ConfigError, PolicyError) as exc:  # nothing is served by a worker that could not start: say why, stop
        log.error("worker process %d cannot start: %s", os.getpid(), exc)  # these messages hold no values
        sys.exit(STARTUP_FAILURE)
    except Exception as exc:  # anything else: its type only (a message may quote a setting's value)
        log.error("worker process %d cannot start: %s", os.getpid(), type(exc).__name__)
        sys.exit(STARTUP_FAILURE)


def _run_worker(sock: socket.socket, options: dict[str, Any]) -> None:
    """One worker process: uvicorn's server with `worker_app`, on its own listening socket."""
    import uvicorn
    from uvicorn.config import STARTUP_FAILURE

    server = uvicorn.Server(uvicorn.Config("guard.proxy.server:worker_app", factory=True, **options))
    server.run(sockets=[sock])  # until SIGTERM or SIGINT (uvicorn's handlers: in-flight requests finish)
    if not server.started:
        sys.exit(STARTUP_FAILURE)


def _listening_sockets(host: str, port: int, count: int) -> list[socket.socket]:
    """`count` sockets bound to one port with SO_REUSEPORT; OSError when the port is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # A plain bind first: it fails when anything listens there (a second `guard serve` with
    # SO_REUSEPORT would otherwise join the first one's port), and picks the port for port 0.
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))
        port = probe.getsockname()[1]
    out: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(family, socket.SOCK_STREAM)
            out.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind((host, port))
            sock.set_inheritable(True)
    except BaseException:
        for sock in out:
            sock.close()
        raise
    return out


def serve_workers(workers: int, options: dict[str, Any]) -> int:
    """Run `workers` worker processes on `options`' host and port until SIGTERM or SIGINT.

    `options` are `server_options`'s. Returns 0 after a requested stop, or uvicorn's start-up
    failure status when a worker could not start (the others are stopped then). Raises OSError
    when the port cannot be bound. Needs SO_REUSEPORT (Linux).
    """
    from uvicorn.config import STARTUP_FAILURE

    if not hasattr(socket, "SO_REUSEPORT"):
        raise OSError("several workers need SO_REUSEPORT, which this platform does not have")
    sockets = _listening_sockets(options["host"], options["port"], workers)
    context = multiprocessing.get_context("spawn")
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}

    def start(index: int) -> BaseProcess:
        process = context.Process(target=_run_worker, args=(sockets[index], options), name=f"guard-worker-{index}")
        process.start()
        return process

    failed = False
    processes: list[BaseProcess] = []
    try:
        processes = [start(i) for i in range(workers)]
        host, port = sockets[0].getsockname()[:2]
        print(f"guard serve: http://{host}:{port}, {workers} worker processes (pid {os.getpid()} supervises)",
              file=sys.stderr, flush=True)
        while not stop.wait(0.5):
            for i, process in enumerate(processes):
                if process.is_alive():
                    continue
                process.join()
                if process.exitcode == STARTUP_FAILURE:
                    log.error("worker process %s could not start; stopping the others", process.pid)
                    failed = True
                    stop.set()
                    break
                log.warning("worker process %s ended (exit status %s); starting another", process.pid, process.exitcode)
                processes[i] = start(i)
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()  # SIGTERM: uvicorn finishes in-flight requests, the ledger its commits
        for process in processes:
            process.join()
        for sock in sockets:
            sock.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return STARTUP_FAILURE if failed else 0
