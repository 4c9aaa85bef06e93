"""requirements.lock pins every direct dependency of pyproject.toml within its declared range."""

from __future__ import annotations

import tomllib

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import REPO_ROOT


def _locked() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in (REPO_ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        name, sep, version = line.partition("==")
        assert sep, f"requirements.lock: not an exact pin: {line!r}"
        pins[canonicalize_name(name.split("[", 1)[0])] = version.strip()
    return pins


def _direct() -> list[Requirement]:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    reqs = [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    return [Requirement(r) for r in reqs]


@pytest.mark.parametrize("req", _direct(), ids=str)
def test_direct_dependency_is_locked_in_range(req: Requirement) -> None:
    pins = _locked()
    name = canonicalize_name(req.name)
    assert name in pins, f"{req.name} is not in requirements.lock (run `make lock`)"
    assert req.specifier.contains(pins[name], prereleases=True), f"{req.name}=={pins[name]} is outside {req.specifier}"


def test_lock_has_no_editable_or_local_entries() -> None:
    text = (REPO_ROOT / "requirements.lock").read_text(encoding="utf-8")
    assert "-e " not in text and "file://" not in text and " @ " not in text
    assert canonicalize_name("guard") not in _locked()
