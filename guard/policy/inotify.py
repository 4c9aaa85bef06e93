"""Changes under a folder from Linux inotify: one descriptor, read when it is readable.

`FolderWatch` watches a folder and every folder under it (links to folders followed, each folder
once) and, when the folder itself is a link (a release swapped in by replacing the link), the
link's name in its parent. `fileno()` becomes readable when something changed; `read()` returns
what did, without blocking, and watches folders created meanwhile. The server reads it from its
event loop (`guard.policy.registry.watch_policies`), so that watching costs nothing until a file
changes.

watchfiles, which the policy watchers used before, runs its watcher in a thread that sleeps in
steps of 20 ms and takes the GIL after each. Measured on an idle
server process (docs/benchmarks.md, "Proxy → twenty-fifth round"): 7.0 ms of CPU and 71 voluntary
context switches a second with it, 1.5 ms and 12 without a watcher.

Linux only (`inotify_init1` from the C library); elsewhere, or when the kernel refuses (no
inotify instance or watch left), the constructor raises `OSError` and the caller falls back.
"""

from __future__ import annotations

import ctypes
import errno
import functools
import logging
import os
import struct
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "IN_ISDIR",
    "IN_Q_OVERFLOW",
    "FolderEvent",
    "FolderWatch",
    "parse_events",
]

# <sys/inotify.h>
IN_MODIFY = 0x00000002
IN_ATTRIB = 0x00000004
IN_CLOSE_WRITE = 0x00000008
IN_MOVED_FROM = 0x00000040
IN_MOVED_TO = 0x00000080
IN_CREATE = 0x00000100
IN_DELETE = 0x00000200
IN_DELETE_SELF = 0x00000400
IN_MOVE_SELF = 0x00000800
IN_UNMOUNT = 0x00002000
IN_Q_OVERFLOW = 0x00004000
IN_IGNORED = 0x00008000
IN_ONLYDIR = 0x01000000
IN_DONT_FOLLOW = 0x02000000
IN_ISDIR = 0x40000000

# What a save can do to a policy file or folder: write it, replace it by a rename, create,
# delete, change its mode (a file that becomes unreadable must fail the reload, not be missed).
_TREE_MASK = (
    IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO | IN_CREATE | IN_DELETE
    | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR
)
# The parent of a linked root: only its entries' comings and goings (the link replaced).
_LINK_MASK = IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_ONLYDIR
_ADDED = IN_CREATE | IN_MOVED_TO
_DELETED = IN_DELETE | IN_MOVED_FROM | IN_DELETE_SELF | IN_MOVE_SELF
log = logging.getLogger("guard.policy")
_HEADER = struct.Struct("iIII")  # struct inotify_event: wd, mask, cookie, len (then the name)


@dataclass(frozen=True, slots=True)
class FolderEvent:
    """One change: the path it concerns and how (`added`, `deleted` or `modified`)."""

    path: str
    kind: str


def parse_events(buf: bytes) -> list[tuple[int, int, str]]:
    """The `struct inotify_event`s of one `read()`: (watch descriptor, mask, name) each."""
    out: list[tuple[int, int, str]] = []
    pos = 0
    while pos + _HEADER.size <= len(buf):
        wd, mask, _cookie, length = _HEADER.unpack_from(buf, pos)
        start = pos + _HEADER.size
        name = buf[start : start + length].split(b"\0", 1)[0]
        out.append((wd, mask, os.fsdecode(name)))
        pos = start + length
    return out


@functools.cache
def _libc() -> ctypes.CDLL:
    libc = ctypes.CDLL(None, use_errno=True)  # the process's own C library
    if not hasattr(libc, "inotify_init1"):
        raise OSError(errno.ENOSYS, "inotify is not available on this system")
    libc.inotify_init1.argtypes = [ctypes.c_int]
    libc.inotify_init1.restype = ctypes.c_int
    libc.inotify_add_watch.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32]
    libc.inotify_add_watch.restype = ctypes.c_int
    return libc


