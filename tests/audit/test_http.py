"""The read-only audit endpoints: role check, query, show, verify, stats, export."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi import FastAPI, Header, HTTPException
from fastapi.testclient import TestClient

from guard.audit.auditor import build_entry
from guard.audit.http import build_audit_router
from guard.audit.ledger import TABLE, SqliteLedger
from guard.audit.redact import Redactor
from tests.audit.records import make_record


def require_auditor(authorization: str | None = Header(default=None)) -> None:
    if authorization is None:
        raise HTTPException(status_code=401, detail="no key")
    if authorization != "Bearer auditor-key":
        raise HTTPException(status_code=403, detail="wrong role")


@pytest.fixture
def ledger(tmp_path: Path) -> SqliteLedger:
    led = SqliteLedger(tmp_path / "l.db")
    for i in range(1, 5):
        codes = ("pii.phone",) if i % 2 else ()
        rec = make_record(
            f"{i:032x}", decision="revise" if codes else "allow", codes=codes, timestamp=1_790_000_000.0 + i
        )
        led.append(build_entry(rec, redactor=Redactor()))
    return led


@pytest.fixture
def client(ledger: SqliteLedger) -> TestClient:
    app = FastAPI()
    app.include_router(build_audit_router(ledger, require_auditor))
    return TestClient(app, headers={"Authorization": "Bearer auditor-key"})


@pytest.mark.parametrize("path", ["/v1/audit/records", "/v1/audit/verify", "/v1/audit/stats", "/v1/audit/export",
                                  f"/v1/audit/records/{1:032x}"])  # fmt: skip
@pytest.mark.parametrize(("headers", "status"), [({}, 401), ({"Authorization": "Bearer caller-key"}, 403)])
def test_every_route_needs_the_auditor_role(
    ledger: SqliteLedger, path: str, headers: dict[str, str], status: int
) -> None:
    app = FastAPI()
    app.include_router(build_audit_router(ledger, require_auditor))
    assert TestClient(app).get(path, headers=headers).status_code == status


def test_routes_are_read_only(client: TestClient) -> None:
    for method in ("post", "put", "delete"):
        assert getattr(client, method)("/v1/audit/records").status_code == 405


def test_query_show_verify_stats_export(client: TestClient, ledger: SqliteLedger) -> None:
    r = client.get("/v1/audit/records", params={"decision": "revise", "code": "pii.phone"})
    assert r.status_code == 200 and [x["seq"] for x in r.json()["records"]] == [1, 3]
    assert client.get("/v1/audit/records", params={"since": "not a time"}).status_code == 400
    one = client.get(f"/v1/audit/records/{3:032x}").json()
    assert one["records"][0]["decision"] == "revise" and "hash" in one["records"][0]
    assert client.get(f"/v1/audit/records/{99:032x}").status_code == 404
    assert client.get("/v1/audit/verify").json()["ok"] is True
    assert client.get("/v1/audit/stats", params={"bucket": "all"}).json()["decisions"] == {
        "revise": 2,
        "allow": 2,
    }
    lines = client.get("/v1/audit/export").text.splitlines()
    assert [json.loads(x)["seq"] for x in lines] == [1, 2, 3, 4]
    csv_text = client.get("/v1/audit/export", params={"format": "csv"}).text
    assert csv_text.startswith("seq,trace_id,") and len(csv_text.splitlines()) == 5
    ledger.execute_raw(f"DELETE FROM {TABLE} WHERE seq = 2")
    bad = client.get("/v1/audit/verify").json()
    assert bad["ok"] is False and bad["broken"]["seq"] == 3
