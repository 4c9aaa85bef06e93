"""The trace a guarded completion leaves, through the real app: the guard's spans and nothing else."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import opentelemetry.trace
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from guard.audit.auditor import OtelAuditor
from guard.audit.ledger import SqliteLedger
from guard.proxy.app import create_app
from guard.proxy.settings import ApiKey, GuardSettings

REPLY = "张先生您好，您的4000元额度已经审核通过了。"
RECORD = {"customer_id": "C1", "name": "张飞", "gender": "male", "credit_line": 4000}
CALLER = "sk-trace-caller"


def _upstream(request: httpx.Request) -> httpx.Response:
    body = {
        "id": "up-1", "object": "chat.completion", "created": 1, "model": "qwen",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": REPLY}, "finish_reason": "stop"}],
    }  # fmt: skip
    return httpx.Response(200, json=body)


@pytest.mark.parametrize("deferred", [True, False], ids=["deferred", "inline"])
def test_one_trace_per_call_rooted_at_guard_call_without_framework_spans(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, deferred: bool
) -> None:
    spans = InMemorySpanExporter()
    tp = TracerProvider()
    tp.add_span_processor(SimpleSpanProcessor(spans))
    # As `guard serve` does: the guard's provider is the global one, which FastAPI would instrument.
    monkeypatch.setattr(opentelemetry.trace, "get_tracer_provider", lambda: tp)
    ledger = SqliteLedger(tmp_path / "l.db")
    settings = GuardSettings(
        upstream_base_url="http://upstream.test/v1", crm_source="none", policy_watch=False,
        api_keys=(ApiKey(name="svc", key=CALLER, role="caller"),),
    )  # fmt: skip
    auditor = OtelAuditor(ledger, tracer_provider=tp, deferred=deferred)  # deferred: as `guard serve` has it
    app = create_app(settings, auditor=auditor, transport=httpx.MockTransport(_upstream))
    headers = {
        "authorization": f"Bearer {CALLER}",
        # a caller's trace context does not make the guarded call part of someone else's trace
        "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    }
    body = {
        "model": "qwen",
        "messages": [{"role": "user", "content": "额度多少"}],
        "guard": {"record": RECORD},
    }

    async def ask() -> httpx.Response:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://guard"
        ) as client:
            return await client.post("/v1/chat/completions", json=body, headers=headers)

    r = asyncio.run(ask())
    auditor.flush()
    assert r.status_code == 200, r.text
    trace_id = r.headers["x-guard-trace-id"]
    assert json.loads(r.text)["guard"]["trace_id"] == trace_id
    finished = spans.get_finished_spans()
    checks = ["facts", "length", "lexicon", "pii"]  # the default policy's, each timed even when it finds nothing
    assert sorted(s.name for s in finished) == sorted(
        ["chat qwen", "guard.call", "guard.decision", *(f"guard.check {c}" for c in checks)]
    )
    by_name = {s.name: s for s in finished}
    for c in checks:
        attrs = by_name[f"guard.check {c}"].attributes or {}
        assert attrs["guard.check.violation.count"] == 0 and float(attrs["guard.check.duration_ms"]) >= 0  # type: ignore[arg-type]
    root = by_name["guard.call"]
    assert root.parent is None and root.kind == SpanKind.SERVER
    assert {format(s.context.trace_id, "032x") for s in finished} == {trace_id}
    assert trace_id != "0af7651916cd43dd8448eb211c80319c"
    assert by_name["guard.decision"].attributes["guard.ledger.seq"] == 1  # type: ignore[index]
    [row] = ledger.rows()
    assert row.trace_id == trace_id
    assert sorted(row.record()["check_ms"]) == checks
    ledger.close()
