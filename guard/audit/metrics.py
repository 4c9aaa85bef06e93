"""OpenTelemetry metrics of the guard: decisions, violations, check and ledger latencies, errors.

Instruments are created once per `GuardMetrics`. Attributes carry codes, actions, check names and
error types only — never text. A stream's open record is not a decision: it is not counted in
`guard.decisions` (nor its latency in `guard.call.duration`); its commit is a ledger write
(`guard.ledger.write.duration`, `guard.ledger.errors`). `record_policy_reload_failure` is the hook the policy reloader
calls; it uses the global meter provider (set by `guard.audit.otel.setup_telemetry`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from typing import Any

from opentelemetry import metrics
from opentelemetry.metrics import MeterProvider, NoOpMeterProvider

__all__ = ["GuardMetrics", "default_metrics", "record_policy_reload_failure"]


class GuardMetrics:
    """The guard's instruments on one meter provider (the global one when none is given)."""

    def __init__(self, meter_provider: MeterProvider | None = None) -> None:
        mp = meter_provider or metrics.get_meter_provider()
        # False on a no-op provider (no metrics exporter): callers may skip preparing measurements.
        self.enabled = not isinstance(mp, NoOpMeterProvider)
        m = mp.get_meter("guard.audit")
        self.decisions = m.create_counter(
            "guard.decisions", unit="{decision}", description="Guarded decisions by outcome"
        )
        self.violations = m.create_counter(
            "guard.violations", unit="{violation}", description="Violations by code and action"
        )
        self.check_duration = m.create_histogram(
            "guard.check.duration", unit="ms", description="Run time of one check"
        )
        self.decision_duration = m.create_histogram(
            "guard.call.duration", unit="ms", description="Guarded call latency"
        )
        self.upstream_errors = m.create_counter(
            "guard.upstream.errors", unit="{error}", description="Failed upstream attempts"
        )
        self.upstream_duration = m.create_histogram(
            "gen_ai.client.operation.duration",
            unit="s",
            description="GenAI operation duration (upstream attempt)",
        )
        self.ledger_duration = m.create_histogram(
            "guard.ledger.write.duration", unit="ms", description="Ledger commit wait"
        )
        self.ledger_errors = m.create_counter(
            "guard.ledger.errors", unit="{error}", description="Failed ledger writes"
        )
        self.policy_reload_failures = m.create_counter(
            "guard.policy.reload_failures",
            unit="{failure}",
            description="Policy reloads rejected (old policy kept)",
        )

    def decision(
        self,
        *,
        decision: str,
        policy: str,
        violations: Iterable[Mapping[str, Any]],
        latency_ms: float | None,
        check_ms: Mapping[str, float],
    ) -> None:
        """Count one decision, its violations, and record its latencies."""
        self.decisions.add(1, {"guard.decision": decision, "guard.policy.name": policy})
        for v in violations:
            self.violations.add(
                1,
                {
                    "guard.violation.code": str(v.get("code", "")),
                    "guard.violation.action": str(v.get("action", "")),
                },
            )
        if latency_ms is not None:
            self.decision_duration.record(latency_ms, {"guard.decision": decision})
        for name, ms in check_ms.items():
            self.check_duration.record(ms, {"guard.check.name": name})

    def policy_reload_failed(self, policy: str | None, reason: str) -> None:
        """Count one rejected policy reload (`reason`: an error kind, not a message)."""
        self.policy_reload_failures.add(1, {"guard.policy.name": policy or "", "error.type": reason})


_default: GuardMetrics | None = None
_default_lock = threading.Lock()


def default_metrics() -> GuardMetrics:
    """The process-wide instruments on the global meter provider."""
    global _default
    with _default_lock:
        if _default is None:
            _default = GuardMetrics()
        return _default


def record_policy_reload_failure(policy: str | None, reason: str) -> None:
    """For the policy reloader: a reload was rejected and the previous policy stays in force."""
    default_metrics().policy_reload_failed(policy, reason)
