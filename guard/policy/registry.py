"""The policy set in force, swapped atomically on reload; a watcher reloads it when files change.

`PolicyRegistry.current` is the `PolicySet` serving now. A request reads it ONCE at its start and
keeps that object to the end, so it finishes on the version it began with. `reload()` validates
the whole folder first and only then replaces the reference (one assignment, atomic in Python);
an invalid folder is rejected with file:line problems, logged (problems only, never policy or
reply text), counted, and shown by `status()` (the `/readyz` detail) while the previous version
keeps serving. Hooks (`on_reload`) let metrics count reloads and failures.

`watch_policies` (asyncio; the server's) reloads on file changes read from inotify on the event
loop itself (`guard.policy.inotify`): no thread, nothing to do until a file changes. `PolicyWatcher`
(a thread, for synchronous embedders) reads the same descriptor in `select`. Where inotify is not
available, or polling is asked for (`force_polling`, `WATCHFILES_FORCE_POLLING`: network file
systems, where inotify does not see other hosts' writes), both poll the folder every 0.25 s
(`guard.policy.polling`), off the event loop, and reload once a change has settled.
"""

from __future__ import annotations

import asyncio
import logging
import os
import select
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from guard.policy.errors import PolicyError
from guard.policy.ignored import ignored
from guard.policy.inotify import FolderWatch
from guard.policy.loader import DEFAULT_POLICY_DIR, load_policy_set
from guard.policy.model import PolicySet
from guard.policy.polling import FolderPoll

__all__ = ["PolicyRegistry", "PolicyWatcher", "RegistryStatus", "ReloadOutcome", "watch_policies"]

log = logging.getLogger("guard.policy")

DEBOUNCE_MS = 100
_QUIET_S = 0.02  # a save's events come this close together (the step of the watchfiles watcher before)
_POLL_S = 0.25  # how often a polled folder is looked at
_SETTLE_LOOKS = 8  # a polled change is reloaded once a look finds it settled, or after this many looks
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
    folder = _folder(registry)
    inotify = _inotify_watch(folder, force_polling)
    if inotify is not None:
        await _watch_inotify(registry, folder, inotify, stop_event, debounce_ms, ready)
    else:
        await _watch_polling(registry, folder, stop_event, ready)


def _folder(registry: PolicyRegistry) -> Path:
    return registry.path if registry.path.is_dir() else registry.path.parent


def _inotify_watch(folder: Path, force_polling: bool | None) -> FolderWatch | None:
    """An inotify watch on `folder`, or None (then poll): polling asked for, or no inotify."""
    if force_polling or (force_polling is None and os.environ.get("WATCHFILES_FORCE_POLLING")):
        log.info("policy watcher: polling %s every %.2f s, as asked", folder, _POLL_S)
        return None
    try:
        return FolderWatch(folder)
    except OSError as exc:
        log.warning(
            "policy watcher: inotify not available (%s); polling %s every %.2f s",
            exc.strerror or exc, folder, _POLL_S,
        )
        return None


def _relevant(path: str) -> bool:
    return not ignored(path)


def _poll(folder: Path) -> FolderPoll:
    return FolderPoll(folder, _relevant)


async def _watch_polling(
    registry: PolicyRegistry, folder: Path, stop_event: asyncio.Event | None, ready: asyncio.Event | None
) -> None:
    """`watch_policies` by looking at the folder every `_POLL_S`, in a worker thread (a `stat` on a
    network file system may take long; the event loop must not wait for it)."""
    loop = asyncio.get_running_loop()
    stopping: asyncio.Future[Any] = (
        asyncio.ensure_future(stop_event.wait()) if stop_event is not None else loop.create_future()
    )
    try:
        poll = await asyncio.to_thread(_poll, folder)
        if ready is not None:
            ready.set()
        while True:
            await asyncio.wait({stopping}, timeout=_POLL_S)
            if stopping.done():
                return
            if not await asyncio.to_thread(poll.changed):
                continue
            for _ in range(_SETTLE_LOOKS):  # reload a settled folder, not a file half written
                await asyncio.wait({stopping}, timeout=_POLL_S)
                if stopping.done() or not await asyncio.to_thread(poll.changed):
                    break
            if stopping.done():
                return
            await asyncio.to_thread(registry.reload)
    finally:
        stopping.cancel()


