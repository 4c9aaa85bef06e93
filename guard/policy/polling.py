"""Changes under a folder by polling: what every file's `stat` says, compared with the last look.

For policy folders where inotify does not see the writes (network file systems: another host's
write raises no event here), or where it is not available. `FolderPoll.changed()` lists the
folder and every folder under it (links to folders followed, each folder once) and compares each
file's identity, size and times in nanoseconds with the previous call.

watchfiles' polling, which the watchers used before, missed a save made within the same second
as the file's previous change until something changed again (docs/benchmarks.md, "Proxy →
twenty-fifth round"); times in nanoseconds and the inode see it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

__all__ = ["FolderPoll"]

# (kind, inode, size, modification and change times in ns, mode) of one entry; kind "-" missing
_Stamp = tuple[str, int, int, int, int, int]


class FolderPoll:
    """The state of `root`'s tree at the last `changed()` call (the first at construction).

    `relevant(path)` says whether a file's changes count (editors' swap and backup files do not).
    """

    def __init__(self, root: str | Path, relevant: Callable[[str], bool] = lambda _: True) -> None:
        self.root = str(root)
        self._relevant = relevant
        self._last = self._look()

    def changed(self) -> bool:
        """Whether anything relevant differs from the last look (the root gone counts)."""
        now = self._look()
        if now == self._last:
            return False
        self._last = now
        return True

    def _look(self) -> dict[str, _Stamp]:
        seen: dict[str, _Stamp] = {}
        try:
            st = os.stat(self.root)
        except OSError:
            return {"": ("-", 0, 0, 0, 0, 0)}
        self._walk(self.root, "", {(st.st_dev, st.st_ino)}, seen)
        return seen

    def _walk(self, folder: str, rel: str, folders: set[tuple[int, int]], seen: dict[str, _Stamp]) -> None:
        try:
            entries = list(os.scandir(folder))
        except OSError:
            seen[rel] = ("-", 0, 0, 0, 0, 0)  # unreadable: the reload will say why
            return
        for entry in entries:
            path = f"{rel}/{entry.name}" if rel else entry.name
            try:
                st = entry.stat()  # follows links: a link's target is what the loader reads
            except OSError:
                seen[path] = ("-", 0, 0, 0, 0, 0)  # a dangling link
                continue
            if entry.is_dir():
                key = (st.st_dev, st.st_ino)
                if key not in folders:
                    folders.add(key)
                    self._walk(entry.path, path, folders, seen)
            elif self._relevant(entry.path):
                seen[path] = ("f", st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_mode)
