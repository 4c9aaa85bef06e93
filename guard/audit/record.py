"""`DecisionRecord`: what the ledger keeps of one guarded decision (OPA decision-log style).

Re-exported by `guard.audit.api`, where the rest of the audit seam is. A plain class rather than
a frozen dataclass, so that the compiled build (`guard.native`) compiles its `__init__`: a frozen
dataclass's generated one runs interpreted, one `object.__setattr__` a field, and every guarded
call makes a record (19 fields: about 30,000 instructions a record against a few hundred).
Immutable all the same: compiled, assigning a field raises `AttributeError`; mypy rejects it
in the sources (`Final`).
"""

from __future__ import annotations

from typing import Any, Final, final

__all__ = ["OPEN_DECISION", "DecisionRecord"]

OPEN_DECISION: Final = "open"
"""The `decision` of a stream's open record: committed when the stream opens, before anything of
the reply is released; the stream's final record (same trace id) completes it. Not a decision."""

_FIELDS: Final = (
    "trace_id",
    "timestamp",
    "caller",
    "customer_id",
    "model",
    "policy",
    "policy_version",
    "decision",
    "codes",
    "violations",
    "original_masked",
    "released",
    "regenerations",
    "stream",
    "latency_ms",
    "error",
    "extra",
    "check_ms",
    "sensitive_values",
)


@final
class DecisionRecord:
    """What the ledger keeps of one guarded decision. Compared and printed by value.

    - `timestamp`: unix seconds, taken by the caller (the engine reads no clock).
    - `decision`: allow | revise | block, or "error" when no verdict could be reached; "open"
      (`OPEN_DECISION`) for a stream's open record, which the stream's final record completes.
    - `violations`: {code, start, end, action, tier?, evidence?} each: no raw PII.
    - `original_masked`: the model's last reply with PII masked; None if there was none.
    - `released`: what the customer got.
    - `error`: e.g. "upstream_timeout": why no model reply was checked.
    - `check_ms`: per-check run time in ms ({check name: ms}), one span per check.
    - `sensitive_values`: values the auditor must mask wherever they appear (e.g. the customer's
      name and phone); used for masking only, never stored or exported.
    """

    __slots__ = _FIELDS

    def __init__(
        self,
        trace_id: str,
        timestamp: float,
        caller: str | None,
        customer_id: str | None,
        model: str | None,
        policy: str,
        policy_version: str,
        decision: str,
        codes: tuple[str, ...],
        violations: tuple[dict[str, Any], ...],
        original_masked: str | None,
        released: str | None,
        regenerations: int = 0,
        stream: bool = False,
        latency_ms: float | None = None,
        error: str | None = None,
        extra: dict[str, Any] | None = None,
        check_ms: dict[str, float] | None = None,
        sensitive_values: tuple[str, ...] = (),
    ) -> None:
        self.trace_id: Final = trace_id
        self.timestamp: Final = timestamp
        self.caller: Final = caller
        self.customer_id: Final = customer_id
        self.model: Final = model
        self.policy: Final = policy
        self.policy_version: Final = policy_version
        self.decision: Final = decision
        self.codes: Final = codes
        self.violations: Final = violations
        self.original_masked: Final = original_masked
        self.released: Final = released
        self.regenerations: Final = regenerations
        self.stream: Final = stream
        self.latency_ms: Final = latency_ms
        self.error: Final = error
        self.extra: Final[dict[str, Any]] = {} if extra is None else extra
        self.check_ms: Final[dict[str, float]] = {} if check_ms is None else check_ms
        self.sensitive_values: Final = sensitive_values

    def replace(self, **changes: Any) -> DecisionRecord:
        """A copy with the named fields changed (as `dataclasses.replace` did for the dataclass)."""
        unknown = set(changes) - set(_FIELDS)
        if unknown:
            raise TypeError(f"DecisionRecord has no field(s) {sorted(unknown)}")
        values = {name: getattr(self, name) for name in _FIELDS}
        values.update(changes)
        return DecisionRecord(**values)

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in _FIELDS)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DecisionRecord):
            return NotImplemented
        return self._values() == other._values()

    __hash__ = None  # type: ignore[assignment]  # holds dicts, as the dataclass did: unhashable

    def __repr__(self) -> str:
        # `sensitive_values` are the raw values to mask (the customer's name, phone): a record
        # printed into a log or a traceback must not carry them; the rest is masked already.
        fields = [f"{name}={getattr(self, name)!r}" for name in _FIELDS[:-1]]  # all but sensitive_values
        n = len(self.sensitive_values)
        fields.append(f"sensitive_values=<{n} masked>" if n else "sensitive_values=()")
        return f"DecisionRecord({', '.join(fields)})"
