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


def _only_env(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    """The OTEL_* environment is `env` and nothing else."""
    for v in _VARS:
        monkeypatch.delenv(v, raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)


@pytest.mark.parametrize(("env", "traces", "metrics"), CASES)
def test_exporter_choice(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], traces: str, metrics: str
) -> None:
    _only_env(monkeypatch, env)
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
    _only_env(monkeypatch, {"OTEL_METRICS_EXPORTER": "prometheus"})
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
    _only_env(monkeypatch, env)
    tel = setup_telemetry(set_global=False)
    span = tel.tracer_provider.get_tracer("t").start_span("s")
    assert span.is_recording() is recording
    assert span.get_span_context().trace_id != 0  # a trace id either way: the ledger's key
    span.end()
    tel.meter_provider.shutdown(timeout_millis=1)
    tel.tracer_provider.shutdown()


def _one_call(client: TestClient, key: str) -> None:
    body = {
        "model": "m",
        "messages": [{"role": "user", "content": "你好"}],
        "guard": {"record": {"customer_id": "C1", "name": "张飞", "gender": "male", "credit_line": 4000}},
    }
    r = client.post("/v1/chat/completions", json=body, headers={"authorization": f"Bearer {key}"})
    assert r.status_code == 200, r.text


def _app(tmp_path: Path) -> tuple[FastAPI, str]:
    import httpx

    from guard.proxy.app import create_app
    from guard.proxy.settings import ApiKey, GuardSettings

    reply = {
        "id": "u", "object": "chat.completion", "created": 1, "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "张先生您好。"}, "finish_reason": "stop"}],
    }  # fmt: skip
    settings = GuardSettings(
        upstream_base_url="http://upstream.test/v1", crm_source="none", policy_watch=False,
        ledger=str(tmp_path / "l.db"), api_keys=(ApiKey(name="svc", key="sk-m", role="admin"),),
    )  # fmt: skip
    app = create_app(settings, transport=httpx.MockTransport(lambda _: httpx.Response(200, json=reply)))
    return app, "sk-m"


def test_the_served_app_records_metrics_only_when_they_can_leave(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`guard serve`'s auditor: no exporter, no measurements (none would leave the process); with
    one, every decision's checks are timed (`guard.check.duration` per check)."""
    from opentelemetry.metrics import NoOpMeterProvider

    _only_env(monkeypatch, {})
    app, key = _app(tmp_path)
    noop = type(NoOpMeterProvider().get_meter("x").create_counter("c"))
    assert isinstance(app.state.auditor.metrics.decisions, noop)
    with TestClient(app) as client:
        _one_call(client, key)

    monkeypatch.setenv("OTEL_METRICS_EXPORTER", "prometheus")
    app, key = _app(tmp_path)
    assert not isinstance(app.state.auditor.metrics.decisions, noop)
    with TestClient(app) as client:
        _one_call(client, key)
        text = client.get("/metrics", headers={"authorization": f"Bearer {key}"}).text
    for check in ("length", "facts", "lexicon", "pii"):
        assert f'guard_check_duration_milliseconds_count{{guard_check_name="{check}",' in text, check


def test_each_process_gets_its_own_service_instance_id(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTEL_RESOURCE_ATTRIBUTES", raising=False)
    ids = set()
    for _ in range(2):
        tel = setup_telemetry(set_global=False)
        ids.add(tel.tracer_provider.resource.attributes["service.instance.id"])
        tel.shutdown()
    assert len(ids) == 2  # a fresh one per set-up, i.e. per serving process
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "service.instance.id=pod-7")
    tel = setup_telemetry(set_global=False)
    assert tel.tracer_provider.resource.attributes["service.instance.id"] == "pod-7"  # the operator's wins
    tel.shutdown()
