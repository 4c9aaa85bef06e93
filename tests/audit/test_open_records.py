"""Ledger consumers with streams' open records: two records per streamed trace id, and streams
opened without a final record ("unfinished"). On SQLite and PostgreSQL; the CLI and the HTTP API
on SQLite."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from guard.audit.auditor import build_entry
from guard.audit.http import build_audit_router
from guard.audit.ledger import AuditLedger, LedgerFilters, SqliteLedger
from guard.audit.postgres import PostgresLedger
from guard.audit.query import export, iso, render_show, render_stats, show, stats, unfinished, verify
from guard.audit.redact import Redactor
from guard.cli import main
from guard.policy.history import read_jsonl_rows, version_history
from tests.audit.records import make_record

T0 = 1_790_000_000.0


def tid(name: str) -> str:
    return name * 32


# (trace, decision, codes): A is not streamed; B and C are streams that ended; D and E were cut
# short (an open record and nothing after it). Seq = position + 1.
EVENTS = [
    ("a", "allow", ()),
    ("b", "open", ()),
    ("c", "open", ()),
    ("b", "block", ("lexicon.tier3",)),
    ("d", "open", ()),
    ("c", "allow", ()),
    ("e", "open", ()),
]


def fill(led: AuditLedger) -> None:
    for i, (name, decision, codes) in enumerate(EVENTS, start=1):
        fields: dict[str, Any] = {"timestamp": T0 + i, "stream": name != "a"}
        if decision == "open":
            fields.update(released=None, original_masked=None)
        led.append(build_entry(make_record(tid(name), decision=decision, codes=codes, **fields), redactor=Redactor()))


@pytest.fixture
def led(make_ledger: Callable[[], AuditLedger]) -> AuditLedger:
    ledger = make_ledger()
    fill(ledger)
    return ledger


def test_unfinished_streams_are_open_records_without_a_final_record(led: AuditLedger) -> None:
    assert [(r.seq, r.trace_id) for r in unfinished(led)] == [(5, tid("d")), (7, tid("e"))]
    assert [r.seq for r in led.rows(LedgerFilters(unfinished=True, newest_first=True, limit=1))] == [7]
    # The final record counts wherever it is: C's falls after `until`, and C is not unfinished.
    assert [r.trace_id for r in led.rows(LedgerFilters(unfinished=True, until=T0 + 5.5))] == [tid("d")]
    assert [r.seq for r in led.rows(LedgerFilters(decision="open"))] == [2, 3, 5, 7]
    assert verify(led).ok and verify(led).checked == len(EVENTS)


def test_stats_do_not_count_open_records_as_decisions(led: AuditLedger) -> None:
    s = stats(led, bucket="all")
    assert (s.total, dict(s.decisions), dict(s.codes)) == (3, {"allow": 2, "block": 1}, {"lexicon.tier3": 1})
    assert s.unfinished == [tid("d"), tid("e")]
    j = stats(led, bucket="day").to_json()
    assert j["unfinished_streams"] == 2 and j["unfinished_trace_ids"] == [tid("d"), tid("e")]
    assert all("open" not in b["decisions"] for b in j["by_bucket"].values())
    text = render_stats(s)
    assert "未完成的流 unfinished streams: 2" in text and tid("d") in text and tid("e") in text
    assert stats(led, bucket="all", filters=LedgerFilters(since=T0 + 6)).unfinished == [tid("e")]


def test_show_has_both_records_of_a_stream(led: AuditLedger) -> None:
    b = show(led, tid("b"))
    assert [(r["seq"], r["decision"]) for r in b] == [(2, "open"), (4, "block")]
    text = render_show(b)
    assert "决定 decision : open — 流已开始" in text and "决定 decision : block" in text
    # The final record names when its stream opened.
    assert f"追踪 trace    : {tid('b')}   (seq 4, {iso(T0 + 4)})\n流开始 stream opened: {iso(T0 + 2)}   (seq 2)\n" in text
    d = render_show(show(led, tid("d")))
    assert "未完成的流 unfinished stream" in d and "决定 decision : open" in d
    assert "流开始" not in render_show(show(led, tid("a")))


def test_export_carries_the_open_records(led: AuditLedger) -> None:
    out = io.StringIO()
    assert export(led, out, fmt="jsonl") == len(EVENTS)
    decisions = [json.loads(x)["decision"] for x in out.getvalue().splitlines()]
    assert decisions == [d for _, d, _ in EVENTS]
    out = io.StringIO()
    assert export(led, out, fmt="jsonl", filters=LedgerFilters(unfinished=True)) == 2


def test_policy_history_counts_one_row_per_call(led: AuditLedger, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    target = str(led.path) if isinstance(led, SqliteLedger) else led.dsn if isinstance(led, PostgresLedger) else ""
    assert main(["policy", "history", "--ledger", target, "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["count"] == 5  # A, B, C (their final records), D and E (their open records)


def test_policy_history_from_jsonl_folds_open_records() -> None:
    lines = [
        json.dumps({"timestamp": T0 + i, "policy": "p", "policy_version": "v1", "decision": d, "trace_id": tid(n)})
        for i, (n, d, _) in enumerate(EVENTS, start=1)
    ]
    rows = list(read_jsonl_rows(lines))
    assert len(rows) == 5
    (seen,) = version_history(rows)
    assert seen.count == 5 and seen.first_seen == T0 + 1 and seen.last_seen == T0 + 7


@pytest.fixture
def ledger_path(tmp_path: Path) -> Path:
    path = tmp_path / "l.db"
    sqlite = SqliteLedger(path)
    fill(sqlite)
    sqlite.close()
    return path


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    status = main(["audit", *argv])
    return status, capsys.readouterr().out


def test_cli_query_show_stats_export(ledger_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ledger = ["--ledger", str(ledger_path)]
    status, out = cli(capsys, "query", *ledger, "--unfinished", "--format", "json")
    assert status == 0 and [(r["seq"], r["trace_id"]) for r in json.loads(out)] == [(5, tid("d")), (7, tid("e"))]
    status, out = cli(capsys, "query", *ledger, "--decision", "open", "--format", "json")
    assert [r["seq"] for r in json.loads(out)] == [2, 3, 5, 7]
    status, out = cli(capsys, "query", *ledger, "--unfinished")
    assert [ln.split()[2] for ln in out.splitlines()[1:]] == [tid("d"), tid("e")]
    status, out = cli(capsys, "show", *ledger, tid("b"))
    assert status == 0 and "流开始 stream opened" in out and "决定 decision : block" in out
    status, out = cli(capsys, "show", *ledger, tid("e"))
    assert status == 0 and "未完成的流 unfinished stream" in out
    status, out = cli(capsys, "stats", *ledger, "--bucket", "all")
    assert status == 0 and "决定数 decisions: 3" in out and "未完成的流 unfinished streams: 2" in out
    assert tid("d") in out and tid("e") in out
    status, out = cli(capsys, "stats", *ledger, "--json")
    assert json.loads(out)["unfinished_streams"] == 2 and json.loads(out)["decisions"] == {"allow": 2, "block": 1}
    target = tmp_path / "unfinished.jsonl"
    assert main(["audit", "export", *ledger, "--unfinished", "-o", str(target)]) == 0
    assert [json.loads(x)["seq"] for x in target.read_text(encoding="utf-8").splitlines()] == [5, 7]
    status, out = cli(capsys, "verify", *ledger)
    assert status == 0 and out.startswith(f"OK: {len(EVENTS)} records")


def test_http_api_records_stats_show(ledger_path: Path) -> None:
    sqlite = SqliteLedger(ledger_path, create=False)
    try:
        app = FastAPI()
        app.include_router(build_audit_router(sqlite, lambda: None))
        client = TestClient(app)
        r = client.get("/v1/audit/records", params={"unfinished": "true"}).json()
        assert r["count"] == 2 and [x["trace_id"] for x in r["records"]] == [tid("d"), tid("e")]
        r = client.get("/v1/audit/records", params={"decision": "open"}).json()
        assert [x["seq"] for x in r["records"]] == [2, 3, 5, 7]
        one = client.get(f"/v1/audit/records/{tid('c')}").json()
        assert [x["decision"] for x in one["records"]] == ["open", "allow"]
        s = client.get("/v1/audit/stats", params={"bucket": "all"}).json()
        assert s["total"] == 3 and s["decisions"] == {"allow": 2, "block": 1}
        assert s["unfinished_streams"] == 2 and s["unfinished_trace_ids"] == [tid("d"), tid("e")]
        lines = client.get("/v1/audit/export", params={"unfinished": "true"}).text.splitlines()
        assert [json.loads(x)["seq"] for x in lines] == [5, 7]
        assert client.get("/v1/audit/verify").json()["ok"] is True
    finally:
        sqlite.close()


@pytest.mark.parametrize("extra", [["--decision", "allow"], ["--code", "fact.credit_line"]])
def test_cli_unfinished_with_a_decision_or_a_code_is_refused(
    ledger_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str]
) -> None:
    # Open records have decision open and no codes: the query could only ever answer nothing.
    status = main(["audit", "query", "--ledger", str(ledger_path), "--unfinished", *extra])
    captured = capsys.readouterr()
    assert status == 2 and captured.out == ""
    assert "unfinished lists the open records of streams" in captured.err
    status, out = cli(capsys, "query", "--ledger", str(ledger_path), "--unfinished", "--decision", "open", "--format", "json")
    assert status == 0 and [r["seq"] for r in json.loads(out)] == [5, 7]


def test_http_unfinished_with_a_decision_or_a_code_is_a_400(ledger_path: Path) -> None:
    sqlite = SqliteLedger(ledger_path, create=False)
    try:
        app = FastAPI()
        app.include_router(build_audit_router(sqlite, lambda: None))
        client = TestClient(app)
        for extra in ({"decision": "block"}, {"code": "fact.credit_line"}):
            r = client.get("/v1/audit/records", params={"unfinished": "true", **extra})
            assert r.status_code == 400 and "unfinished lists the open records" in r.text
    finally:
        sqlite.close()
