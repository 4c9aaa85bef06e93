from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from guard.policy.loader import load_policy_file
from guard.policy.model import Policy
from guard.types import CustomerRecord

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


@pytest.fixture
def record() -> CustomerRecord:
    return CustomerRecord.model_validate(
        {
            "customer_id": "C20261124001",
            "name": "张飞",
            "gender": "male",
            "age": 35,
            "credit_line": 4000,
            "coupons": [{"kind": "interest_free", "name": "免息券", "days": 30, "expires_on": "2026-12-31"}],
            "phone": "13812345678",
            "segment": "repeat_loan",
            "calls_last_7d": 3,
        }
    )


@pytest.fixture
def make_policy(tmp_path: Path) -> Callable[[str], Policy]:
    """Write a policy YAML into tmp_path and load it."""
    counter = iter(range(1000))

    def make(body: str) -> Policy:
        path = tmp_path / f"policy{next(counter)}.yaml"
        path.write_text(body, encoding="utf-8")
        return load_policy_file(path)

    return make


@pytest.fixture(autouse=True)
def _ledger_in_tmp(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test writes an audit ledger into the working tree: the default ledger lives in tmp."""
    monkeypatch.setenv("GUARD_LEDGER", str(tmp_path_factory.mktemp("ledger") / "guard-ledger.db"))
