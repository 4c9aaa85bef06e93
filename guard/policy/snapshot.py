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

For the same reason each system call is made once and lean: a file is read with `os.open`, one
`os.read` past its end and `os.close` (`Path.read_bytes` adds an `fstat`, an `ioctl` and an
`lseek`), and a path resolves from its folder's resolution plus one `lstat` of its own name
(`Path.resolve` makes an `lstat` for every component of every path). The policy folder is
listed once (`list_folder`); what the listing says of an entry's type (no link, a regular file)
answers its `lstat` and its `stat` without another call.

Outside `snapshot()` the functions read the file system directly.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from pathlib import Path
from typing import TypeVar

__all__ = ["FileSnapshot", "is_file", "list_folder", "read_bytes", "resolve", "snapshot"]

T = TypeVar("T")


class FileSnapshot:
    """Memoised reads, resolutions and file tests, keyed by absolute path (reads that fail are not kept)."""

    __slots__ = ("_bytes", "_is_file", "_listed", "_not_links", "_resolved")

    def __init__(self) -> None:
        self._bytes: dict[str, bytes] = {}
        self._is_file: dict[str, bool] = {}
        self._resolved: dict[str, Path] = {}
        self._listed: dict[str, list[str]] = {}
        self._not_links: set[str] = set()  # listed entries that are no symbolic link

    def list_folder(self, folder: Path) -> list[str]:
        """The names in `folder` (`os.scandir`), once a load. An entry that is not a link is
        remembered as such, and whether it is a regular file: from the listing's entry types,
        without a call per entry (but on a file system that gives no types)."""
        key = os.path.abspath(folder)
        if key not in self._listed:
            names = []
            with os.scandir(key) as entries:
                for e in entries:
                    names.append(e.name)
                    if not e.is_symlink():
                        path = os.path.join(key, e.name)
                        self._not_links.add(path)
                        self._is_file[path] = e.is_file(follow_symlinks=False)
            self._listed[key] = names
        return self._listed[key]

    def read_bytes(self, path: Path) -> bytes:
        return _memo(self._bytes, path, _read_file)

    def is_file(self, path: Path) -> bool:
        return _memo(self._is_file, path, Path.is_file)

    def resolve(self, path: Path) -> Path:
        return _memo(self._resolved, path, self._resolve)

    def _resolve(self, path: Path) -> Path:
        """`path.resolve()` of an absolute, normalised path: its folder's (memoised) and its name.

        Resolving is done component by component, so a path whose folder resolves to `R` is
        `R / name` unless `name` is a symbolic link there; a link is left to `Path.resolve`.
        """
        parent = path.parent
        if parent == path:  # the root ("/", or "//", which resolves to "/")
            return path.resolve()
        where = self.resolve(parent) / path.name
        if str(path) in self._not_links:  # listed, and no link: no `lstat` needed
            return where
        try:
            mode = os.lstat(where).st_mode
        except OSError:  # missing (or unreadable): `resolve` keeps the name as it is
            return where
        return where.resolve() if stat.S_ISLNK(mode) else where


def _memo(table: dict[str, T], path: Path, compute: Callable[[Path], T]) -> T:
    key = os.path.abspath(path)
    if key not in table:
        table[key] = compute(Path(key))
    return table[key]


def _read_file(path: Path) -> bytes:
    """The whole file, in as few system calls as a read can make (open, read, read, close).

    Raises what `Path.read_bytes` raises (`FileNotFoundError`, `IsADirectoryError`, …).
    """
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        chunks = []
        while chunk := os.read(fd, 1 << 16):  # policy files and word lists are a few KiB
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


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


def list_folder(folder: Path) -> list[str]:
    """The names in `folder`, from the current snapshot if there is one (unsorted, as listed)."""
    snap = _CURRENT.get()
    return os.listdir(folder) if snap is None else snap.list_folder(folder)


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
