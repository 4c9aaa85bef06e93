"""One view of the policy folder's files for the length of one load.

Loading a folder reads a file several times: as a policy, as the base another policy `extends`,
as a word list every policy that inherits the lexicon check uses. For the default folder that
was 49 opens, 65 `stat`s and 174 `lstat`s; inside `snapshot()` each file is read once (11
opens), and every later read of it in the same load gets the same bytes:

- the set is built from one version of each file, even if a file is saved while it loads;
- a reload on a server under load makes far fewer system calls. Each one gives up the GIL, and
  a thread that gives it up waits out a busy thread's switch interval (5 ms) to get it back:
  beside one thread running a busy loop, a reload of the default folder took 0.7–0.9 s instead
  of 0.14 s (measured 2026-12-02, `docs/benchmarks.md`, "Policy hot reload").

Outside `snapshot()` the functions read the file system directly.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from pathlib import Path
from typing import TypeVar

__all__ = ["FileSnapshot", "is_file", "read_bytes", "resolve", "snapshot"]

T = TypeVar("T")


class FileSnapshot:
    """Memoised reads, resolutions and file tests, keyed by absolute path (reads that fail are not kept)."""

    __slots__ = ("_bytes", "_is_file", "_resolved")

    def __init__(self) -> None:
        self._bytes: dict[str, bytes] = {}
        self._is_file: dict[str, bool] = {}
        self._resolved: dict[str, Path] = {}

    def read_bytes(self, path: Path) -> bytes:
        return _memo(self._bytes, path, Path.read_bytes)

    def is_file(self, path: Path) -> bool:
        return _memo(self._is_file, path, Path.is_file)

    def resolve(self, path: Path) -> Path:
        return _memo(self._resolved, path, Path.resolve)


def _memo(table: dict[str, T], path: Path, compute: Callable[[Path], T]) -> T:
    key = os.path.abspath(path)
    if key not in table:
        table[key] = compute(Path(key))
    return table[key]


_CURRENT: ContextVar[FileSnapshot | None] = ContextVar("guard_policy_snapshot", default=None)


@contextlib.contextmanager
def snapshot() -> Iterator[FileSnapshot]:
    """Reads inside the block share one snapshot (a nested block shares the outer one)."""
    current = _CURRENT.get()
    if current is not None:
        yield current
        return
    snap = FileSnapshot()
    token = _CURRENT.set(snap)
    try:
        yield snap
    finally:
        _CURRENT.reset(token)


def read_bytes(path: Path) -> bytes:
    """The file's bytes, from the current snapshot if there is one."""
    snap = _CURRENT.get()
    return path.read_bytes() if snap is None else snap.read_bytes(path)


def is_file(path: Path) -> bool:
    """`path.is_file()`, from the current snapshot if there is one."""
    snap = _CURRENT.get()
    return path.is_file() if snap is None else snap.is_file(path)


def resolve(path: Path) -> Path:
    """`path.resolve()`, from the current snapshot if there is one."""
    snap = _CURRENT.get()
    return path.resolve() if snap is None else snap.resolve(path)
