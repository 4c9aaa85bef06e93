"""The public API stays small and honest: every `__all__` in the package names something real,
and the top-level package exports exactly the names a caller of the engine needs."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import guard

MODULES = sorted(
    m.name
    for m in pkgutil.walk_packages(guard.__path__, "guard.")
    if not m.name.startswith("guard.demo.") and m.name != "guard.cli"
)


@pytest.mark.parametrize("name", MODULES)
def test_every_all_names_something_real(name: str) -> None:
    mod = importlib.import_module(name)
    missing = [n for n in getattr(mod, "__all__", ()) if not hasattr(mod, n)]
    assert not missing, missing


def test_top_level_api() -> None:
    assert set(guard.__all__) == {
        "Action",
        "CustomerRecord",
        "Decision",
        "Finding",
        "Policy",
        "PolicyError",
        "PolicySet",
        "Verdict",
        "evaluate",
        "load_policy_file",
        "load_policy_set",
    }