class FolderWatch:
    """An inotify descriptor on `root` and the folders under it; see the module docstring.

    `lost` turns true when `root` stops naming the folder watched: it (or the link to it) was
    deleted, moved or replaced. The caller then makes a new `FolderWatch` once the path exists.
    """

    def __init__(self, root: str | Path) -> None:
        self.root = str(root)
        self.lost = False
        self._libc = _libc()
        fd = int(self._libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC))
        if fd < 0:
            err = ctypes.get_errno()
            raise OSError(err, f"inotify_init1: {os.strerror(err)}")
        self._fd = fd
        self._folders: dict[int, str] = {}  # watch descriptor → the folder's path
        self._root_wd = -1
        self._link_wd = -1  # the linked root's parent, when the root is a link
        self._link_name = os.path.basename(os.path.abspath(self.root))  # the root's name in it
        try:
            self._root_wd = self._watch_tree(self.root)
            if os.path.islink(self.root):
                parent = os.path.dirname(os.path.abspath(self.root))
                self._link_wd = self._add(parent, _LINK_MASK)
        except BaseException:
            os.close(fd)
            raise

    def fileno(self) -> int:
        """The descriptor to wait on (readable when something changed)."""
        return self._fd

    def close(self) -> None:
        """Close the descriptor (every watch ends with it)."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> FolderWatch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def read(self) -> list[FolderEvent]:
        """Every change queued now (none if nothing is); folders created meanwhile get watched.

        A queue overflow (the kernel dropped events) is reported as a change of the root.
        """
        out: list[FolderEvent] = []
        while True:
            try:
                buf = os.read(self._fd, 65536)  # whole events only; one is at most 16 + 256 bytes
            except BlockingIOError:
                return out
            for wd, mask, name in parse_events(buf):
                self._one(wd, mask, name, out)

    def _one(self, wd: int, mask: int, name: str, out: list[FolderEvent]) -> None:
        if mask & IN_Q_OVERFLOW:
            out.append(FolderEvent(self.root, "modified"))
            return
        if wd == self._link_wd and wd != self._root_wd:
            if name == self._link_name:
                self.lost = True  # the link was replaced or removed
                out.append(FolderEvent(self.root, "deleted"))
            return
        folder = self._folders.get(wd)
        if folder is None:
            return
        if mask & IN_IGNORED:  # the watch is gone: its folder was deleted (or unmounted)
            del self._folders[wd]
            if wd == self._root_wd:
                self.lost = True
            return
        path = os.path.join(folder, name) if name else folder
        if wd == self._root_wd and not name and mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_UNMOUNT):
            self.lost = True
        if mask & IN_ISDIR and mask & _ADDED:
            try:
                self._watch_tree(path)
            except OSError as exc:  # gone again already, or unreadable: the reload reports it
                if exc.errno == errno.ENOSPC:
                    log.warning("policy watcher: no inotify watch left for %s; its changes are not seen", path)
        kind = "added" if mask & _ADDED else "deleted" if mask & _DELETED else "modified"
        out.append(FolderEvent(path, kind))

    def _add(self, path: str, mask: int) -> int:
        wd = int(self._libc.inotify_add_watch(self._fd, os.fsencode(path), mask))
        if wd < 0:
            err = ctypes.get_errno()
            raise OSError(err, f"inotify_add_watch {path!r}: {os.strerror(err)}")
        return wd

    def _watch_tree(self, top: str) -> int:
        """Watch `top` and every folder under it (each folder once); `top`'s watch descriptor."""
        wd = self._add(top, _TREE_MASK)
        if wd in self._folders:
            return wd  # already watched (a link back into the tree)
        self._folders[wd] = top
        try:
            entries = list(os.scandir(top))
        except OSError:
            return wd
        for entry in entries:
            try:
                is_dir = entry.is_dir()  # follows links to folders
            except OSError:
                continue
            if is_dir:
                try:
                    self._watch_tree(entry.path)
                except OSError as exc:
                    if exc.errno == errno.ENOSPC:  # no inotify watch left: the caller falls back
                        raise
        return wd
