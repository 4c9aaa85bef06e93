"""Verify names the first broken link; query, export and stats render what was stored."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from guard.audit.auditor import build_entry
from guard.audit.ledger import TABLE, AuditLedger, SqliteLedger
from guard.audit.postgres import PostgresLedger
from guard.audit.query import export, format_rows, parse_time, stats, verify
from guard.audit.redact import Redactor
from tests.audit.records import make_record


def _fill(led: AuditLedger, n: int = 5) -> None:
    for i in range(1, n + 1):
        codes = ("fact.credit_line",) if i % 2 == 0 else ()
        led.append(build_entry(make_record(f"{i:032x}", decision="block" if codes else "allow", codes=codes,
                                           timestamp=1_790_000_000.0 + i * 3600), redactor=Redactor()))  # fmt: skip


def _raw(led: AuditLedger, sql: str) -> None:
    assert isinstance(led, SqliteLedger | PostgresLedger)
    led.execute_raw(sql)


# (tampering SQL, first broken seq, words in the reason)
TAMPER = [
    (f"UPDATE {TABLE} SET decision = 'allow' WHERE seq = 2", 2, "column decision"),
    (
        f"UPDATE {TABLE} SET body = replace(body, '\"block\"', '\"allow\"') WHERE seq = 4",
        4,
        "hash does not match",
    ),
    (
        f"UPDATE {TABLE} SET body = replace(body, '审核通过', '审核拒绝') WHERE seq = 3",
        3,
        "hash does not match",
    ),
    (f"DELETE FROM {TABLE} WHERE seq = 3", 4, "record 3 missing"),
    (f"DELETE FROM {TABLE} WHERE seq = 1", 2, "record 1 missing"),
    (f"DELETE FROM {TABLE} WHERE seq IN (2, 3)", 4, "records 2..3 missing"),
    # reorder: swap the contents of records 2 and 3 (their seq column stays)
    (
        f"UPDATE {TABLE} SET seq = -2 WHERE seq = 2; UPDATE {TABLE} SET seq = 2 WHERE seq = 3; "
        f"UPDATE {TABLE} SET seq = 3 WHERE seq = -2",
        2,
        "prev_hash",
    ),
    # re-hash an edited record: the next record's prev_hash no longer matches
    (f"UPDATE {TABLE} SET hash = 'f' || substr(hash, 2) WHERE seq = 2", 2, "hash does not match"),
    (f"UPDATE {TABLE} SET codes = '[]' WHERE seq = 2", 2, "column codes"),
]


@pytest.mark.parametrize(("sql", "seq", "reason"), TAMPER)
def test_verify_names_the_first_broken_link(
    make_ledger: Callable[[], AuditLedger], sql: str, seq: int, reason: str
) -> None:
    led = make_ledger()
    _fill(led)
    assert verify(led).ok
    for stmt in sql.split("; "):
        _raw(led, stmt)
    rep = verify(led)
    assert not rep.ok
    assert rep.broken is not None
    assert rep.broken.seq == seq
    assert reason in rep.broken.reason
    assert rep.head_seq < seq


def test_reordered_bodies_are_detected_even_with_a_consistent_prev_hash(
    make_ledger: Callable[[], AuditLedger],
) -> None:
    led = make_ledger()
    _fill(led, 3)
    rows = list(led.rows())
    # Move record 3's body under seq 2 with the right prev_hash and a recomputed hash: the body's own seq betrays it.
    from guard.audit.ledger import chain_hash

    body3 = rows[2].body
    _raw(led, f"DELETE FROM {TABLE} WHERE seq = 3")
    h = chain_hash(rows[0].hash, body3)
    esc = body3.replace("'", "''")
    _raw(led, f"UPDATE {TABLE} SET body = '{esc}', hash = '{h}' WHERE seq = 2")
    rep = verify(led)
    assert rep.broken is not None and rep.broken.seq == 2
    assert "reordered" in rep.broken.reason


def test_empty_ledger_verifies(make_ledger: Callable[[], AuditLedger]) -> None:
    rep = verify(make_ledger())
    assert rep.ok and rep.checked == 0


def test_export_jsonl_and_csv_carry_chain_fields(make_ledger: Callable[[], AuditLedger]) -> None:
    led = make_ledger()
    _fill(led, 4)
    out = io.StringIO()
    assert export(led, out, fmt="jsonl") == 4
    lines = [json.loads(x) for x in out.getvalue().splitlines()]
    assert [x["seq"] for x in lines] == [1, 2, 3, 4]
    assert all(
        {"hash", "prev_hash", "policy_version", "released", "original_masked"} <= x.keys() for x in lines
    )
    assert lines[1]["prev_hash"] == lines[0]["hash"]
    out = io.StringIO()
    export(led, out, fmt="csv")
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [r["decision"] for r in rows] == ["allow", "block", "allow", "block"]
    assert rows[1]["codes"] == "fact.credit_line"


def test_stats_counts_per_decision_and_code(make_ledger: Callable[[], AuditLedger]) -> None:
    led = make_ledger()
    _fill(led, 5)
    s = stats(led, bucket="all")
    assert s.total == 5
    assert dict(s.decisions) == {"allow": 3, "block": 2}
    assert dict(s.codes) == {"fact.credit_line": 2}
    hourly = stats(led, bucket="hour").to_json()
    assert len(hourly["by_bucket"]) == 5


def test_table_format_lists_every_row(make_ledger: Callable[[], AuditLedger]) -> None:
    led = make_ledger()
    _fill(led, 3)
    text = "".join(format_rows(led.rows(), "table"))
    assert len(text.splitlines()) == 4 and "fact.credit_line" in text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1790000000", 1_790_000_000.0),
        ("2026-11-24T08:00:00Z", 1_795_507_200.0),
        ("2026-11-24T08:00:00", 1_795_507_200.0),
        ("2026-11-24T16:00:00+08:00", 1_795_507_200.0),
        ("2h", 1_795_507_200.0 - 7200),
        ("30m", 1_795_507_200.0 - 1800),
        ("7d", 1_795_507_200.0 - 7 * 86400),
    ],
)
def test_parse_time(text: str, expected: float) -> None:
    assert parse_time(text, now=1_795_507_200.0) == expected


@pytest.mark.parametrize("text", ["nan", "inf", "-inf", "1e400", "NaN"])
def test_parse_time_rejects_numbers_that_are_no_time(text: str) -> None:
    # float() reads them; as a bound they matched nothing, and the query answered an empty list.
    with pytest.raises(ValueError, match="not a time"):
        parse_time(text)


def test_parse_time_rejects_garbage() -> None:
    with pytest.raises(ValueError, match="not a time"):
        parse_time("yesterday-ish")


def test_an_export_verifies_without_the_guard(make_ledger: Callable[[], AuditLedger]) -> None:
    """The recipe in docs/audit.md: plain hashlib + json over a JSONL export."""
    import hashlib

    led = make_ledger()
    _fill(led, 4)
    out = io.StringIO()
    export(led, out, fmt="jsonl")
    prev = "0" * 64
    for line in out.getvalue().splitlines():
        rec = json.loads(line)
        h, p = rec.pop("hash"), rec.pop("prev_hash")
        body = json.dumps(rec, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert p == prev and hashlib.sha256(f"{p}\n{body}".encode()).hexdigest() == h, rec["seq"]
        prev = h
    assert prev == (led.head() or pytest.fail("empty")).hash


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_single_edit_of_a_body_is_found_at_that_record(
    tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    led = SqliteLedger(tmp_path_factory.mktemp("prop") / "l.db")
    _fill(led, 6)
    seq = data.draw(st.integers(1, 6))
    body = next(r.body for r in led.rows() if r.seq == seq)
    i = data.draw(st.integers(0, len(body) - 1))
    new_char = data.draw(st.characters(codec="utf-8").filter(lambda c: c != body[i] and c != "\x00"))
    led.execute_raw(f"UPDATE {TABLE} SET body = ? WHERE seq = ?", (body[:i] + new_char + body[i + 1 :], seq))
    rep = verify(led)
    led.close()
    assert rep.broken is not None and rep.broken.seq == seq
