"""`OtelAuditor`: one OpenTelemetry trace per guarded call, and the durable ledger record.

Trace shape (all children of the root):

    guard.call                       root (SERVER): caller, customer id, model, decision, policy, latency
    ├── chat {model}                 one per upstream attempt (CLIENT, OTel gen_ai.* conventions)
    ├── guard.check {name}           one per check (from `DecisionRecord.check_ms`, else per code family)
    ├── guard.stream.open            a stream's open record committed (ledger seq, write time); streams only
    └── guard.decision               decision, policy version, codes and counts, masked evidence, ledger seq

No attribute, event or status message ever holds reply or prompt text: only codes, counts, ids,
lengths, timings and evidence passed through `Redactor`. Exceptions are recorded by type name
only (their messages may quote text).

The root span starts with the call; the children, the root's outcome and the metrics are recorded
as plain data with their clock times and made into SDK spans when the call is over — right then,
or with `deferred=True` by the event loop's next callback, after the response (see `OtelAuditor`).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from opentelemetry import trace
from opentelemetry.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import INVALID_SPAN_CONTEXT, NonRecordingSpan, Span, SpanKind, Status, StatusCode

from guard.audit.api import DecisionRecord
from guard.audit.ledger import AuditLedger
from guard.audit.metrics import GuardMetrics
from guard.audit.redact import Redactor

__all__ = ["OtelAuditor", "build_entry"]

log = logging.getLogger("guard.audit")

SCHEMA_VERSION = 1
_MAX_ATTR = 256
# Keys whose values would be text the model or the caller wrote: never put on a span.
_TEXT_KEYS = frozenset(
    {
        "prompt",
        "messages",
        "message",
        "content",
        "reply",
        "text",
        "body",
        "completion",
        "input",
        "output",
        "released",
    }
)
# Friendly keyword -> OTel semantic-convention attribute for the upstream span.
_SEMCONV = {
    "provider": "gen_ai.provider.name",
    "system": "gen_ai.system",
    "response_model": "gen_ai.response.model",
    "response_id": "gen_ai.response.id",
    "input_tokens": "gen_ai.usage.input_tokens",
    "output_tokens": "gen_ai.usage.output_tokens",
    "finish_reasons": "gen_ai.response.finish_reasons",
    "temperature": "gen_ai.request.temperature",
    "max_tokens": "gen_ai.request.max_tokens",
    "server_address": "server.address",
    "server_port": "server.port",
    "status_code": "http.response.status_code",
    "error": "error.type",
}


def _family(code: str) -> str:
    return code.split(".", 1)[0]


def build_entry(
    record: DecisionRecord,
    *,
    redactor: Redactor,
    attempts: Sequence[Mapping[str, Any]] = (),
    sensitive_values: Sequence[str] = (),
) -> dict[str, Any]:
    """The ledger entry of one decision: the record, masked again, plus its upstream attempts."""
    vals = (*record.sensitive_values, *sensitive_values)
    released = None if record.released is None else redactor.text(record.released, vals)
    done = None if record.released is None or released is None else (record.released, released)
    return {
        "schema": SCHEMA_VERSION,
        "trace_id": record.trace_id,
        "ts": record.timestamp,
        "caller": record.caller,
        "customer_id": record.customer_id,
        "model": record.model,
        "policy": record.policy,
        "policy_version": record.policy_version,
        "decision": record.decision,
        "codes": list(record.codes),
        "violations": [redactor.value(dict(v), vals) for v in record.violations],
        "original_masked": redactor.reply(record.original_masked, record.violations, vals, done=done),
        "released": released,
        "regenerations": record.regenerations,
        "stream": record.stream,
        "latency_ms": record.latency_ms,
        "error": None if record.error is None else redactor.text(record.error, vals),
        "extra": redactor.value(dict(record.extra), vals),
        "check_ms": dict(record.check_ms),
        "attempts": [dict(a) for a in attempts],
    }


def _scalar(v: Any) -> bool:
    return isinstance(v, str | bool | int | float)


@dataclass(slots=True)
class _SpanPlan:
    """A child span as recorded on the request path; the SDK span is made from it at the end."""

    name: str
    start_ns: int
    end_ns: int
    attributes: dict[str, Any]
    kind: SpanKind = SpanKind.INTERNAL
    error: str | None = None  # status description when the span ended in error


class _Attempt:
    """The value of `with call.upstream_attempt(n):` — lets the proxy add safe attributes."""

    def __init__(self, call: _OtelCall, attributes: dict[str, Any], summary: dict[str, Any]) -> None:
        self._call, self._attributes, self.summary = call, attributes, summary

    def set_attributes(self, **attributes: Any) -> None:
        """Add upstream attributes (token counts, finish reasons, status); text keys are dropped."""
        safe = self._call.safe_attributes(attributes)
        self._attributes.update(safe)
        self.summary.update(safe)


_UNSAMPLED_ROOT: Span = NonRecordingSpan(INVALID_SPAN_CONTEXT)


class _AttemptScope:
    """`with call.upstream_attempt(n) as attempt:` (a class, not a generator: the request path
    enters one per upstream call, and a generator's context manager costs several times more)."""

    __slots__ = ("_attempt", "_attributes", "_attrs", "_call", "_plan", "_summary", "_t0")

    _attrs: dict[str, Any]
    _summary: dict[str, Any]
    _plan: _SpanPlan | None
    _t0: float

    def __init__(self, call: _OtelCall, attempt: int, attributes: dict[str, Any]) -> None:
        self._call = call
        self._attempt = attempt
        self._attributes = attributes

    def __enter__(self) -> _Attempt:
        c = self._call
        attrs: dict[str, Any] = {"gen_ai.operation.name": "chat", "guard.upstream.attempt": self._attempt}
        if c._model:
            attrs["gen_ai.request.model"] = c._model
        if self._attributes:
            attrs.update(c.safe_attributes(self._attributes))
        summary: dict[str, Any] = {"attempt": self._attempt}
        for k, v in attrs.items():
            if k != "gen_ai.operation.name":
                summary[k] = v
        self._attrs, self._summary = attrs, summary
        self._plan = None  # a span plan only in a sampled trace
        if c._recording:
            name = f"chat {c._model}" if c._model else "chat"
            self._plan = _SpanPlan(name, time.time_ns(), 0, attrs, SpanKind.CLIENT)
        self._t0 = time.perf_counter()
        return _Attempt(c, attrs, summary)

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        seconds = time.perf_counter() - self._t0
        c, attrs, summary, plan = self._call, self._attrs, self._summary, self._plan
        if exc_type is not None:
            err = exc_type.__name__
            attrs["error.type"] = err
            summary["error.type"] = err
        summary["duration_ms"] = round(seconds * 1000, 3)
        err_type = summary.get("error.type")
        if plan is not None:
            plan.end_ns = time.time_ns()
            if err_type is not None:
                plan.error = str(err_type)
            c._spans.append(plan)
        if c._measuring:
            model = c._model or ""
            c._measurements.append(lambda m: _upstream_measurements(m, seconds, model, err_type))
        c.attempts.append(summary)


class _OtelCall:
    """One trace. The root span starts with the call (its trace id names the ledger record); the
    children, the root's outcome and the metrics are recorded as plain data with their clock
    times and turned into SDK spans and measurements by `finish()`, once the call is over."""

    trace_id: str

    def __init__(
        self,
        auditor: OtelAuditor,
        root: Span,
        model: str | None,
        sensitive: Sequence[str] = (),
        trace_id: int | None = None,
    ) -> None:
        self._a = auditor
        self._root = root
        self._recording = root.is_recording()  # False when no exporter samples the trace
        # The children's parent (only a recorded trace makes children).
        self._ctx = trace.set_span_in_context(root) if self._recording else None
        self._model = model
        self._sensitive = tuple(sensitive)
        # An unsampled call's root is the shared no-op span; its trace id is the call's own.
        self.trace_id = format(root.get_span_context().trace_id if trace_id is None else trace_id, "032x")
        self._measuring = auditor.metrics.enabled  # False when no exporter reads the metrics
        self.attempts: list[dict[str, Any]] = []
        self.decided = False
        self._spans: list[_SpanPlan] = []
        self._root_attributes: dict[str, Any] = {}
        self._root_error: str | None = None
        self._root_end_ns = 0
        self._measurements: list[Callable[[GuardMetrics], None]] = []

    def safe_attributes(self, attributes: Mapping[str, Any]) -> dict[str, Any]:
        """Attributes fit for a span: semantic-convention names, no text keys, redacted strings."""
        out: dict[str, Any] = {}
        red = self._a.redactor
        for k, v in attributes.items():
            if k.lower() in _TEXT_KEYS or v is None:
                continue
            key = _SEMCONV.get(k) or (
                k
                if k.startswith(("gen_ai.", "guard.", "http.", "server.", "error."))
                else f"guard.upstream.{k}"
            )
            if _scalar(v):
                out[key] = red.text(v, self._sensitive)[:_MAX_ATTR] if isinstance(v, str) else v
            elif isinstance(v, list | tuple) and all(_scalar(x) for x in v):
                out[key] = [red.text(x, self._sensitive)[:_MAX_ATTR] if isinstance(x, str) else x for x in v]
        return out

    def upstream_attempt(self, attempt: int, **attributes: Any) -> _AttemptScope:
        """A CLIENT span `chat {model}` for one upstream attempt (OTel gen_ai conventions)."""
        return _AttemptScope(self, attempt, attributes)

    def set_attributes(self, **attributes: Any) -> None:
        """Add attributes to the root span (same filtering as upstream attributes)."""
        self._root_attributes.update(self.safe_attributes(attributes))

    def decision(self, record: DecisionRecord) -> None:
        """Write the record to the ledger (returns once committed) and close the trace's spans."""
        entry, attrs = self._prepare(record)
        start_ns, t0 = time.time_ns(), time.perf_counter()
        seq: int | None = None
        try:
            if self._a.ledger is not None:
                seq = self._a.ledger.append(entry)
        except BaseException as exc:
            self._ledger_failed(attrs, start_ns, t0, exc)
            raise
        self._decided(record, attrs, start_ns, t0, seq)

    async def decision_async(self, record: DecisionRecord) -> None:
        """`decision` for the event loop: the commit runs off the loop (the ledger's writer
        process or committer thread) and concurrent calls share it; returns once it is committed."""
        entry, attrs = self._prepare(record)
        start_ns, t0 = time.time_ns(), time.perf_counter()
        seq: int | None = None
        try:
            if self._a.ledger is not None:
                seq = await self._a.ledger.append_async(entry)
        except BaseException as exc:
            self._ledger_failed(attrs, start_ns, t0, exc)
            raise
        self._decided(record, attrs, start_ns, t0, seq)

    async def open_async(self, record: DecisionRecord) -> None:
        """Commit a stream's open record (decision "open") from the event loop; returns once it is
        committed, as `decision_async` does. It is not the call's decision: no `guard.decision`
        span, no decision metrics, and the call stays undecided. Its commit is the child span
        `guard.stream.open` (ledger seq and write time) and counts in the ledger's metrics."""
        entry = build_entry(record, redactor=self._a.redactor, sensitive_values=self._sensitive)
        start_ns, t0 = time.time_ns(), time.perf_counter()
        seq: int | None = None
        try:
            if self._a.ledger is not None:
                seq = await self._a.ledger.append_async(entry)
        except BaseException as exc:
            self._opened(start_ns, t0, None, type(exc).__name__)
            raise
        self._opened(start_ns, t0, seq, None)

    def _opened(self, start_ns: int, t0: float, seq: int | None, error_type: str | None) -> None:
        """The open record's commit: its ledger measurements and the `guard.stream.open` span."""
        if not self._recording and not self._measuring:
            return
        write_ms = (time.perf_counter() - t0) * 1000
        if self._measuring:
            self._measurements.append(lambda m: m.ledger_duration.record(write_ms))
            if error_type is not None:
                self._measurements.append(lambda m: m.ledger_errors.add(1, {"error.type": error_type}))
        if self._recording:
            attrs: dict[str, Any] = {"guard.ledger.write_ms": round(write_ms, 3)}
            if seq is not None:
                attrs["guard.ledger.seq"] = seq
            plan = _SpanPlan("guard.stream.open", start_ns, time.time_ns(), attrs)
            if error_type is not None:
                plan.error = "ledger_write_failed"
            self._spans.append(plan)

    def _prepare(self, record: DecisionRecord) -> tuple[dict[str, Any], dict[str, Any]]:
        """The ledger entry and the decision span's attributes; the check spans are laid out."""
        a = self._a
        vals = tuple(record.sensitive_values) + self._sensitive
        entry = build_entry(
            record, redactor=a.redactor, attempts=self.attempts, sensitive_values=self._sensitive
        )
        if not self._recording:
            return entry, {}  # the span attributes below would go nowhere
        self._check_spans(record, time.time_ns())
        counts = (
            Counter(record.codes) if record.codes else Counter(str(v.get("code")) for v in record.violations)
        )
        attrs: dict[str, Any] = {
            "guard.decision": record.decision,
            "guard.policy.name": record.policy,
            "guard.policy.version": record.policy_version,
            "guard.violation.count": sum(counts.values()),
            "guard.violation.codes": sorted(counts),
            "guard.regenerations": record.regenerations,
        }
        for code, n in counts.items():
            attrs[f"guard.violations.{code}"] = n
        evidence = [
            f"{v.get('code')}: {a.redactor.text(str(v['evidence']), vals)[:_MAX_ATTR]}"
            for v in record.violations
            if v.get("evidence")
        ]
        if evidence:
            attrs["guard.violation.evidence"] = evidence
        if record.error:
            attrs["guard.error"] = a.redactor.text(record.error, vals)[:_MAX_ATTR]
        return entry, attrs

    def _decision_span(self, attrs: dict[str, Any], start_ns: int, t0: float) -> _SpanPlan:
        """The `guard.decision` span, from the start of the ledger write until now."""
        write_ms = (time.perf_counter() - t0) * 1000
        if self._measuring:
            self._measurements.append(lambda m: m.ledger_duration.record(write_ms))
        attrs["guard.ledger.write_ms"] = round(write_ms, 3)  # (a plan is cheap; unsampled, finish() skips it)
        plan = _SpanPlan("guard.decision", start_ns, time.time_ns(), attrs)
        self._spans.append(plan)
        return plan

    def _ledger_failed(self, attrs: dict[str, Any], start_ns: int, t0: float, exc: BaseException) -> None:
        error_type = type(exc).__name__
        if self._measuring:
            self._measurements.append(lambda m: m.ledger_errors.add(1, {"error.type": error_type}))
        self._decision_span(attrs, start_ns, t0).error = "ledger_write_failed"

    def _decided(
        self, record: DecisionRecord, attrs: dict[str, Any], start_ns: int, t0: float, seq: int | None
    ) -> None:
        if not self._recording and not self._measuring:
            self.decided = True  # no span and no measurement would be made of the rest
            return
        if seq is not None:
            attrs["guard.ledger.seq"] = seq
        self._decision_span(attrs, start_ns, t0)
        self.decided = True
        if self._recording:
            root_attrs = {
                k: v for k, v in attrs.items() if not k.startswith(("guard.violations.", "guard.ledger."))
            }
            if record.latency_ms is not None:
                root_attrs["guard.latency_ms"] = record.latency_ms
            self._root_attributes.update(root_attrs)
            if record.error:
                self._root_error = attrs["guard.error"]
        if not self._measuring:
            return
        decision, policy, violations = record.decision, record.policy, record.violations
        latency_ms, check_ms = record.latency_ms, record.check_ms
        self._measurements.append(
            lambda m: m.decision(
                decision=decision,
                policy=policy,
                violations=violations,
                latency_ms=latency_ms,
                check_ms=check_ms,
            )
        )

    def _check_spans(self, record: DecisionRecord, end_ns: int) -> None:
        by_check: dict[str, list[str]] = {}
        for v in record.violations:
            code = str(v.get("code", ""))
            check = str(v.get("check") or "")
            if not check:
                check = next(
                    (c for c in record.check_ms if c == _family(code) or c.startswith(_family(code))),
                    _family(code),
                )
            by_check.setdefault(check, []).append(code)
        names = list(record.check_ms) + [c for c in by_check if c not in record.check_ms]
        # Lay the checks out back to back, ending now (the engine reports durations, not clocks).
        total_ns = sum(int(record.check_ms.get(n, 0.0) * 1e6) for n in names)
        start = end_ns - total_ns
        for name in names:
            dur = int(record.check_ms.get(name, 0.0) * 1e6)
            codes = by_check.get(name, [])
            attrs: dict[str, Any] = {
                "guard.check.name": name,
                "guard.check.violation.count": len(codes),
                "guard.violation.codes": sorted(set(codes)),
            }
            if name in record.check_ms:
                attrs["guard.check.duration_ms"] = record.check_ms[name]
            self._spans.append(_SpanPlan(f"guard.check {name}", start, start + dur, attrs))
            start += dur

    def ended(self, error: BaseException | None) -> None:
        """The call is over (the `with` block is left): note the root's end and outcome."""
        self._root_end_ns = time.time_ns()
        if error is not None:
            self._root_attributes["error.type"] = type(error).__name__
            self._root_error = type(error).__name__
        if not self.decided:
            self._root_attributes["guard.decision"] = "none"

    @property
    def has_telemetry(self) -> bool:
        """Whether `finish()` makes anything: sampled spans or measurements."""
        return self._recording or bool(self._measurements)

    def finish(self) -> None:
        """Make the SDK spans of the call (when the root is sampled), end the root, record the metrics."""
        tracer = self._a.tracer
        root = self._root
        for plan in self._spans if root.is_recording() else ():
            span = tracer.start_span(
                plan.name,
                context=self._ctx,
                kind=plan.kind,
                attributes=plan.attributes,
                start_time=plan.start_ns,
            )
            if plan.error is not None:
                span.set_status(Status(StatusCode.ERROR, plan.error))
            span.end(end_time=plan.end_ns)
        root.set_attributes(self._root_attributes)
        if self._root_error is not None:
            root.set_status(Status(StatusCode.ERROR, self._root_error))
        root.end(end_time=self._root_end_ns)
        metrics = self._a.metrics
        for measure in self._measurements:
            measure(metrics)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _upstream_measurements(m: GuardMetrics, seconds: float, model: str, error_type: Any) -> None:
    if error_type is not None:
        m.upstream_errors.add(1, {"error.type": str(error_type)})
    m.upstream_duration.record(seconds, {"gen_ai.operation.name": "chat", "gen_ai.request.model": model})


class _CallScope:
    """`with auditor.call(...) as call:` (a class, not a generator; see `_AttemptScope`)."""

    __slots__ = ("_args", "_auditor", "_call")

    _call: _OtelCall

    def __init__(
        self,
        auditor: OtelAuditor,
        caller: str | None,
        customer_id: str | None,
        model: str | None,
        stream: bool,
        sensitive: Sequence[str],
    ) -> None:
        self._auditor = auditor
        self._args = (caller, customer_id, model, stream, sensitive)

    def __enter__(self) -> _OtelCall:
        self._call = self._auditor._start(*self._args)
        return self._call

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        self._auditor._end(self._call, exc)


class OtelAuditor:
    """The production `Auditor`: OpenTelemetry traces and metrics plus the durable ledger.

    `ledger=None` keeps traces and metrics only (no durability: not for production).
    `deferred=True` (the proxy): when a call ends on an event loop, its SDK spans and metrics are
    made by a callback the loop runs next — after the response went out — from the clock times
    recorded during the call, so the request path only records them. `flush()` makes those of
    every call still waiting. Otherwise (and without a running loop) they are made as the call
    ends.
    """

    def __init__(
        self,
        ledger: AuditLedger | None,
        *,
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
        redactor: Redactor | None = None,
        deferred: bool = False,
    ) -> None:
        self.ledger = ledger
        self._deferred = deferred
        self._pending: set[_OtelCall] = set()
        self._pending_lock = threading.Lock()
        self._own_tp = tracer_provider is None
        # An SDK provider even without exporters, so every call gets a real trace id.
        self.tracer_provider = tracer_provider or TracerProvider()
        self.tracer = self.tracer_provider.get_tracer("guard.audit")
        # A provider whose sampler drops every trace (no exporter configured) would only make a
        # non-recording span with fresh ids: made here directly, with the provider's own id
        # generator, without the SDK's start path (≈ 26 µs a call with cold caches, measured).
        sampler = getattr(self.tracer_provider, "sampler", None)
        ids = getattr(self.tracer_provider, "id_generator", None)
        self._unsampled_ids = (
            ids if ids is not None and sampler is not None and sampler.get_description() == "AlwaysOffSampler" else None
        )
        self.metrics = GuardMetrics(meter_provider)
        self.redactor = redactor or Redactor()

    def call(
        self,
        *,
        caller: str | None,
        customer_id: str | None,
        model: str | None,
        stream: bool,
        sensitive_values: Sequence[str] = (),
    ) -> _CallScope:
        """One trace: the root span lives as long as the `with` block."""
        return _CallScope(self, caller, customer_id, model, stream, sensitive_values)

    def _start(
        self, caller: str | None, customer_id: str | None, model: str | None, stream: bool, sensitive: Sequence[str]
    ) -> _OtelCall:
        ids = self._unsampled_ids
        root: Span
        if ids is None:
            attrs: dict[str, Any] = {"guard.stream": stream, "gen_ai.operation.name": "chat"}
            if caller is not None:
                attrs["guard.caller"] = caller
            if customer_id is not None:
                attrs["guard.customer_id"] = customer_id
            if model is not None:
                attrs["gen_ai.request.model"] = model
            root = self.tracer.start_span("guard.call", kind=SpanKind.SERVER, attributes=attrs)
        else:
            # Nothing would record the root or its attributes, and nothing reads its context (no
            # child span, no propagation): a fresh trace id from the provider's generator names
            # the call, and the root is a shared no-op span (≈ 1 µs less than making one).
            return _OtelCall(self, _UNSAMPLED_ROOT, model, sensitive, ids.generate_trace_id())
        return _OtelCall(self, root, model, sensitive)

    def _end(self, c: _OtelCall, error: BaseException | None) -> None:
        c.ended(error)
        # Deferred only when there is something to make: unsampled and unmeasured, finishing
        # is a no-op on the root and cheaper than scheduling it.
        loop = _running_loop() if self._deferred and c.has_telemetry else None
        if loop is None:
            c.finish()
        else:
            with self._pending_lock:
                self._pending.add(c)
            loop.call_soon(self._finish_pending, c)

    def _finish_pending(self, c: _OtelCall) -> None:
        with self._pending_lock:
            if c not in self._pending:
                return  # flush() got there first
            self._pending.discard(c)
        try:
            c.finish()
        except Exception as exc:  # telemetry never fails a call that is over; the ledger has its record
            log.warning("could not finish the spans of a call (%s)", type(exc).__name__)

    def flush(self) -> None:
        """Make the spans and metrics of every call that ended and is still waiting for them."""
        with self._pending_lock:
            pending = list(self._pending)
        for c in pending:
            self._finish_pending(c)

    def close(self) -> None:
        """Finish pending spans, flush them (if this auditor owns its provider), close the ledger."""
        self.flush()
        if self._own_tp:
            self.tracer_provider.shutdown()
        if self.ledger is not None:
            self.ledger.close()
