"""`guard audit …` end to end through the real command-line entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from guard.audit.auditor import build_entry
from guard.audit.ledger import TABLE, SqliteLedger
from guard.audit.redact import Redactor
from guard.cli import main
from tests.audit.records import make_record


@pytest.fixture
def ledger_path(tmp_path: Path) -> Path:
    path = tmp_path / "l.db"
    led = SqliteLedger(path)
    for i in range(1, 6):
        codes = ("fact.credit_line",) if i % 2 == 0 else ()
        rec = make_record(f"{i:032x}", decision="block" if codes else "allow", codes=codes,
                          timestamp=1_790_000_000.0 + i * 86400, customer_id=f"C{i % 2}")  # fmt: skip
        led.append(build_entry(rec, redactor=Redactor()))
    led.close()
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(["audit", *argv])
    out, err = capsys.readouterr()
    return status, out, err


@pytest.mark.parametrize(
    ("args", "seqs"),
    [
        ([], [1, 2, 3, 4, 5]),
        (["--decision", "block"], [2, 4]),
        (["--code", "fact.credit_line"], [2, 4]),
        (["--customer", "C1"], [1, 3, 5]),
        (["--since", "1790172800", "--until", "1790345600"], [2, 3]),
        (["--since", "2026-09-23T00:00:00Z", "--caller", "svc-outbound"], [2, 3, 4, 5]),
        (["--policy-version", "nope"], []),
    ],
)
def test_query_json(
    capsys: pytest.CaptureFixture[str], ledger_path: Path, args: list[str], seqs: list[int]
) -> None:
    status, out, _ = run(capsys, "query", "--ledger", str(ledger_path), "--format", "json", *args)
    assert status == 0
    assert [r["seq"] for r in json.loads(out)] == seqs


def test_query_formats(capsys: pytest.CaptureFixture[str], ledger_path: Path) -> None:
    _, table, _ = run(capsys, "query", "--ledger", str(ledger_path))
    assert (
        table.splitlines()[0].split()[:4] == ["seq", "time", "trace_id", "decision"]
        and len(table.splitlines()) == 6
    )
    _, csv_text, _ = run(capsys, "query", "--ledger", str(ledger_path), "--format", "csv", "--limit", "2")
    assert len(csv_text.splitlines()) == 3


def test_show(capsys: pytest.CaptureFixture[str], ledger_path: Path) -> None:
    status, out, _ = run(capsys, "show", "--ledger", str(ledger_path), f"{2:032x}")
    assert status == 0 and "决定 decision : block" in out and "fact.credit_line" in out and "released" in out
    status, out, _ = run(capsys, "show", "--ledger", str(ledger_path), f"{2:032x}", "--json")
    assert json.loads(out)[0]["seq"] == 2
    status, _, err = run(capsys, "show", "--ledger", str(ledger_path), "f" * 32)
    assert status == 2 and "no record" in err


def test_verify_exit_status(capsys: pytest.CaptureFixture[str], ledger_path: Path) -> None:
    status, out, _ = run(capsys, "verify", "--ledger", str(ledger_path))
    assert status == 0 and out.startswith("OK: 5 records")
    led = SqliteLedger(ledger_path, create=False)
    led.execute_raw(f"UPDATE {TABLE} SET body = replace(body, 'block', 'allow') WHERE seq = 4")
    led.close()
    status, out, _ = run(capsys, "verify", "--ledger", str(ledger_path))
    assert status == 1 and out.startswith("BROKEN at record 4")
    status, out, _ = run(capsys, "verify", "--ledger", str(ledger_path), "--json")
    assert status == 1 and json.loads(out)["broken"]["seq"] == 4


def test_export_and_stats(capsys: pytest.CaptureFixture[str], ledger_path: Path, tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    status, _, err = run(
        capsys, "export", "--ledger", str(ledger_path), "-o", str(target), "--decision", "block"
    )
    assert status == 0 and "exported 2 records" in err
    assert [json.loads(x)["seq"] for x in target.read_text(encoding="utf-8").splitlines()] == [2, 4]
    status, out, _ = run(capsys, "stats", "--ledger", str(ledger_path), "--json", "--bucket", "day")
    s = json.loads(out)
    assert s["decisions"] == {"allow": 3, "block": 2} and len(s["by_bucket"]) == 5


def test_missing_ledger_and_env_default(capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        ledger_path: Path) -> None:  # fmt: skip
    status, _, err = run(capsys, "verify", "--ledger", str(tmp_path / "nope.db"))
    assert status == 2 and "no ledger" in err
    monkeypatch.setenv("GUARD_LEDGER", str(ledger_path))
    status, out, _ = run(capsys, "verify")
    assert status == 0 and "5 records" in out


@pytest.mark.parametrize(
    ("content", "message"), [(b"not a database at all" * 100, "cannot open"), (b"", "cannot read")]
)
def test_a_file_that_is_not_a_ledger(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "other.db"
    path.write_bytes(content)
    status, _, err = run(capsys, "query", "--ledger", str(path))
    assert status == 2 and message in err