def _relevant_change(watch: FolderWatch) -> bool:
    """Read `watch`'s queued events: did a file that matters change (or the folder go)?"""
    try:
        events = watch.read()
    except OSError as exc:  # not expected of inotify; look at the folder again rather than go blind
        log.error("policy watcher: reading inotify failed (%s)", exc.strerror or type(exc).__name__)
        watch.lost = True
        return True
    return watch.lost or any(_relevant(e.path) for e in events)


def _watch_now(folder: Path, first: bool) -> FolderWatch | None:
    """A new watch on `folder` if it exists; logs what happened to it. `first`: just lost."""
    try:
        found = FolderWatch(folder)
    except OSError:
        if first:
            log.warning("policy folder %s is gone; the last good set serves until it is back", folder)
        return None
    if first:
        log.info("policy folder %s was replaced; watching the new one", folder)  # a release swapped in
    else:
        log.info("policy folder %s is back; watching it again", folder)
    return found


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
        if _relevant_change(current):
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
            await asyncio.to_thread(registry.reload)
            if current.lost:
                loop.remove_reader(current.fileno())
                current.close()
                found = _watch_now(folder, first=True)
                if found is None:
                    await asyncio.to_thread(registry.reload)  # rejected: the folder's absence shows
                    found = await _watch_again(folder, stopping)
                    if found is None:
                        return
                current = found
                loop.add_reader(current.fileno(), readable)
                await asyncio.to_thread(registry.reload)  # what changed while nothing watched
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
    """A new watch on `folder` once it exists again (looked for each second); None if stopped first."""
    found = None
    while found is None and not stopping.done():
        await asyncio.wait({stopping}, timeout=_RETRY_S)
        found = _watch_now(folder, first=False)
    return found


class PolicyWatcher:
    """A background thread that reloads `registry` on file changes (for synchronous servers).

    `start()` returns once the file watcher is running; `stop()` ends the thread. As
    `watch_policies` does, it reads inotify where it can (the thread sleeps in `select` until a
    file changes or `stop()` is called) and polls the folder otherwise.
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
        self._wake_r, self._wake_w = -1, -1  # the inotify thread's `select` wakes for stop()

    def start(self) -> PolicyWatcher:
        self._wake_r, self._wake_w = os.pipe()
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
        folder = _folder(self.registry)
        inotify = _inotify_watch(folder, self.force_polling)
        if inotify is not None:
            self._watch_inotify(folder, inotify)
            return
        poll = _poll(folder)
        self._started.set()
        while not self._stop.wait(_POLL_S):
            if not poll.changed():
                continue
            for _ in range(_SETTLE_LOOKS):  # reload a settled folder, not a file half written
                if self._stop.wait(_POLL_S) or not poll.changed():
                    break
            if self._stop.is_set():
                return
            self.registry.reload()

    def _watch_inotify(self, folder: Path, watch: FolderWatch) -> None:
        current: FolderWatch | None = watch
        self._started.set()
        try:
            while current is not None and self._wait(current, None):
                if not _relevant_change(current):
                    continue
                deadline = time.monotonic() + self.debounce_ms / 1000
                while time.monotonic() < deadline and self._wait(current, _QUIET_S):  # the rest of the save
                    _relevant_change(current)
                if self._stop.is_set():
                    return
                self.registry.reload()
                if current.lost:
                    current.close()
                    current = _watch_now(folder, first=True)
                    if current is None:
                        self.registry.reload()  # rejected: the folder's absence shows
                    while current is None and not self._stop.wait(_RETRY_S):
                        current = _watch_now(folder, first=False)
                    if current is not None:
                        self.registry.reload()  # what changed while nothing watched
        finally:
            if current is not None:
                current.close()

    def _wait(self, watch: FolderWatch, timeout: float | None) -> bool:
        """Until `watch` has events (True), `timeout` passes (False) or stop() (False)."""
        ready, _, _ = select.select([watch.fileno(), self._wake_r], [], [], timeout)
        return watch.fileno() in ready and not self._stop.is_set()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._wake_w >= 0:
            os.write(self._wake_w, b"x")  # wakes the inotify thread's select
        if self._thread is not None:
            self._thread.join(timeout)
        if self._wake_w >= 0 and (self._thread is None or not self._thread.is_alive()):
            os.close(self._wake_r)
            os.close(self._wake_w)
            self._wake_r, self._wake_w = -1, -1

    def __enter__(self) -> PolicyWatcher:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
