"""Which exporters `setup_telemetry` picks from the OTEL_* environment."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from guard.audit.auditor import OtelAuditor
from guard.audit.http import build_metrics_router
from guard.audit.ledger import SqliteLedger
from guard.audit.otel import setup_telemetry
from tests.audit.records import make_record

CASES = [
    ({}, "none", "none"),
    ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1"}, "otlp", "otlp"),
    ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:1/v1/traces"}, "otlp", "none"),
    ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1", "OTEL_SDK_DISABLED": "true"}, "none", "none"),
    ({"OTEL_TRACES_EXPORTER": "console", "OTEL_METRICS_EXPORTER": "none"}, "console", "none"),
    ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1", "OTEL_METRICS_EXPORTER": "none"}, "otlp", "none"),
]
_VARS = (
    "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
    "OTEL_SDK_DISABLED", "OTEL_TRACES_EXPORTER", "OTEL_METRICS_EXPORTER", "OTEL_EXPORTER_OTLP_PROTOCOL",
)  # fmt: skip


@pytest.mark.parametrize(("env", "traces", "metrics"), CASES)
def test_exporter_choice(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], traces: str, metrics: str
) -> None:
    for v in _VARS:
        monkeypatch.delenv(v, raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    tel = setup_telemetry(set_global=False)
    assert (tel.traces_exporter, tel.metrics_exporter) == (traces, metrics)
    tel.meter_provider.shutdown(timeout_millis=1)
    tel.tracer_provider.shutdown()


def test_unknown_protocol_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")
    with pytest.raises(ValueError, match="unsupported OTLP protocol"):
        setup_telemetry(set_global=False)


def test_unknown_metrics_exporter_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_METRICS_EXPORTER", "otlp,statsd")
    with pytest.raises(ValueError, match="statsd"):
        setup_telemetry(set_global=False)


def test_prometheus_scrape_endpoint_serves_guard_metrics(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for v in _VARS:
        monkeypatch.delenv(v, raising=False)
    monkeypatch.setenv("OTEL_METRICS_EXPORTER", "prometheus")
    tel = setup_telemetry(set_global=False)
    assert tel.metrics_exporter == "prometheus"
    auditor = OtelAuditor(
        SqliteLedger(tmp_path / "l.db"),
        tracer_provider=tel.tracer_provider,
        meter_provider=tel.meter_provider,
    )
    with auditor.call(caller="svc", customer_id="C1", model="m", stream=False) as call:
        call.decision(make_record(call.trace_id, decision="block", codes=("fact.credit_line",)))
    app = FastAPI()
    app.include_router(build_metrics_router())
    try:
        text = TestClient(app).get("/metrics").text
    finally:
        tel.shutdown()
        auditor.close()
    assert 'guard_decisions_total{guard_decision="block",guard_policy_name="outbound_marketing"' in text
    assert (
        'guard_violations_total{guard_violation_action="warn",guard_violation_code="fact.credit_line"' in text
    )


@pytest.mark.parametrize(("env", "recording"), [({}, False), ({"OTEL_TRACES_EXPORTER": "console"}, True)])
def test_spans_are_sampled_only_when_they_can_leave(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], recording: bool
) -> None:
    for v in _VARS:
        monkeypatch.delenv(v, raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    tel = setup_telemetry(set_global=False)
    span = tel.tracer_provider.get_tracer("t").start_span("s")
    assert span.is_recording() is recording
    assert span.get_span_context().trace_id != 0  # a trace id either way: the ledger's key
    span.end()
    tel.meter_provider.shutdown(timeout_millis=1)
    tel.tracer_provider.shutdown()
