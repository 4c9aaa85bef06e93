"""`python -m guard.native_build`: compile `guard.native.NATIVE_MODULES` with mypyc.

The output replaces `guard/_native/` whole (staged beside it, then renamed in), with the manifest
`guard.native.install()` checks: the digest of the sources compiled, the interpreter's cache tag,
the module list and the files. Needs mypy (the `dev` extra) and a C compiler. `--check` says
whether the current build is usable (exit 0) or why not (exit 1).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import sysconfig
import tempfile
from pathlib import Path

from guard.native import GROUP, MANIFEST, NATIVE_MODULES, OUT, source_digest, unusable

__all__ = ["build", "main"]

_PACKAGE = Path(__file__).resolve().parent


def build(package: Path = _PACKAGE, jobs: int = 2) -> Path:
    """Compile `NATIVE_MODULES` of `package` into `package/_native` (replaced whole); the manifest path.

    Needs mypy (mypyc) and a C compiler: the `dev` extra and gcc.
    """
    from mypyc.build import mypycify
    from setuptools import Distribution
    from setuptools.command.build_ext import build_ext

    digest = source_digest(package)  # of the sources compiled (read before, checked after)
    root = package.parent
    paths = [str(Path(*m.split(".")).with_suffix(".py")) for m in NATIVE_MODULES]
    out = package / OUT
    with tempfile.TemporaryDirectory(prefix="guard-native-") as tmp:
        cwd = os.getcwd()
        os.chdir(root)  # mypy names the modules by their paths from here (guard/…)
        try:
            # -O2, not mypyc's default -O3: the same verdicts, and under load over HTTP about 3
            # points more of the relay's throughput in A/Bs of the same rounds (docs/benchmarks.md,
            # "Proxy → sixteenth round"); in a tight loop and in sequential latency they are alike.
            extensions = mypycify(paths, opt_level="2", group_name=GROUP, target_dir=os.path.join(tmp, "c"))
            dist = Distribution({"name": "guard-native", "ext_modules": extensions})
            cmd = build_ext(dist)
            cmd.build_lib = os.path.join(tmp, "lib")
            cmd.build_temp = os.path.join(tmp, "obj")
            cmd.parallel = jobs
            cmd.ensure_finalized()
            cmd.run()
        finally:
            os.chdir(cwd)
        if source_digest(package) != digest:
            raise RuntimeError("the sources changed during the build; build again")
        lib = Path(tmp, "lib")
        suffix = str(sysconfig.get_config_var("EXT_SUFFIX"))
        names = [*NATIVE_MODULES, f"{GROUP}__mypyc"]
        files = {name: Path(*name.split(".")).with_name(name.split(".")[-1] + suffix) for name in names}
        for name, rel in files.items():
            if not (lib / rel).is_file():
                raise RuntimeError(f"mypyc built no {rel} for {name}")
        staged = Path(tempfile.mkdtemp(prefix=".native-", dir=package))
        try:
            for rel in files.values():
                (staged / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(lib / rel, staged / rel)
            manifest = {
                "digest": digest,
                "cache_tag": sys.implementation.cache_tag,
                "modules": list(NATIVE_MODULES),
                "files": {name: rel.as_posix() for name, rel in files.items()},
            }
            (staged / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
            old = package / ".native-old"
            shutil.rmtree(old, ignore_errors=True)
            if out.exists():
                out.rename(old)
            staged.rename(out)
            shutil.rmtree(old, ignore_errors=True)
        except BaseException:
            shutil.rmtree(staged, ignore_errors=True)
            raise
    return out / MANIFEST


def main(argv: list[str] | None = None) -> int:
    """`python -m guard.native_build [--check]`."""
    args = sys.argv[1:] if argv is None else argv
    if args == ["--check"]:
        reason, _ = unusable(_PACKAGE)
        print("usable" if reason is None else f"not usable: {reason}")
        return 0 if reason is None else 1
    if args:
        print("usage: python -m guard.native_build [--check]", file=sys.stderr)
        return 2
    print(f"compiled {len(NATIVE_MODULES)} modules with mypyc: {build()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
