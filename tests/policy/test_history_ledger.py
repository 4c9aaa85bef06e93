"""`guard policy history` reads the real audit ledger (SQLite) written by the auditor."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from guard.audit.auditor import OtelAuditor
from guard.audit.ledger import open_ledger
from guard.cli import main
from tests.audit.records import make_record


def test_history_from_the_ledger(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "ledger.db"
    auditor = OtelAuditor(open_ledger(str(db)))
    for i, version in enumerate(["v1", "v1", "v2"]):
        with auditor.call(caller="svc", customer_id="C1", model="m", stream=False) as call:
            call.decision(make_record(call.trace_id, policy_version=version, timestamp=1_700_000_000.0 + i))
    auditor.close()
    assert main(["policy", "history", "--ledger", str(db), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["policy_version"], r["count"]) for r in rows] == [("v1", 2), ("v2", 1)]
    assert rows[0]["first_seen"] == "2023-11-14T22:13:20+00:00"


def test_history_without_a_ledger_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", "history", "--ledger", str(tmp_path / "missing.db")]) == 2
    err = capsys.readouterr().err
    assert "cannot open ledger" in err and "Traceback" not in err
