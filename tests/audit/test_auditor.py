"""OtelAuditor: the trace shape, its attributes, metrics, and fail-closed ledger errors."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.metrics import NoOpMeterProvider
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from opentelemetry.trace import SpanKind, StatusCode

from guard.audit.api import Auditor, NullAuditor
from guard.audit.auditor import OtelAuditor
from guard.audit.ledger import LedgerError, SqliteLedger
from guard.audit.metrics import GuardMetrics
from guard.audit.query import verify
from tests.audit.records import make_record


class Harness:
    def __init__(self, tmp_path: Path, *, deferred: bool = False, sampled: bool = True, metered: bool = True) -> None:
        self.spans = InMemorySpanExporter()
        tp = TracerProvider() if sampled else TracerProvider(sampler=ALWAYS_OFF)
        tp.add_span_processor(SimpleSpanProcessor(self.spans))
        self.reader = InMemoryMetricReader()
        self.ledger = SqliteLedger(tmp_path / "l.db")
        self.auditor = OtelAuditor(
            self.ledger,
            tracer_provider=tp,
            meter_provider=MeterProvider(metric_readers=[self.reader]) if metered else NoOpMeterProvider(),
            deferred=deferred,
        )

    def by_name(self) -> dict[str, ReadableSpan]:
        return {s.name: s for s in self.spans.get_finished_spans()}

    def metric_points(self) -> dict[str, list[Any]]:
        data = self.reader.get_metrics_data()
        out: dict[str, list[Any]] = {}
        assert data is not None
        for rm in data.resource_metrics:
            for sm in rm.scope_metrics:
                for m in sm.metrics:
                    out[m.name] = list(m.data.data_points)
        return out


@pytest.fixture
def h(tmp_path: Path) -> Harness:
    return Harness(tmp_path)


def test_auditors_satisfy_the_protocol(h: Harness) -> None:
    auditors: list[Auditor] = [h.auditor, NullAuditor()]
    assert len(auditors) == 2


def test_one_trace_with_attempt_check_and_decision_spans(h: Harness) -> None:
    with h.auditor.call(caller="svc-a", customer_id="C1", model="qwen", stream=False) as call:
        with pytest.raises(TimeoutError), call.upstream_attempt(1, server_address="llm.internal"):
            raise TimeoutError("upstream slow")
        with call.upstream_attempt(2) as at:
            at.set_attributes(input_tokens=12, output_tokens=30, finish_reasons=["stop"], prompt="张先生您好")
        rec = make_record(
            call.trace_id, decision="block", codes=("fact.credit_line", "fact.credit_line", "length.sentence"),
            violations=(
                {"code": "fact.credit_line", "start": 5, "end": 10, "action": "regenerate", "evidence": "5000元"},
                {"code": "fact.credit_line", "start": 20, "end": 25, "action": "regenerate", "evidence": "5000元"},
                {"code": "length.sentence", "start": 0, "end": 60, "action": "warn"},
            ),
            regenerations=1, latency_ms=812.5, check_ms={"facts": 0.3, "length": 0.05},
        )  # fmt: skip
        call.decision(rec)
    spans = h.by_name()
    assert set(spans) == {
        "guard.call",
        "chat qwen",
        "guard.check facts",
        "guard.check length",
        "guard.decision",
    }
    root = spans["guard.call"]
    assert root.parent is None and root.kind == SpanKind.SERVER
    trace_ids = {s.context.trace_id for s in h.spans.get_finished_spans()}
    assert trace_ids == {root.context.trace_id}
    assert format(root.context.trace_id, "032x") == call.trace_id
    assert all(
        s.parent is not None and s.parent.span_id == root.context.span_id
        for n, s in spans.items()
        if n != "guard.call"
    )
    ra = dict(root.attributes or {})
    assert (
        ra["guard.caller"] == "svc-a"
        and ra["guard.customer_id"] == "C1"
        and ra["gen_ai.request.model"] == "qwen"
    )
    assert ra["guard.decision"] == "block" and ra["guard.policy.version"] == "sha256:abc123"
    assert (
        ra["guard.violation.count"] == 3
        and ra["guard.regenerations"] == 1
        and ra["guard.latency_ms"] == 812.5
    )
    d = dict(spans["guard.decision"].attributes or {})
    assert d["guard.violations.fact.credit_line"] == 2 and d["guard.violations.length.sentence"] == 1
    assert list(d["guard.violation.codes"]) == ["fact.credit_line", "length.sentence"]  # type: ignore[arg-type]
    assert list(d["guard.violation.evidence"]) == ["fact.credit_line: 5000元"] * 2  # type: ignore[arg-type]
    assert d["guard.ledger.seq"] == 1
    up = [s for s in h.spans.get_finished_spans() if s.name == "chat qwen"]
    assert len(up) == 2 and all(s.kind == SpanKind.CLIENT for s in up)
    failed, ok = sorted(up, key=lambda s: s.attributes["guard.upstream.attempt"])  # type: ignore[index]
    assert failed.status.status_code == StatusCode.ERROR and failed.attributes["error.type"] == "TimeoutError"  # type: ignore[index]
    assert failed.attributes["server.address"] == "llm.internal"  # type: ignore[index]
    oa = dict(ok.attributes or {})
    assert oa["gen_ai.operation.name"] == "chat" and oa["gen_ai.usage.input_tokens"] == 12
    assert "guard.upstream.prompt" not in oa and "prompt" not in oa  # text keys are dropped
    checks = dict(spans["guard.check facts"].attributes or {})
    assert checks["guard.check.violation.count"] == 2 and checks["guard.check.duration_ms"] == 0.3
    # the ledger record carries the attempts
    rows = h.ledger.get(call.trace_id)
    assert len(rows) == 1
    body = rows[0].record()
    assert [a["attempt"] for a in body["attempts"]] == [1, 2]
    assert body["attempts"][0]["error.type"] == "TimeoutError"
    points = h.metric_points()
    assert sum(p.value for p in points["guard.decisions"]) == 1
    assert {p.attributes["guard.violation.code"]: p.value for p in points["guard.violations"]} == {
        "fact.credit_line": 2,
        "length.sentence": 1,
    }
    assert sum(p.value for p in points["guard.upstream.errors"]) == 1
    assert {p.attributes["guard.check.name"] for p in points["guard.check.duration"]} == {"facts", "length"}
    assert sum(p.count for p in points["guard.ledger.write.duration"]) == 1


def test_decision_on_the_event_loop_leaves_the_same_trace_and_record(h: Harness) -> None:
    async def call() -> str:
        with h.auditor.call(caller="svc-a", customer_id="C1", model="qwen", stream=False) as call:
            with call.upstream_attempt(1):
                await asyncio.sleep(0)
            rec = make_record(call.trace_id, decision="revise", codes=("pii.phone",), check_ms={"pii": 0.1})
            await call.decision_async(rec)
            return call.trace_id

    trace_id = asyncio.run(call())
    spans = h.by_name()
    assert set(spans) == {"guard.call", "chat qwen", "guard.check pii", "guard.decision"}
    root, decision, chat = spans["guard.call"], spans["guard.decision"], spans["chat qwen"]
    assert format(root.context.trace_id, "032x") == trace_id
    assert all(s.parent is not None and s.parent.span_id == root.context.span_id for s in (decision, chat))
    d = dict(decision.attributes or {})
    assert d["guard.ledger.seq"] == 1 and d["guard.decision"] == "revise"
    assert isinstance(d["guard.ledger.write_ms"], float)
    assert root.attributes["guard.decision"] == "revise"  # type: ignore[index]
    assert decision.start_time is not None and decision.end_time is not None and root.end_time is not None
    assert (
        chat.end_time is not None
        and chat.end_time <= decision.start_time <= decision.end_time <= root.end_time
    )
    assert [r.trace_id for r in h.ledger.rows()] == [trace_id]


def test_ledger_failure_on_the_event_loop_marks_the_trace(h: Harness) -> None:
    h.ledger.close()

    async def call() -> None:
        with h.auditor.call(caller="a", customer_id="C1", model="m", stream=False) as call:
            await call.decision_async(make_record(call.trace_id))

    with pytest.raises(LedgerError):
        asyncio.run(call())
    spans = h.by_name()
    assert spans["guard.decision"].status.status_code == StatusCode.ERROR
    assert spans["guard.call"].attributes["guard.decision"] == "none"  # type: ignore[index]


def test_deferred_spans_are_made_after_the_call_with_the_times_of_the_call(tmp_path: Path) -> None:
    h = Harness(tmp_path, deferred=True)

    async def call() -> tuple[int, int, bool]:
        started = time.time_ns()
        with h.auditor.call(caller="svc-a", customer_id="C1", model="qwen", stream=False) as call:
            with call.upstream_attempt(1) as at:
                at.set_attributes(output_tokens=7)
            await call.decision_async(make_record(call.trace_id, decision="block", codes=("fact.name",)))
        ended = time.time_ns()
        made_during_the_call = bool(h.spans.get_finished_spans())
        time.sleep(0.05)  # the loop runs the finishing callback only after this
        await asyncio.sleep(0)
        return started, ended, made_during_the_call

    started, ended, made_during_the_call = asyncio.run(call())
    assert not made_during_the_call
    spans = h.by_name()
    assert set(spans) == {"guard.call", "chat qwen", "guard.check fact", "guard.decision"}
    for s in spans.values():  # the call's own clock times, not the time the spans were made
        assert s.start_time is not None and s.end_time is not None
        assert started <= s.start_time <= s.end_time <= ended, s.name
    assert spans["chat qwen"].attributes["gen_ai.usage.output_tokens"] == 7  # type: ignore[index]
    assert spans["guard.call"].attributes["guard.decision"] == "block"  # type: ignore[index]
    assert sum(p.value for p in h.metric_points()["guard.decisions"]) == 1
    assert len(h.spans.get_finished_spans()) == 4


def test_flush_makes_the_waiting_spans_once(tmp_path: Path) -> None:
    h = Harness(tmp_path, deferred=True)

    async def calls() -> None:
        for _ in range(3):
            with h.auditor.call(caller="a", customer_id="C1", model="m", stream=False) as call:
                await call.decision_async(make_record(call.trace_id))
        h.auditor.flush()  # before the loop had a chance to
        assert sum(s.name == "guard.call" for s in h.spans.get_finished_spans()) == 3
        await asyncio.sleep(0)  # the loop's callbacks find nothing left to do

    asyncio.run(calls())
    assert len(h.spans.get_finished_spans()) == 6  # 3 x (guard.call, guard.decision)


def test_check_spans_come_from_code_families_without_timings(h: Harness) -> None:
    with h.auditor.call(caller=None, customer_id=None, model=None, stream=True) as call:
        call.decision(make_record(call.trace_id, decision="revise", codes=("pii.phone", "lexicon.tier2")))
    names = set(h.by_name())
    assert {"guard.check pii", "guard.check lexicon", "guard.decision", "guard.call"} == names


def test_ledger_failure_propagates_and_marks_the_trace(h: Harness) -> None:
    h.ledger.close()
    with (
        pytest.raises(LedgerError),
        h.auditor.call(caller="a", customer_id="C1", model="m", stream=False) as call,
    ):
        call.decision(make_record(call.trace_id))
    spans = h.by_name()
    assert spans["guard.decision"].status.status_code == StatusCode.ERROR
    assert spans["guard.call"].status.status_code == StatusCode.ERROR
    assert spans["guard.call"].attributes["guard.decision"] == "none"  # type: ignore[index]
    assert not spans["guard.call"].events  # exceptions are not recorded with their messages


def test_every_decision_is_in_the_ledger_in_order(h: Harness) -> None:
    ids = []
    for _ in range(20):
        with h.auditor.call(caller="a", customer_id="C1", model="m", stream=False) as call:
            call.decision(make_record(call.trace_id))
            ids.append(call.trace_id)
    assert [r.trace_id for r in h.ledger.rows()] == ids
    assert verify(h.ledger).ok


def test_policy_reload_failures_are_counted() -> None:
    reader = InMemoryMetricReader()
    m = GuardMetrics(MeterProvider(metric_readers=[reader]))
    m.policy_reload_failed("outbound_marketing", "PolicyError")
    data = reader.get_metrics_data()
    assert data is not None
    pts = [
        p
        for rm in data.resource_metrics
        for sm in rm.scope_metrics
        for met in sm.metrics
        if met.name == "guard.policy.reload_failures"
        for p in met.data.data_points
    ]
    assert [(p.value, p.attributes["error.type"]) for p in pts] == [(1, "PolicyError")]


def _one_call(h: Harness) -> tuple[str, dict[str, Any]]:
    with h.auditor.call(caller="svc-a", customer_id="C1", model="qwen", stream=False) as call:
        with call.upstream_attempt(1) as at:
            at.set_attributes(input_tokens=12, output_tokens=30, finish_reasons=["stop"])
        rec = make_record(
            call.trace_id, decision="block", codes=("fact.credit_line",),
            violations=({"code": "fact.credit_line", "start": 5, "end": 10, "action": "regenerate", "evidence": "5000元"},),
            regenerations=1, latency_ms=812.5, check_ms={"facts": 0.3},
        )  # fmt: skip
        call.decision(rec)
    (row,) = h.ledger.get(call.trace_id)
    return call.trace_id, row.record()


def test_an_unsampled_trace_keeps_the_record_and_the_metrics(tmp_path: Path) -> None:
    """Without an exporter (`setup_telemetry` samples nothing) no span is made; nothing else changes."""
    sampled, unsampled = Harness(tmp_path / "a"), Harness(tmp_path / "b", sampled=False)
    trace_a, body_a = _one_call(sampled)
    trace_b, body_b = _one_call(unsampled)
    assert len(trace_b) == 32 and int(trace_b, 16) != 0 and trace_b != trace_a  # a real trace id
    assert unsampled.spans.get_finished_spans() == () and len(sampled.spans.get_finished_spans()) == 4
    for body in (body_a, body_b):
        body.pop("trace_id")
        body.pop("ts")
        for attempt in body["attempts"]:
            attempt.pop("duration_ms")
    assert body_a == body_b  # the ledger record does not depend on sampling
    for h in (sampled, unsampled):
        points = h.metric_points()
        assert sum(p.value for p in points["guard.decisions"]) == 1
        assert sum(p.count for p in points["guard.ledger.write.duration"]) == 1


def test_without_a_metrics_exporter_nothing_is_measured_and_the_record_is_the_same(tmp_path: Path) -> None:
    metered, unmetered = Harness(tmp_path / "a"), Harness(tmp_path / "b", metered=False)
    assert metered.auditor.metrics.enabled and not unmetered.auditor.metrics.enabled
    with unmetered.auditor.call(caller="svc-a", customer_id="C1", model="qwen", stream=False) as call:
        with call.upstream_attempt(1):
            pass
        call.decision(make_record(call.trace_id))
        assert call._measurements == []  # no closures prepared for instruments that go nowhere
    _, body_a = _one_call(metered)
    _, body_b = _one_call(unmetered)
    for body in (body_a, body_b):
        body.pop("trace_id")
        body.pop("ts")
        body.pop("seq")  # the unmetered ledger holds one record more
        for attempt in body["attempts"]:
            attempt.pop("duration_ms")
    assert body_a == body_b
    # The spans do not depend on metrics either.
    names_a = sorted(s.name for s in metered.spans.get_finished_spans())
    assert sorted(s.name for s in unmetered.spans.get_finished_spans()[-len(names_a) :]) == names_a


def test_a_deferred_call_with_nothing_to_make_finishes_at_once(tmp_path: Path) -> None:
    """Unsampled and unmeasured, a call schedules nothing: its root ends as the call does."""
    quiet, sampled = Harness(tmp_path / "a", deferred=True, sampled=False, metered=False), Harness(
        tmp_path / "b", deferred=True, metered=False
    )

    async def one(h: Harness) -> tuple[int, bool]:
        with h.auditor.call(caller="a", customer_id="C1", model="m", stream=False) as call:
            with call.upstream_attempt(1):
                pass
            await call.decision_async(make_record(call.trace_id))
        return len(h.auditor._pending), call.has_telemetry

    assert asyncio.run(one(quiet)) == (0, False)
    assert quiet.ledger.count() == 1 and quiet.spans.get_finished_spans() == ()
    assert asyncio.run(one(sampled)) == (1, True)  # waiting for the loop's callback, which made them
    assert {s.name for s in sampled.spans.get_finished_spans()} == {"guard.call", "chat m", "guard.decision"}


def test_an_unsampled_call_gets_fresh_trace_ids_without_the_sdk_start_path(tmp_path: Path) -> None:
    """Sampler always off: the root is made directly (no SDK start), the ids still come from the
    provider's generator, the ledger record still names the call's trace, and nothing is exported."""
    h = Harness(tmp_path, sampled=False, metered=False)
    started: list[str] = []
    tracer = h.auditor.tracer
    real_start = tracer.start_span

    def counting(name: str, *args: Any, **kwargs: Any) -> Any:
        started.append(name)
        return real_start(name, *args, **kwargs)

    tracer.start_span = counting  # type: ignore[method-assign]
    ids = []
    for _ in range(3):
        with h.auditor.call(caller="c", customer_id="C1", model="m", stream=False) as call:
            with call.upstream_attempt(1):
                pass
            call.decision(make_record(trace_id=call.trace_id))
            ids.append(call.trace_id)
    assert started == []
    assert len(set(ids)) == 3 and all(len(t) == 32 and int(t, 16) != 0 for t in ids)
    assert [r.trace_id for r in h.ledger.rows()] == ids
    assert h.spans.get_finished_spans() == ()
    # A sampling provider still goes through the SDK (and exports).
    s = Harness(tmp_path / "s", sampled=True)
    with s.auditor.call(caller="c", customer_id="C1", model="m", stream=False) as call:
        call.decision(make_record(trace_id=call.trace_id))
    assert [sp.name for sp in s.spans.get_finished_spans()][-1] == "guard.call"
