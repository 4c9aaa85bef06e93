"""Compiled (mypyc) builds of the per-reply check modules, used only while they match the sources.

Why: every reply pays for every check, and in a serving process the checks run with cold CPU
caches (the HTTP server, the upstream client and the framework evict them between two replies).
Measured on this project's 2-core machine (`docs/benchmarks.md`, "Proxy → tenth round"):
`evaluate()` of the benchmark reply takes 82 µs warm and 209 µs after a cache flush in pure
Python, 47 µs and 156 µs compiled; the serving process's CPU per guarded request falls by
≈ 40–57 µs. The modules stay ordinary, type-checked Python: mypyc compiles the same files.

Build: `python -m guard.native_build` (`make native`; `make test` and `make bench` do it)
compiles `NATIVE_MODULES` into `guard/_native/` and writes `manifest.json` there: a digest of
every `guard/**/*.py` file, the interpreter's cache tag and the compiled files.

Load: `import guard` calls `install()` first. The compiled modules are used only when the
manifest's digest equals the digest of the sources now on disk (any edit anywhere in `guard/`
makes the build stale: compiled modules call each other directly and may inline what they
import, so one stale module is enough to run old code) and the interpreter is the one they were
built for. Otherwise everything runs as pure Python — the same behaviour, slower — and a stale
build is reported once on the `guard.native` logger.

`GUARD_NATIVE`: `auto` (default) as above; `off` never loads them; `require` raises
`ImportError` on import of `guard` when they cannot be used (any other value raises too, so a
misspelt `require` never runs silently without them) (`make test` and `make bench` set it,
so neither measures or tests something other than what they say).
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import logging
import os
import sys
import sysconfig
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.machinery import ModuleSpec
from pathlib import Path
from types import ModuleType

__all__ = ["GROUP", "MANIFEST", "NATIVE_MODULES", "OUT", "NativeStatus", "install", "source_digest", "status", "unusable"]

log = logging.getLogger("guard.native")

# The modules every reply runs through: the engine, text, the facts, lexicon and PII checks, the
# streaming guard, the audit's request path and the proxy's non-streamed completion. Pure Python
# stay: modules that define pydantic models (mypyc would make their classes native), the proxy's
# service (its streamed path is an async generator, which mypyc does not compile), the auth
# dependency (FastAPI reads its signature), the ledger and its writer (the tests monkeypatch them).
NATIVE_MODULES: tuple[str, ...] = (
    "guard.engine",
    "guard.text.sentences",
    "guard.text.normalize",
    "guard.text.amounts",
    "guard.checks.facts.age",
    "guard.checks.facts.check",
    "guard.checks.facts.common",
    "guard.checks.facts.coupons",
    "guard.checks.facts.credit_line",
    "guard.checks.facts.names",
    "guard.checks.lexicon.matcher",
    "guard.checks.pii.analyzer",
    "guard.checks.pii.recognizers.person",
    "guard.checks.pii.recognizers._name_stats",
    "guard.checks.facts.custom",
    "guard.checks.facts.surnames",
    "guard.text.pinyin",
    "guard.policy.dates",
    "guard.stream",
    "guard.audit.auditor",
    "guard.audit.redact",
    "guard.audit.record",
    "guard.proxy.completion",
)
GROUP = "guard_native"  # mypyc's shared library for the group: `guard_native__mypyc`
_PACKAGE = Path(__file__).resolve().parent
OUT = "_native"  # the build output, inside the package
MANIFEST = "manifest.json"
_MODES = frozenset({"auto", "require", "off", "0", "false", "no"})


@dataclass(frozen=True, slots=True)
class NativeStatus:
    """Whether the compiled modules are in use, and if not, why."""

    active: bool
    reason: str
    modules: tuple[str, ...] = ()

    def describe(self) -> str:
        """For benchmark headers: `compiled (mypyc)` or `pure Python (why)`."""
        return "compiled (mypyc)" if self.active else f"pure Python ({self.reason})"


_status = NativeStatus(False, "install() not called")


def status() -> NativeStatus:
    """What `install()` decided in this process."""
    return _status


def source_digest(package: Path = _PACKAGE) -> str:
    """SHA-256 over every `.py` file of the package (path and bytes), the build output excluded."""
    h = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        rel = path.relative_to(package)
        if rel.parts[0] == OUT:
            continue
        h.update(rel.as_posix().encode())
        h.update(b"\0")
        h.update(path.read_bytes())
        h.update(b"\0")
    return h.hexdigest()


class _Finder(importlib.abc.MetaPathFinder):
    """Finds the compiled extension of each listed module (and of the group's shared library)."""

    def __init__(self, files: dict[str, Path]) -> None:
        self._files = files

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        so = self._files.get(fullname)
        if so is None:
            return None
        loader = importlib.machinery.ExtensionFileLoader(fullname, str(so))
        return importlib.util.spec_from_file_location(fullname, str(so), loader=loader)


def unusable(package: Path) -> tuple[str | None, dict[str, Path]]:
    """(why the build in `package` cannot be used, or None; the files to load)."""
    out = package / OUT
    manifest_path = out / MANIFEST
    if not manifest_path.is_file():
        return "not built (python -m guard.native_build)", {}
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        files = {name: out / rel for name, rel in manifest["files"].items()}
        built_for, digest = manifest["cache_tag"], manifest["digest"]
        modules = tuple(manifest["modules"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        return f"unreadable manifest ({type(exc).__name__})", {}
    if built_for != sys.implementation.cache_tag or not all(
        str(p).endswith(str(sysconfig.get_config_var("EXT_SUFFIX"))) for p in files.values()
    ):
        return f"built for {built_for}, this is {sys.implementation.cache_tag}", {}
    if modules != NATIVE_MODULES:
        return "built for another module list", {}
    missing = [name for name, p in files.items() if not p.is_file()]
    if missing:
        return f"missing compiled files: {', '.join(sorted(missing))}", {}
    if digest != source_digest(package):
        return "stale: the sources changed since the build (python -m guard.native_build)", {}
    return None, files


def install(package: Path = _PACKAGE) -> NativeStatus:
    """Use the compiled modules for the rest of this process if they match the sources."""
    global _status
    mode = os.environ.get("GUARD_NATIVE", "auto").strip().lower() or "auto"
    if mode not in _MODES:
        raise ImportError(f"guard: GUARD_NATIVE={mode!r} is not one of auto, off, require")
    if mode in ("off", "0", "false", "no"):
        _status = NativeStatus(False, "off (GUARD_NATIVE=off)")
        return _status
    if any(isinstance(f, _Finder) for f in sys.meta_path):
        return _status
    reason, files = unusable(package)
    if reason is None:
        already = [m for m in NATIVE_MODULES if m in sys.modules]
        if already:  # mixing a pure-Python module with compiled ones that call each other
            reason = f"imported before install(): {', '.join(already)}"
    if reason is not None:
        _status = NativeStatus(False, reason)
        if mode == "require":
            raise ImportError(f"guard: compiled modules required (GUARD_NATIVE=require) but {reason}")
        if (package / OUT / MANIFEST).is_file():
            log.warning("compiled check modules not used, running pure Python: %s", reason)
        return _status
    sys.meta_path.insert(0, _Finder(files))
    _status = NativeStatus(True, "compiled (mypyc)", NATIVE_MODULES)
    return _status
