"""OpenTelemetry set-up from the standard `OTEL_*` variables.

- `OTEL_SDK_DISABLED=true`: no export at all (trace ids are still generated).
- `OTEL_TRACES_EXPORTER`: `otlp`, `console` or `none`; `OTEL_METRICS_EXPORTER`: a comma list of
  `otlp`, `console`, `prometheus` (a pull reader served by `guard.audit.http.build_metrics_router`)
  or `none`. When unset, OTLP
  export is on only if an endpoint is configured (`OTEL_EXPORTER_OTLP_ENDPOINT` or the
  per-signal `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` / `..._METRICS_ENDPOINT`), so a guard without
  a collector does not log connection errors.
- `OTEL_EXPORTER_OTLP_PROTOCOL` (or `..._TRACES_PROTOCOL` / `..._METRICS_PROTOCOL`):
  `http/protobuf` (default) or `grpc`. Endpoints, headers, timeouts, TLS: the exporters read the
  standard variables themselves.
- With no trace exporter, spans are not sampled at all (the SDK's `ALWAYS_OFF`): nothing is recorded
  for them on the request path; trace ids are still generated. With one, `OTEL_TRACES_SAMPLER` is
  honoured as usual (default: every span).
- Spans go through a `BatchSpanProcessor` (`OTEL_BSP_*`), so export never blocks a request;
  metrics through a `PeriodicExportingMetricReader` (`OTEL_METRIC_EXPORT_INTERVAL`).
- Resource: `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES` (default service name `guard`), and a
  `service.instance.id` per process (a random UUID, unless `OTEL_RESOURCE_ATTRIBUTES` names one):
  the worker processes of `guard serve --workers N` share one environment, and a collector must
  tell their cumulative metrics apart.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    ConsoleMetricExporter,
    MetricExporter,
    MetricReader,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

__all__ = ["Telemetry", "setup_telemetry"]


@dataclass(frozen=True, slots=True)
class Telemetry:
    """The providers the guard uses; `shutdown()` flushes pending spans and metrics."""

    tracer_provider: TracerProvider
    meter_provider: MeterProvider
    traces_exporter: str
    metrics_exporter: str  # comma-separated when several, e.g. "otlp,prometheus"

    def shutdown(self) -> None:
        """Flush and stop both providers."""
        self.tracer_provider.shutdown()
        self.meter_provider.shutdown()


def _truthy(v: str | None) -> bool:
    return (v or "").strip().lower() in ("1", "true", "yes", "on")


def _choices(env: Mapping[str, str], signal: str, allowed: tuple[str, ...]) -> list[str]:
    if _truthy(env.get("OTEL_SDK_DISABLED")):
        return []
    explicit = env.get(f"OTEL_{signal}_EXPORTER")
    if explicit:
        names = [n.strip().lower() for n in explicit.split(",") if n.strip()]
        unknown = [n for n in names if n not in (*allowed, "none")]
        if unknown:
            raise ValueError(
                f"unsupported OTEL_{signal}_EXPORTER value(s) {unknown} (use {', '.join(allowed)} or none)"
            )
        return [n for n in dict.fromkeys(names) if n != "none"]
    has_endpoint = env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get(f"OTEL_EXPORTER_OTLP_{signal}_ENDPOINT")
    return ["otlp"] if has_endpoint else []


def _protocol(env: Mapping[str, str], signal: str) -> str:
    p = (
        env.get(f"OTEL_EXPORTER_OTLP_{signal}_PROTOCOL")
        or env.get("OTEL_EXPORTER_OTLP_PROTOCOL")
        or "http/protobuf"
    )
    p = p.strip().lower()
    if p not in ("grpc", "http/protobuf"):
        raise ValueError(f"unsupported OTLP protocol {p!r} (use grpc or http/protobuf)")
    return p


def _span_exporter(kind: str, env: Mapping[str, str]) -> SpanExporter | None:
    if kind == "console":
        return ConsoleSpanExporter()
    if kind != "otlp":
        return None
    if _protocol(env, "TRACES") == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter

        return GrpcSpanExporter()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter

    return HttpSpanExporter()


def _metric_exporter(kind: str, env: Mapping[str, str]) -> MetricExporter | None:
    if kind == "console":
        return ConsoleMetricExporter()
    if kind != "otlp":
        return None
    if _protocol(env, "METRICS") == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import (
            OTLPMetricExporter as GrpcMetricExporter,
        )

        return GrpcMetricExporter()
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import (
        OTLPMetricExporter as HttpMetricExporter,
    )

    return HttpMetricExporter()


def setup_telemetry(service_name: str = "guard", *, set_global: bool = True) -> Telemetry:
    """Build tracer and meter providers from the `OTEL_*` environment (see the module docstring)."""
    env = os.environ
    attributes: dict[str, str] = {} if env.get("OTEL_SERVICE_NAME") else {"service.name": service_name}
    if "service.instance.id" not in env.get("OTEL_RESOURCE_ATTRIBUTES", ""):
        attributes["service.instance.id"] = str(uuid.uuid4())
    resource = Resource.create(attributes)
    t_kinds = _choices(env, "TRACES", ("otlp", "console"))[:1]
    m_kinds = _choices(env, "METRICS", ("otlp", "console", "prometheus"))
    # Without a span exporter no span would leave the process: sample none of them, so the request
    # path records nothing (`OtelAuditor` then skips its child spans; trace ids, the ledger's key,
    # are still made). Measured in process: ≈0.1 ms of CPU per guarded call.
    tp = TracerProvider(resource=resource, sampler=None if t_kinds else ALWAYS_OFF)
    for kind in t_kinds:
        span_exporter = _span_exporter(kind, env)
        if span_exporter is not None:
            tp.add_span_processor(BatchSpanProcessor(span_exporter))
    readers: list[MetricReader] = []
    for kind in m_kinds:
        if kind == "prometheus":
            from opentelemetry.exporter.prometheus import PrometheusMetricReader

            readers.append(PrometheusMetricReader())
            continue
        metric_exporter = _metric_exporter(kind, env)
        if metric_exporter is not None:
            readers.append(PeriodicExportingMetricReader(metric_exporter))
    mp = MeterProvider(resource=resource, metric_readers=readers)
    if set_global:
        trace.set_tracer_provider(tp)
        metrics.set_meter_provider(mp)
    return Telemetry(tp, mp, ",".join(t_kinds) or "none", ",".join(m_kinds) or "none")
