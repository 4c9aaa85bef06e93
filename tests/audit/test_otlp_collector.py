"""Spans and metrics reach a real OTLP collector (rotel) over http/protobuf and gRPC; no PII leaks."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import pytest

from guard.audit.auditor import OtelAuditor
from guard.audit.ledger import SqliteLedger
from guard.audit.otel import setup_telemetry
from guard.audit.query import export, render_show, show
from tests.audit.realparts import CollectedSpan, RotelCollector
from tests.audit.records import PLANTED, make_record, pii_record

pytestmark = pytest.mark.slow


def _configure(monkeypatch: pytest.MonkeyPatch, collector: RotelCollector, protocol: str) -> None:
    endpoint = collector.grpc_endpoint if protocol == "grpc" else collector.http_endpoint
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", protocol)
    monkeypatch.setenv("OTEL_SERVICE_NAME", "guard-test")
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "100")
    monkeypatch.setenv("OTEL_METRIC_EXPORT_INTERVAL", "200")


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_spans_and_metrics_arrive_with_their_attributes(
    monkeypatch: pytest.MonkeyPatch, collector: RotelCollector, tmp_path: Path, protocol: str
) -> None:
    _configure(monkeypatch, collector, protocol)
    tel = setup_telemetry(set_global=False)
    assert tel.traces_exporter == "otlp" and tel.metrics_exporter == "otlp"
    auditor = OtelAuditor(
        SqliteLedger(tmp_path / "l.db"),
        tracer_provider=tel.tracer_provider,
        meter_provider=tel.meter_provider,
    )
    with auditor.call(
        caller="svc-outbound", customer_id="C20261124001", model="qwen2.5-7b", stream=False
    ) as call:
        with call.upstream_attempt(1, provider="openai"):
            pass
        call.decision(
            make_record(call.trace_id, decision="block", codes=("fact.credit_line",), check_ms={"facts": 0.2})
        )
    tel.shutdown()
    auditor.close()

    def complete(spans: list[CollectedSpan]) -> bool:
        return {"guard.call", "guard.decision", "chat qwen2.5-7b", "guard.check facts"} <= {
            s.name for s in spans if s.trace_id == call.trace_id
        }

    spans = {s.name: s for s in collector.wait_for(complete) if s.trace_id == call.trace_id}
    root = spans["guard.call"]
    assert root.str_attr("guard.decision") == "block"
    assert root.str_attr("guard.policy.version") == "sha256:abc123"
    assert root.str_attr("guard.customer_id") == "C20261124001"
    assert root.str_attr("guard.caller") == "svc-outbound"
    assert root.attributes["guard.violation.count"] == "Int(1)"
    up = spans["chat qwen2.5-7b"]
    assert up.parent_id == root.span_id
    assert up.str_attr("gen_ai.operation.name") == "chat"
    assert up.str_attr("gen_ai.request.model") == "qwen2.5-7b"
    assert up.str_attr("gen_ai.provider.name") == "openai"
    assert spans["guard.decision"].attributes["guard.violations.fact.credit_line"] == "Int(1)"
    text = collector.text()
    assert "service.name: Str(guard-test)" in text
    assert "service.instance.id: Str(" in text  # one per process: several workers' series stay apart
    for metric in (
        "guard.decisions",
        "guard.violations",
        "guard.ledger.write.duration",
        "gen_ai.client.operation.duration",
    ):
        assert f"Name: {metric}" in text, metric


def test_no_planted_pii_in_anything_exported(
    monkeypatch: pytest.MonkeyPatch,
    collector: RotelCollector,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    _configure(monkeypatch, collector, "http/protobuf")
    tel = setup_telemetry(set_global=False)
    ledger_path = tmp_path / "l.db"
    auditor = OtelAuditor(
        SqliteLedger(ledger_path), tracer_provider=tel.tracer_provider, meter_provider=tel.meter_provider
    )
    ids = []
    for i in range(3):
        with auditor.call(
            caller="svc", customer_id="C1", model="qwen", stream=False, sensitive_values=(PLANTED[3],)
        ) as call:
            with call.upstream_attempt(1, prompt=f"call {PLANTED[0]}", user=PLANTED[2]) as at:
                at.set_attributes(note=f"id {PLANTED[1]}")
            call.set_attributes(customer_phone=PLANTED[0])
            rec = pii_record(call.trace_id)
            # the second call names the customer's name on the call only, not on the record
            call.decision(rec.replace(sensitive_values=()) if i == 1 else rec)
            ids.append(call.trace_id)
    tel.shutdown()
    auditor.close()
    spans = collector.wait_for(
        lambda ss: sum(s.name == "guard.decision" and s.trace_id in ids for s in ss) == 3
    )
    assert any(s.attributes.get("guard.violation.evidence") for s in spans)  # masked evidence did arrive

    exported = io.StringIO()
    reader = SqliteLedger(ledger_path, create=False)
    export(reader, exported, fmt="jsonl")
    shown = render_show(show(reader, ids[0]))
    reader.close()
    raw_files = b"".join(p.read_bytes() for p in tmp_path.glob("l.db*"))
    haystacks = {
        "collector": collector.text(),
        "ledger files": raw_files.decode("utf-8", errors="replace"),
        "export": exported.getvalue(),
        "show": shown,
        "logs": caplog.text,
    }
    assert "*" * 11 in haystacks["export"]  # the values were there, masked
    for where, text in haystacks.items():
        for value in PLANTED:
            assert value not in text, f"{value!r} leaked into {where}"
