"""guard.native: the compiled check modules are used only while they match the sources, and they
decide exactly what the pure-Python modules decide."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

import pytest

import guard
import guard.native as native
from tests.conftest import REPO_ROOT, SHARED_DATA

REQUIRED = os.environ.get("GUARD_NATIVE", "").lower() == "require"
SUFFIX = str(sysconfig.get_config_var("EXT_SUFFIX"))


# -- the manifest check, on a package of our own -------------------------------------------------


def _package(tmp_path: Path) -> Path:
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("", encoding="utf-8")
    (pkg / "sub" / "mod.py").write_text("X = 1\n", encoding="utf-8")
    return pkg


def _build(pkg: Path, **overrides: Any) -> dict[str, Any]:
    """A manifest as `guard.native_build` writes it, with one file per module (empty, never loaded)."""
    out = pkg / native.OUT
    files = {}
    for name in (*native.NATIVE_MODULES, f"{native.GROUP}__mypyc"):
        rel = Path(*name.split(".")).with_name(name.split(".")[-1] + SUFFIX)
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_bytes(b"")
        files[name] = rel.as_posix()
    manifest = {
        "digest": native.source_digest(pkg),
        "cache_tag": sys.implementation.cache_tag,
        "modules": list(native.NATIVE_MODULES),
        "files": files,
        **overrides,
    }
    (out / native.MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    return manifest


def test_the_digest_covers_every_source_and_nothing_built(tmp_path: Path) -> None:
    pkg = _package(tmp_path)
    before = native.source_digest(pkg)
    _build(pkg)
    (pkg / native.OUT / "stray.py").write_text("ignored = True\n", encoding="utf-8")
    assert native.source_digest(pkg) == before  # the build output is not a source
    (pkg / "sub" / "mod.py").write_text("X = 2\n", encoding="utf-8")
    assert native.source_digest(pkg) != before  # one byte of one module
    (pkg / "sub" / "mod.py").write_text("X = 1\n", encoding="utf-8")
    (pkg / "sub" / "new.py").write_text("", encoding="utf-8")
    assert native.source_digest(pkg) != before  # a new module


def test_a_matching_build_is_usable(tmp_path: Path) -> None:
    pkg = _package(tmp_path)
    _build(pkg)
    reason, files = native.unusable(pkg)
    assert reason is None
    assert set(files) == {*native.NATIVE_MODULES, f"{native.GROUP}__mypyc"}


def test_an_edited_source_makes_the_build_stale(tmp_path: Path) -> None:
    pkg = _package(tmp_path)
    _build(pkg)
    (pkg / "sub" / "mod.py").write_text("X = 2\n", encoding="utf-8")
    reason, files = native.unusable(pkg)
    assert reason is not None and reason.startswith("stale")
    assert files == {}


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"cache_tag": "cpython-39"}, "built for cpython-39"),
        ({"modules": ["guard.engine"]}, "another module list"),
        ({"files": None}, "unreadable manifest"),
    ],
)
def test_a_build_for_something_else_is_refused(tmp_path: Path, overrides: dict[str, Any], expected: str) -> None:
    pkg = _package(tmp_path)
    _build(pkg, **overrides)
    reason, _ = native.unusable(pkg)
    assert reason is not None and expected in reason


def test_a_missing_file_or_manifest_is_refused(tmp_path: Path) -> None:
    pkg = _package(tmp_path)
    assert native.unusable(pkg)[0] == "not built (python -m guard.native_build)"
    manifest = _build(pkg)
    (pkg / native.OUT / manifest["files"]["guard.engine"]).unlink()
    reason, _ = native.unusable(pkg)
    assert reason == "missing compiled files: guard.engine"
    (pkg / native.OUT / native.MANIFEST).write_text("{not json", encoding="utf-8")
    assert "unreadable manifest" in str(native.unusable(pkg)[0])


def _run(code: str, env: dict[str, str], cwd: Path = REPO_ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env={**os.environ, **env}, capture_output=True, text=True, timeout=120
    )


def test_off_runs_pure_python() -> None:
    probe = "import guard, guard.engine as e, guard.native as n; print(n.status().active, e.__file__)"
    done = _run(probe, {"GUARD_NATIVE": "off"})
    assert done.returncode == 0, done.stderr
    active, path = done.stdout.split()
    assert active == "False" and path.endswith("engine.py")


def test_an_unknown_mode_is_an_error_not_a_silent_auto() -> None:
    done = _run("import guard", {"GUARD_NATIVE": "requried"})
    assert done.returncode != 0
    assert "GUARD_NATIVE='requried' is not one of auto, off, require" in done.stderr


def test_require_refuses_a_stale_build(tmp_path: Path) -> None:
    """`GUARD_NATIVE=require` (make test, make bench) fails on import rather than run pure Python."""
    copy = tmp_path / "guard"
    shutil.copytree(Path(guard.__file__).parent, copy, ignore=shutil.ignore_patterns("__pycache__", native.OUT))
    _build(copy)
    (copy / "engine.py").write_text((copy / "engine.py").read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    done = _run("import guard", {"GUARD_NATIVE": "require"}, cwd=tmp_path)
    assert done.returncode != 0
    assert "compiled modules required (GUARD_NATIVE=require) but stale" in done.stderr
    probe = "import guard, guard.native as n, guard.engine as e; print(n.status().reason); print(e.__file__)"
    done = _run(probe, {"GUARD_NATIVE": "auto"}, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[1].endswith("engine.py")  # the edited source runs, not the build
    assert "compiled check modules not used, running pure Python: stale" in done.stderr


# -- this process ---------------------------------------------------------------------------------


def test_the_status_says_where_the_modules_came_from() -> None:
    import guard.checks.pii.recognizers.person as person
    import guard.engine as engine

    status = native.status()
    if REQUIRED:
        assert status.active  # make test: the suite runs the compiled modules
    for module in (engine, person):
        assert str(module.__file__).endswith(SUFFIX if status.active else ".py")
    assert status.modules == (native.NATIVE_MODULES if status.active else ())


# -- the compiled modules decide what the sources decide --------------------------------------------


def _corpus() -> list[tuple[str, dict[str, Any], str, str | None]]:
    """(policy, record, reply, today) from every policy's case file, CLUENER and seeded mixtures."""
    from guard.policy.cases import load_cases

    out: list[tuple[str, dict[str, Any], str, str | None]] = []
    for path in sorted((REPO_ROOT / "policies").glob("*.cases.yaml")):
        cases, _ = load_cases(path)
        for case in cases.cases:
            record = cases.records[case.record] if isinstance(case.record, str) else case.record
            policy = cases.policy or "outbound_marketing"
            out.append((policy, record, case.reply, case.today.isoformat() if case.today else None))
    record = {"customer_id": "C1", "name": "张飞", "gender": "male", "age": 35, "credit_line": 4000,
              "coupons": [{"kind": "interest_free", "name": "免息券", "days": 30, "expires_on": "2026-12-31"}],
              "phone": "13812345678"}
    cluener = SHARED_DATA / "cluener" / "dev.jsonl"
    if cluener.is_file():
        with cluener.open(encoding="utf-8") as f:
            for _, line in zip(range(400), f, strict=False):
                out.append(("outbound_marketing", record, json.loads(line)["text"], None))
    rng = random.Random(20261202)
    pieces = ["张先生您好，", "李女士，", "张飞先生，", "您的额度是4000元。", "额度五千元，", "四千块", "4,000.00元",
              "送您一张免息券。", "30天免息券", "利率打8折，", "稳赚不赔", "保 本", "稳\u200b赚", "穩賺", "绝对包过！",
              "请拨打13912345678。", "身份证110101199003074514，", "卡号6222021234567890128", "邮箱 a.b@example.com，",
              "地址是北京市朝阳区建国路88号3号楼，", "王建华经理会联系您，", "您今年35岁，", "您今年36岁，",
              "我们的产品非常好，" * 4, "？", "……", "\n", "哈哈哈哈哈", "ＡＢＣ１２３", "一三八一二三四五六七八"]
    for _ in range(300):
        reply = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 6)))
        out.append(("outbound_marketing", record, reply, None))
    return out


