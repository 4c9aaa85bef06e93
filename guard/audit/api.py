"""The seam between the request path and the audit trail.

The proxy (and any other caller of the engine that must leave a trace) talks only to `Auditor`:

    with auditor.call(caller="svc-a", customer_id="C1", model="qwen", stream=False) as call:
        with call.upstream_attempt(1):      # one child span per upstream attempt
            ...
        call.decision(record)               # durable BEFORE the reply is released
        # on an event loop: await call.decision_async(record)

`call.decision` (and `await call.decision_async`, which does not block the loop) must return
only once the `DecisionRecord` is durable (ledger committed): the reply is released after it.
A stream also commits an open record when it opens (`await call.open_async(record)`, decision
`OPEN_DECISION`, durable the same way) before anything of its reply is released; its final
record, under the same trace id, completes it. The open record is not the call's decision.
A `DecisionRecord` never holds raw PII: `original_masked` is the model's reply with PII masked,
`released` is what the customer got (already safe).

`NullAuditor` keeps nothing (trace ids only): for tests of the request path and for `guard check`.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator
from typing import Any, Protocol

from guard.audit.record import OPEN_DECISION, DecisionRecord

__all__ = ["OPEN_DECISION", "Auditor", "CallAudit", "DecisionRecord", "NullAuditor"]


class CallAudit(Protocol):
    """The audit of one guarded call (one trace)."""

    trace_id: str

    def upstream_attempt(self, attempt: int, **attributes: Any) -> contextlib.AbstractContextManager[Any]:
        """One child span per upstream attempt; the value entered may offer `set_attributes(**kw)`."""
        ...

    def decision(self, record: DecisionRecord) -> None: ...

    async def decision_async(self, record: DecisionRecord) -> None:
        """`decision` for a caller on an event loop (the loop is not blocked while it commits)."""
        ...

    async def open_async(self, record: DecisionRecord) -> None:
        """A stream's open record (decision `OPEN_DECISION`): returns once it is durable, like
        `decision_async`, but it is not the call's decision (the call stays undecided)."""
        ...

    def set_attributes(self, **attributes: Any) -> None: ...


class Auditor(Protocol):
    """Creates one `CallAudit` per guarded call."""

    def call(
        self, *, caller: str | None, customer_id: str | None, model: str | None, stream: bool
    ) -> contextlib.AbstractContextManager[CallAudit]: ...

    def close(self) -> None: ...


class _NullCall:
    def __init__(self) -> None:
        self.trace_id = secrets.token_hex(16)
        self.records: list[DecisionRecord] = []
        self.opened: list[DecisionRecord] = []

    @contextlib.contextmanager
    def upstream_attempt(self, attempt: int, **attributes: Any) -> Iterator[None]:
        yield

    def decision(self, record: DecisionRecord) -> None:
        self.records.append(record)

    async def decision_async(self, record: DecisionRecord) -> None:
        self.records.append(record)

    async def open_async(self, record: DecisionRecord) -> None:
        self.opened.append(record)

    def set_attributes(self, **attributes: Any) -> None:
        return None


class NullAuditor:
    """Keeps decisions in memory only (`records`; streams' open records in `opened`): for tests
    and offline checks."""

    def __init__(self) -> None:
        self.records: list[DecisionRecord] = []
        self.opened: list[DecisionRecord] = []

    @contextlib.contextmanager
    def call(
        self, *, caller: str | None, customer_id: str | None, model: str | None, stream: bool
    ) -> Iterator[_NullCall]:
        c = _NullCall()
        try:
            yield c
        finally:
            self.opened.extend(c.opened)
            self.records.extend(c.records)

    def close(self) -> None:
        return None
