"""`policy history`: first-seen, last-seen and count per policy version from decision rows."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest

from guard.policy.history import read_jsonl_rows, render_history, version_history

T0 = dt.datetime(2026, 11, 24, 8, 0, tzinfo=dt.UTC).timestamp()


def test_history_groups_by_policy_and_version() -> None:
    rows = [
        (T0 + 10, "outbound_marketing", "v1"),
        (T0, "outbound_marketing", "v1"),
        (T0 + 100, "outbound_marketing", "v2"),
        ("2026-11-24T08:00:05+00:00", "collection", "c1"),
        (dt.datetime(2026, 11, 24, 8, 0, 50), "outbound_marketing", "v1"),  # naive: UTC
    ]
    h = version_history(rows)
    assert [(s.policy, s.version, s.first_seen - T0, s.last_seen - T0, s.count) for s in h] == [
        ("collection", "c1", 5, 5, 1),
        ("outbound_marketing", "v1", 0, 50, 3),
        ("outbound_marketing", "v2", 100, 100, 1),
    ]
    assert h[1].to_json()["first_seen"] == "2026-11-24T08:00:00+00:00"
    out = io.StringIO()
    render_history(h, out)
    assert out.getvalue().count("\n") == 4 and "2026-11-24T08:00:50+00:00" in out.getvalue()


def test_empty_ledger_gives_empty_history() -> None:
    assert version_history([]) == []


def test_jsonl_rows_and_their_errors() -> None:
    lines = [json.dumps({"timestamp": T0, "policy": "p", "policy_version": "v", "decision": "allow"}), ""]
    assert list(read_jsonl_rows(lines)) == [(T0, "p", "v")]
    with pytest.raises(ValueError, match="line 1: expected a JSON object"):
        list(read_jsonl_rows(['{"policy": "p"}']))
    with pytest.raises(ValueError, match="line 1: timestamp must be"):
        list(read_jsonl_rows(['{"timestamp": null, "policy": "p", "policy_version": "v"}']))
