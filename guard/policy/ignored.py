"""Files under a policy folder whose changes do not count: editors' and tools' own files.

Swap and backup files (`.base.yaml.swp`, `base.yaml~`, `.#base.yaml`), compiled Python, macOS's
`.DS_Store`, and anything in a version-control or cache folder (`.git`, `__pycache__` …). The
same rules as watchfiles' default filter, which the policy watchers used before.
"""

from __future__ import annotations

import os
import re

__all__ = ["ignored"]

_FOLDERS = frozenset(
    ["__pycache__", ".git", ".hg", ".svn", ".tox", ".venv", ".idea", "node_modules", ".mypy_cache", ".pytest_cache", ".hypothesis"]
)
# Of a file's (or folder's) own name: Python bytecode, JetBrains' safe-write copies, vim's swap
# files, backup files, Emacs' lock files, macOS's folder settings, flycheck's temporary copies.
_NAMES = re.compile(r"\.py[cod]$|\.___jb_...___$|\.sw.$|~$|^\.#|^\.DS_Store$|^flycheck_")


def ignored(path: str) -> bool:
    """Whether a change of `path` is not a change of the policies."""
    parts = path.split(os.sep)
    return not _FOLDERS.isdisjoint(parts) or _NAMES.search(parts[-1]) is not None
