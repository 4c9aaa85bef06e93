"""Scan every file the server produced for planted PII.

A server with DEBUG file logging (guard.*, uvicorn, httpx, httpcore) and OTLP export to a real
rotel collector takes mixed traffic with planted PII — in model replies (streamed and not, whole,
cut by a blocking sentence, cut by an upstream failure), in prompts, in the inline record and
through /v1/guard/check. Then every file under its working folder is read: the ledger (db, -wal,
-shm), the log file, the collector's output and log. None holds a planted raw value, plain or
JSON-escaped. (The CRM database would legitimately hold the record; this server uses inline
records, so there is none to exclude.)
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from guard.testing.scripted_upstream import ScriptedUpstream
from tests.audit.realparts import RotelCollector
from tests.audit.records import ID_CARD
from tests.faults.harness import CALLER, RECORD, serve_guard

pytestmark = pytest.mark.slow

PHONE = "13912345678"  # someone's mobile
CARD = "6222021234567890128"  # Luhn-valid
EMAIL = "wang.xiaoming@example.com"
NAME = "王小明"  # another person
CUSTOMER_PHONE = str(RECORD["phone"])  # the customer's own phone
PLANTED = {"phone": PHONE, "id_card": ID_CARD, "bank_card": CARD, "email": EMAIL, "name": NAME,
           "customer_phone": CUSTOMER_PHONE}

FIRST = "张先生您好。"
ALL_PII = (f"{FIRST}您的朋友{NAME}，手机{PHONE}。身份证{ID_CARD}。卡号{CARD}。邮箱{EMAIL}。"
           f"您预留的手机{CUSTOMER_PHONE}。")
SCENARIOS: dict[str, Any] = {
    "all_pii": {"reply": ALL_PII, "chunk_chars": 5},
    # The blocking sentence and the next one, holding PII, arrive in one chunk: the held-back
    # tail was never checked.
    "blocked_tail": {"reply": "x", "chunks": [f"张先生您好，这款产品稳赚不赔。{NAME}表示手机{PHONE}身份证{ID_CARD}", "。"]},
    # The upstream breaks while a sentence with PII is held back.
    "failed_tail": {"reply": "x", "chunks": [FIRST, f"您的朋友{NAME}，手机{PHONE}，卡号{CARD}，邮箱{EMAIL}", "。", "好。"],
                    "fault": "truncate"},
    "status500": {"status": 500},
}


def _variants(value: str) -> set[bytes]:
    """How a value can appear in a file: UTF-8, JSON-escaped, UTF-16 (never expected, cheap to check)."""
    escaped = json.dumps(value)[1:-1]
    return {value.encode(), escaped.encode(), escaped.upper().replace("\\U", "\\u").encode(), value.encode("utf-16-le")}


@pytest.fixture
def file_logging(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "server.log"
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    names = ("guard", "uvicorn", "uvicorn.error", "uvicorn.access", "httpx", "httpcore", "opentelemetry")
    saved = {n: logging.getLogger(n).level for n in names}
    for n in names:
        logging.getLogger(n).addHandler(handler)
    try:
        yield path
    finally:
        for n in names:
            logging.getLogger(n).removeHandler(handler)
            logging.getLogger(n).setLevel(saved[n])
        handler.close()


def test_no_planted_pii_in_any_file_the_server_wrote(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, file_logging: Path
) -> None:
    work = tmp_path / "server"
    work.mkdir()
    with RotelCollector(work) as collector:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.http_endpoint)
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
        monkeypatch.setenv("OTEL_SERVICE_NAME", "guard-leak-scan")
        monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "100")
        monkeypatch.setenv("OTEL_METRIC_EXPORT_INTERVAL", "200")
        with ScriptedUpstream(SCENARIOS) as up, serve_guard(up.base_url, work, uvicorn_log_level="debug") as served:
            for name in ("guard", "uvicorn", "uvicorn.error", "httpx", "httpcore"):
                logging.getLogger(name).setLevel(logging.DEBUG)
            released = _traffic(served.url, served.client())
            wal = served.ledger.with_name(served.ledger.name + "-wal")
            live = {p.name + " (live)": p.read_bytes() for p in (served.ledger, wal) if p.exists()}
        traces = {t for t, _ in released}
        collector.wait_for(lambda spans: traces <= {s.trace_id for s in spans if s.name == "guard.call"})
    # Not vacuous: the traffic carried the values, the guard saw them, every channel has content.
    assert any(PHONE in json.dumps(r, ensure_ascii=False) for r in up.requests)
    assert any("139****5678" in text for _, text in released)
    files = {str(p.relative_to(work)): p.read_bytes() for p in sorted(work.rglob("*")) if p.is_file()}
    files |= live
    files["server.log"] = file_logging.read_bytes()
    assert b"guard-leak-scan" in files["rotel-out.txt"] and b"guard.call" in files["rotel-out.txt"]
    assert len(files["server.log"]) > 1000, "DEBUG logging produced nothing"
    assert "ledger.db" in files
    leaks = [
        f"{label} in {name}"
        for name, data in files.items()
        for label, value in PLANTED.items()
        if any(v in data for v in _variants(value))
    ]
    assert not leaks, leaks


def _traffic(url: str, client: Any) -> list[tuple[str, str]]:
    """Mixed traffic; returns (trace id, released text) of each guarded completion."""
    out: list[tuple[str, str]] = []
    record = {"record": RECORD}
    prompt = f"我是{NAME}，身份证{ID_CARD}，手机{PHONE}，卡{CARD}，邮箱{EMAIL}"
    for scenario in ("all_pii", "blocked_tail", "failed_tail"):
        messages = [{"role": "user", "content": prompt}]
        for stream in (False, True):
            kwargs: dict[str, Any] = {"model": scenario, "messages": messages, "extra_body": {"guard": record}}
            if stream:
                pieces, trace = [], ""
                for chunk in client.chat.completions.create(stream=True, **kwargs):
                    pieces += [c.delta.content for c in chunk.choices if c.delta.content]
                    trace = ((chunk.model_extra or {}).get("guard") or {}).get("trace_id", trace)
                out.append((trace, "".join(pieces)))
            elif scenario == "failed_tail":  # not streamed, a cut body is a 502
                with pytest.raises(openai.APIStatusError) as err:
                    client.chat.completions.create(**kwargs)
                assert err.value.status_code == 502 and PHONE not in err.value.response.text
            else:
                resp = client.chat.completions.create(**kwargs)
                out.append((resp.model_extra["guard"]["trace_id"], resp.choices[0].message.content or ""))
    headers = {"authorization": f"Bearer {CALLER}"}
    r = httpx.post(url + "/v1/chat/completions", headers=headers, timeout=10,
                   json={"model": "status500", "messages": [{"role": "user", "content": prompt}], "guard": record})
    assert r.status_code == 502
    for reply in (ALL_PII, prompt):
        r = httpx.post(url + "/v1/guard/check", headers=headers, json={"record": RECORD, "reply": reply}, timeout=10)
        assert r.status_code == 200 and PHONE not in r.text and NAME not in r.text
    bad = httpx.post(url + "/v1/guard/check", headers=headers, timeout=10,
                     json={"record": {**RECORD, "gender": f"{NAME}{PHONE}"}, "reply": prompt})
    assert bad.status_code == 422 and PHONE not in bad.text
    for _, text in out:
        for value in PLANTED.values():
            assert value not in text
    return out
