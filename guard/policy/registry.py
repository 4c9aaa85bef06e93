"""The policy set in force, swapped atomically on reload; a watcher reloads it when files change.

`PolicyRegistry.current` is the `PolicySet` serving now. A request reads it ONCE at its start and
keeps that object to the end, so it finishes on the version it began with. `reload()` validates
the whole folder first and only then replaces the reference (one assignment, atomic in Python);
an invalid folder is rejected with file:line problems, logged (problems only, never policy or
reply text), counted, and shown by `status()` (the `/readyz` detail) while the previous version
keeps serving. Hooks (`on_reload`) let metrics count reloads and failures.

`watch_policies` (asyncio; the server's) reloads on file changes read from inotify on the event
loop itself (`guard.policy.inotify`): no thread, nothing to do until a file changes. Where inotify
is not available, or polling is asked for (`force_polling`, `WATCHFILES_FORCE_POLLING`: network file
systems), it watches with watchfiles instead, as `PolicyWatcher` (a thread) always does.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from watchfiles import Change, DefaultFilter, awatch, watch

from guard.policy.errors import PolicyError
from guard.policy.inotify import FolderWatch
from guard.policy.loader import DEFAULT_POLICY_DIR, load_policy_set
from guard.policy.model import PolicySet

__all__ = ["PolicyRegistry", "PolicyWatcher", "RegistryStatus", "ReloadOutcome", "watch_policies"]

log = logging.getLogger("guard.policy")

DEBOUNCE_MS = 100
_STARTUP_MS = 200  # how long an idle watcher waits before yielding; bounds start-up and stop time
_QUIET_S = 0.02  # a save's events come this close together (watchfiles' step, as before)
_RETRY_S = 1.0  # how often a removed policy folder is looked for


@dataclass(frozen=True, slots=True)
class ReloadOutcome:
    """What one reload did: `ok` and the version now serving, or the problems that rejected it."""

    ok: bool
    changed: bool
    version: str
    at: float  # unix seconds
    problems: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RegistryStatus:
    """Reload state for health endpoints: what serves, and the last rejected change (if any)."""

    version: str
    policies: dict[str, str]
    last_good_version: str
    last_good_at: float
    last_reload_at: float | None
    reloads: int
    failures: int
    last_error: tuple[str, ...] = field(default=())
    last_error_at: float | None = None

    @property
    def degraded(self) -> bool:
        """True when the newest attempt was rejected (the previous version still serves)."""
        return bool(self.last_error) and (self.last_error_at or 0) >= self.last_good_at

    def to_json(self) -> dict[str, Any]:
        return {
            "policy_set_version": self.version,
            "policies": dict(self.policies),
            "last_good_version": self.last_good_version,
            "last_good_at": self.last_good_at,
            "last_reload_at": self.last_reload_at,
            "reloads": self.reloads,
            "reload_failures": self.failures,
            "last_error": list(self.last_error),
            "last_error_at": self.last_error_at,
            "degraded": self.degraded,
        }


class PolicyRegistry:
    """Holds the `PolicySet` in force; `reload()` validates everything, then swaps one reference.

    The constructor loads the folder and raises `PolicyError` if it is invalid: a guard must not
    start without a valid policy (fail closed).
    """

    def __init__(self, path: str | Path | None = None, *, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path) if path is not None else DEFAULT_POLICY_DIR
        self._clock = clock
        self._lock = threading.Lock()  # serialises reloads; readers never take it
        self.on_reload: list[Callable[[ReloadOutcome], None]] = []
        self._current: PolicySet = load_policy_set(self.path)
        now = clock()
        self._good_at = now
        self._reload_at: float | None = None
        self._reloads = 0
        self._failures = 0
        self._error: tuple[str, ...] = ()
        self._error_at: float | None = None

    @property
    def current(self) -> PolicySet:
        """The policy set serving now. Read it once per request and keep the object."""
        return self._current

    def reload(self) -> ReloadOutcome:
        """Validate the whole folder; swap it in if valid, else keep serving the current set."""
        with self._lock:
            now = self._clock()
            self._reload_at = now
            self._reloads += 1
            try:
                new = load_policy_set(self.path)
            except Exception as exc:  # fail closed: whatever went wrong, the current set keeps serving
                self._failures += 1
                if isinstance(exc, PolicyError):
                    self._error = tuple(str(p) for p in exc.problems)
                else:
                    self._error = (f"{self.path}: unexpected error while loading policies ({type(exc).__name__})",)
                self._error_at = now
                outcome = ReloadOutcome(False, False, self._current.version, now, self._error)
                log.warning(
                    "policy reload rejected; still serving %s: %s",
                    self._current.version,
                    "; ".join(self._error),
                )
            else:
                changed = new.version != self._current.version
                if changed:
                    self._current = new  # the atomic swap: one reference assignment
                    log.info("policy set %s now serving (%s)", new.version, ", ".join(f"{n}={p.version}" for n, p in sorted(new.policies.items())))
                self._good_at = now
                self._error = ()
                self._error_at = None
                outcome = ReloadOutcome(True, changed, new.version, now)
        for hook in list(self.on_reload):
            try:
                hook(outcome)
            except Exception:  # a broken metric must not break reloading
                log.exception("policy reload hook failed")
        return outcome

    def status(self) -> RegistryStatus:
        cur = self._current
        return RegistryStatus(
            version=cur.version,
            policies={n: p.version for n, p in sorted(cur.policies.items())},
            last_good_version=cur.version,
            last_good_at=self._good_at,
            last_reload_at=self._reload_at,
            reloads=self._reloads,
            failures=self._failures,
            last_error=self._error,
            last_error_at=self._error_at,
        )


_FILTER = DefaultFilter()  # ignores editor swap/backup files, .git, __pycache__ …


def _relevant(change: Change, path: str) -> bool:
    return bool(_FILTER(change, path))


async def watch_policies(
    registry: PolicyRegistry,
    *,
    stop_event: asyncio.Event | None = None,
    debounce_ms: int = DEBOUNCE_MS,
    force_polling: bool | None = None,
    ready: asyncio.Event | None = None,
) -> None:
    """Reload `registry` whenever a file under its folder changes, until `stop_event` is set.

    Run it as a task (`asyncio.create_task(watch_policies(reg, stop_event=ev))`). `ready` is set
    once the watcher is started. Reloading runs in a worker thread so the event loop keeps serving.
    A save is reloaded once its events stop for 20 ms, or `debounce_ms` after the first; a change
    during a reload brings another. If the folder is removed (or the link naming it replaced), the
    reload says so, the last good set keeps serving, and the folder is watched again once it is back.
    """
    folder = registry.path if registry.path.is_dir() else registry.path.parent
    if not (force_polling or (force_polling is None and os.environ.get("WATCHFILES_FORCE_POLLING"))):
        try:
            watch = FolderWatch(folder)
        except OSError as exc:
            log.warning("policy watcher: inotify not available (%s); watching with watchfiles", exc.strerror or exc)
        else:
            await _watch_inotify(registry, folder, watch, stop_event, debounce_ms, ready)
            return
    watcher = awatch(
        folder,
        watch_filter=_relevant,
        debounce=debounce_ms,
        step=20,
        stop_event=stop_event,
        force_polling=force_polling,
        poll_delay_ms=100,
        rust_timeout=_STARTUP_MS,
        yield_on_timeout=True,
    )
    # The watcher exists once the generator yields (a timeout yields an empty set).
    async for changes in watcher:
        if ready is not None:
            ready.set()
        if changes:
            await asyncio.to_thread(registry.reload)


_KINDS = {"added": Change.added, "deleted": Change.deleted, "modified": Change.modified}


async def _watch_inotify(
    registry: PolicyRegistry,
    folder: Path,
    watch: FolderWatch,
    stop_event: asyncio.Event | None,
    debounce_ms: int,
    ready: asyncio.Event | None,
) -> None:
    """`watch_policies` on one inotify descriptor read by the event loop."""
    loop = asyncio.get_running_loop()
    changed = asyncio.Event()
    current = watch

    def readable() -> None:
        try:
            events = current.read()
        except OSError as exc:  # not expected of inotify; look at the folder again rather than go blind
            log.error("policy watcher: reading inotify failed (%s)", exc.strerror or type(exc).__name__)
            current.lost = True
            events = []
        if current.lost or any(_relevant(_KINDS[e.kind], e.path) for e in events):
            changed.set()

    stopping: asyncio.Future[Any] = (
        asyncio.ensure_future(stop_event.wait()) if stop_event is not None else loop.create_future()
    )
    loop.add_reader(current.fileno(), readable)
    try:
        if ready is not None:
            ready.set()
        while await _changed_or_stopped(changed, stopping):
            deadline = loop.time() + debounce_ms / 1000
            while True:  # the rest of the save: until its events stop, or the debounce runs out
                changed.clear()
                await asyncio.sleep(_QUIET_S)
                if not changed.is_set() or loop.time() >= deadline:
                    break
            changed.clear()
            await asyncio.to_thread(registry.reload)  # a removed folder is rejected (and shown) here
            if current.lost:
                loop.remove_reader(current.fileno())
                current.close()
                found = await _watch_again(folder, stopping)
                if found is None:
                    return
                current = found
                loop.add_reader(current.fileno(), readable)
                await asyncio.to_thread(registry.reload)
    finally:
        stopping.cancel()
        if current.fileno() >= 0:
            loop.remove_reader(current.fileno())
            current.close()


async def _changed_or_stopped(changed: asyncio.Event, stopping: asyncio.Future[Any]) -> bool:
    """Wait for a change (True) or the stop (False)."""
    waiter = asyncio.ensure_future(changed.wait())
    try:
        await asyncio.wait({waiter, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiter.cancel()
    return not stopping.done()


async def _watch_again(folder: Path, stopping: asyncio.Future[Any]) -> FolderWatch | None:
    """A new watch on `folder` once it exists again; None if stopped first."""
    try:
        found = FolderWatch(folder)
    except OSError:
        log.warning("policy folder %s is gone; the last good set serves until it is back", folder)
    else:
        log.info("policy folder %s was replaced; watching the new one", folder)  # a release swapped in
        return found
    while not stopping.done():
        await asyncio.wait({stopping}, timeout=_RETRY_S)
        try:
            found = FolderWatch(folder)
        except OSError:
            continue
        log.info("policy folder %s is back; watching it again", folder)
        return found
    return None


class PolicyWatcher:
    """A background thread that reloads `registry` on file changes (for synchronous servers).

    `start()` returns once the file watcher is running; `stop()` ends the thread.
    """

    def __init__(
        self, registry: PolicyRegistry, *, debounce_ms: int = DEBOUNCE_MS, force_polling: bool | None = None
    ) -> None:
        self.registry = registry
        self.debounce_ms = debounce_ms
        self.force_polling = force_polling
        self._stop = threading.Event()
        self._started = threading.Event()
        self._thread: threading.Thread | None = None
        self._failure: str | None = None

    def start(self) -> PolicyWatcher:
        self._thread = threading.Thread(target=self._run, name="guard-policy-watcher", daemon=True)
        self._thread.start()
        if not self._started.wait(5) or self._failure is not None:
            self.stop()
            raise RuntimeError(f"policy watcher did not start: {self._failure or 'timed out'}")
        return self

    def _run(self) -> None:
        try:
            self._watch()
        except Exception as exc:  # e.g. no inotify watches left: make start() fail loudly
            self._failure = type(exc).__name__
            log.error("policy watcher stopped: %s", self._failure)
            self._started.set()  # wake start() so it can report the failure

    def _watch(self) -> None:
        folder = self.registry.path if self.registry.path.is_dir() else self.registry.path.parent
        it = watch(
            folder,
            watch_filter=_relevant,
            debounce=self.debounce_ms,
            step=20,
            stop_event=self._stop,
            force_polling=self.force_polling,
            poll_delay_ms=100,
            rust_timeout=_STARTUP_MS,
            yield_on_timeout=True,
            raise_interrupt=False,
        )
        # The watcher exists once the generator yields (a timeout yields an empty set).
        for changes in it:
            self._started.set()
            if changes:
                self.registry.reload()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def __enter__(self) -> PolicyWatcher:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
