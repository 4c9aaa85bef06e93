"""Every audit module's `__all__` names something real, and the CLI knows `audit`."""

from __future__ import annotations

import importlib

import pytest

from guard.cli import COMMANDS

MODULES = [
    "guard.audit", "guard.audit.api", "guard.audit.auditor", "guard.audit.cli", "guard.audit.http",
    "guard.audit.ledger", "guard.audit.metrics", "guard.audit.otel", "guard.audit.postgres",
    "guard.audit.query", "guard.audit.redact",
]  # fmt: skip


@pytest.mark.parametrize("name", MODULES)
def test_all_is_honest(name: str) -> None:
    mod = importlib.import_module(name)
    exported = getattr(mod, "__all__", None)
    assert exported, f"{name} has no __all__"
    missing = [n for n in exported if not hasattr(mod, n)]
    assert not missing, missing


def test_audit_command_is_registered() -> None:
    assert "audit" in COMMANDS