def verdicts() -> list[Any]:
    """Every corpus item's verdict as JSON (also run in a pure-Python subprocess)."""
    import datetime as dt

    from guard.engine import evaluate
    from guard.policy.loader import load_policy_set
    from guard.types import CustomerRecord

    policies = load_policy_set()
    out: list[Any] = []
    for name, record, reply, today in _corpus():
        day = dt.date.fromisoformat(today) if today else dt.date(2026, 12, 2)
        policy = policies.select(name, today=day)
        for model_in_loop in (False, True):
            v = evaluate(policy, CustomerRecord.model_validate(record), reply, model_in_loop=model_in_loop, today=day)
            out.append([v.to_json(), v.regenerate, list(v.corrections), [f.to_json() for f in v.violations]])
    return out


def test_compiled_and_pure_python_give_the_same_verdicts() -> None:
    if not native.status().active:
        assert not REQUIRED
        pytest.skip("the compiled modules are not in use here (make native); make test requires them")
    here = verdicts()
    done = _run("import json, tests.test_native as t; print(json.dumps(t.verdicts(), ensure_ascii=False))",
                {"GUARD_NATIVE": "off"})
    assert done.returncode == 0, done.stderr
    there = json.loads(done.stdout)
    assert len(here) == len(there) > 600  # cases and mixtures (CLUENER adds 800 where ../shared/data is)
    assert json.loads(json.dumps(here, ensure_ascii=False)) == there
    assert any(item[0]["decision"] == "block" for item in here) and any(item[0]["decision"] == "allow" for item in here)
