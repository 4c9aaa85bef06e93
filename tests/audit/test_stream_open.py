"""A stream's open record: committed when the stream opens, before anything of its reply is
released, on the real ledgers (SQLite through its writer process, and PostgreSQL); the final
record completes it (docs/security.md item 5).

The guarded stream runs through `GuardService.stream_events`, as the app's `GuardedStream`
drives it, against an upstream on an `httpx.MockTransport`; the ledger is read between events,
as an auditor's second connection would."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from guard.audit.auditor import OtelAuditor
from guard.audit.ledger import AuditLedger, LedgerError, LedgerRow
from guard.audit.query import show, stats, unfinished, verify
from guard.crm.base import NoSource
from guard.policy.dates import business_today
from guard.policy.loader import load_policy_set
from guard.proxy.auth import Principal
from guard.proxy.errors import GuardHTTPError
from guard.proxy.openai_models import ChatCompletionRequest, parse_chat_request
from guard.proxy.service import GuardService
from guard.proxy.settings import GuardSettings
from guard.proxy.upstream import Upstream

REPO = Path(__file__).resolve().parents[2]
FIRST, SECOND = "张先生您好。", "您的额度已经审核通过了。"
RECORD = {"customer_id": "C1", "name": "张飞", "gender": "male", "credit_line": 4000}
CALLER = Principal("dialogue", "caller")
POLICIES = load_policy_set(REPO / "policies")
Handler = Callable[[httpx.Request], httpx.Response]


def sse_reply(*pieces: str) -> httpx.Response:
    events = [{"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}]
    events += [{"choices": [{"index": 0, "delta": {"content": p}}]} for p in pieces]
    events.append({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    body = "".join(f"data: {json.dumps(e, ensure_ascii=False)}\n\n" for e in events) + "data: [DONE]\n\n"
    return httpx.Response(200, content=body.encode(), headers={"content-type": "text/event-stream"})


def reply_ok(request: httpx.Request) -> httpx.Response:
    if json.loads(request.content).get("stream"):
        return sse_reply(FIRST, SECOND)
    message = {"role": "assistant", "content": FIRST + SECOND}
    return httpx.Response(200, json={"choices": [{"index": 0, "message": message, "finish_reason": "stop"}]})


def service_on(ledger: AuditLedger, handler: Handler = reply_ok, **auditor_options: Any) -> GuardService:
    settings = GuardSettings(upstream_base_url="http://upstream.test/v1", crm_source="none", upstream_retries=0)
    return GuardService(
        policies=lambda: POLICIES,
        auditor=OtelAuditor(ledger, **auditor_options),
        crm=NoSource(),
        upstream=Upstream(settings, transport=httpx.MockTransport(handler)),
    )


def request(stream: bool = True) -> ChatCompletionRequest:
    body = {"model": "m", "messages": [{"role": "user", "content": "额度"}], "stream": stream, "guard": {"record": RECORD}}
    return parse_chat_request(json.dumps(body).encode(), "application/json")


def parsed(event: bytes) -> dict[str, Any] | str:
    data = event.decode().removeprefix("data: ").strip()
    if "\n\n" in data:  # the last chunk and [DONE] come as one event
        data = data.split("\n\n")[0]
    return data if data == "[DONE]" else dict(json.loads(data))


def content(event: bytes) -> str:
    obj = parsed(event)
    if not isinstance(obj, dict):
        return ""
    return str(obj["choices"][0]["delta"].get("content") or "")


async def open_stream(service: GuardService) -> tuple[AsyncIterator[bytes], list[str]]:
    req = request()
    record, policy = await service.stream_prepare(req)
    trace: list[str] = []
    return service.stream_events(req, CALLER, record, policy, trace), trace


POLICY = POLICIES.select(None, None, today=business_today())  # the one the requests here are checked under


def records(ledger: AuditLedger, trace_id: str) -> list[LedgerRow]:
    return ledger.get(trace_id)


def slow_open_commits(ledger: AuditLedger, monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    """Open records take `seconds` longer to commit; every other record as usual."""
    real = ledger.append_async

    async def append_async(entry: dict[str, Any]) -> int:
        if entry["decision"] == "open":
            await asyncio.sleep(seconds)
        return await real(entry)

    monkeypatch.setattr(ledger, "append_async", append_async)


async def test_the_open_record_is_committed_before_the_first_sentence(
    make_ledger: Callable[[], AuditLedger], monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger = make_ledger()
    slow_open_commits(ledger, monkeypatch, 0.3)  # the upstream answers at once: the sentence must wait
    service = service_on(ledger)
    events, trace = await open_stream(service)
    pieces: list[str] = []
    seen_at_first_content: list[LedgerRow] | None = None
    async for event in events:
        text = content(event)
        if text and seen_at_first_content is None:
            seen_at_first_content = records(ledger, trace[0])
        pieces.append(text)
    assert "".join(pieces) == FIRST + SECOND
    assert seen_at_first_content is not None and [r.decision for r in seen_at_first_content] == ["open"]
    opened = seen_at_first_content[0].record()
    assert {k: opened[k] for k in ("trace_id", "caller", "customer_id", "model", "policy", "stream")} == {
        "trace_id": trace[0], "caller": "dialogue", "customer_id": "C1", "model": "m",
        "policy": POLICY.name, "stream": True,
    }  # fmt: skip
    assert opened["policy_version"] == POLICY.version
    assert (opened["codes"], opened["violations"], opened["released"], opened["original_masked"]) == ([], [], None, None)
    assert (opened["regenerations"], opened["error"], opened["attempts"]) == (0, None, [])
    # The final record completes it: same trace id, later in the chain, the stream's decision.
    rows = records(ledger, trace[0])
    assert [r.decision for r in rows] == ["open", "allow"] and rows[0].seq < rows[1].seq
    assert rows[1].record()["released"] == FIRST + SECOND and rows[1].record()["stream"] is True
    assert verify(ledger).ok and unfinished(ledger) == []
    assert [r["decision"] for r in show(ledger, trace[0])] == ["open", "allow"]
    s = stats(ledger, bucket="all")
    assert (s.total, dict(s.decisions), s.unfinished) == (1, {"allow": 1}, [])


async def test_its_commit_overlaps_the_upstream(make_ledger: Callable[[], AuditLedger]) -> None:
    """Started as the stream is accepted, before the upstream is asked (not after its answer)."""
    ledger = make_ledger()
    asked: list[list[str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        return sse_reply(FIRST, SECOND)

    service = service_on(ledger, handler)
    real_open = service.upstream.open_stream

    async def open_upstream(body: dict[str, Any]) -> Any:
        await asyncio.sleep(0.5)  # a slow model: the open record is committed meanwhile
        asked.append([r.decision for r in records(ledger, trace[0])])
        return await real_open(body)

    service.upstream.open_stream = open_upstream  # type: ignore[method-assign]
    events, trace = await open_stream(service)
    _ = [e async for e in events]
    assert asked == [["open"]]


@pytest.mark.parametrize("failing", ["open", "final"])
async def test_a_failing_commit_fails_the_stream_closed(
    make_ledger: Callable[[], AuditLedger], monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    """The open record failing ends the stream as the final record failing does: no text of the
    reply after it, the fallback, `content_filter`, `guard.error: internal_error`, `[DONE]`."""
    ledger = make_ledger()
    real = ledger.append_async
    failed: list[str] = []

    async def append_async(entry: dict[str, Any]) -> int:
        which = "open" if entry["decision"] == "open" else "final"
        if which == failing and not failed:  # once: the block record after it is committed
            failed.append(entry["decision"])
            raise LedgerError("ledger write failed: OperationalError")
        return await real(entry)

    monkeypatch.setattr(ledger, "append_async", append_async)
    events, trace = await open_stream(service_on(ledger))
    out = [e async for e in events]
    fallback = POLICY.fallback
    texts = [content(e) for e in out if content(e)]
    # Released before the failing commit: nothing when the open record failed; the sentences
    # checked so far when the final one did (as before the open record).
    assert texts == ([fallback] if failing == "open" else [FIRST, SECOND, fallback])
    last = parsed(out[-1])
    assert isinstance(last, dict) and last["choices"][0]["finish_reason"] == "content_filter"
    assert last["guard"]["decision"] == "block" and last["guard"]["error"] == "internal_error"
    assert out[-1].endswith(b"data: [DONE]\n\n")
    rows = records(ledger, trace[0])
    assert [r.decision for r in rows] == (["block"] if failing == "open" else ["open", "block"])
    final = rows[-1].record()
    assert final["error"] == "internal_error" and final["released"] == "".join(texts)
    assert verify(ledger).ok and unfinished(ledger) == []


async def test_an_upstream_failure_before_the_stream_has_both_records_in_order(
    make_ledger: Callable[[], AuditLedger],
) -> None:
    ledger = make_ledger()
    events, trace = await open_stream(service_on(ledger, lambda r: httpx.Response(503, json={"error": {}})))
    with pytest.raises(GuardHTTPError) as err:
        await events.__anext__()
    assert err.value.status == 502
    rows = records(ledger, trace[0])
    assert [r.decision for r in rows] == ["open", "error"]
    assert rows[1].record()["error"] == "upstream_status" and verify(ledger).ok and unfinished(ledger) == []


async def test_a_client_gone_before_any_sentence_leaves_the_open_record_then_the_error(
    make_ledger: Callable[[], AuditLedger], monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger = make_ledger()
    slow_open_commits(ledger, monkeypatch, 0.3)  # still in flight when the client goes
    events, trace = await open_stream(service_on(ledger))
    first = await events.__anext__()  # the role chunk: no text, it does not wait for the record
    assert content(first) == "" and records(ledger, trace[0]) == []
    await events.aclose()  # type: ignore[attr-defined]
    rows = records(ledger, trace[0])
    assert [r.decision for r in rows] == ["open", "error"]  # the open record first, whatever the timing
    assert rows[1].record()["error"] == "client_disconnected" and not rows[1].record()["released"]


async def test_a_non_streamed_request_makes_exactly_one_record(make_ledger: Callable[[], AuditLedger]) -> None:
    ledger = make_ledger()
    out, headers = await service_on(ledger).complete(request(stream=False), CALLER)
    assert out["choices"][0]["message"]["content"] == FIRST + SECOND
    rows = ledger.get(headers["x-guard-trace-id"])
    assert [(r.decision, r.record()["stream"]) for r in rows] == [("allow", False)]
    assert ledger.count() == 1


async def test_the_trace_has_one_decision_span_and_the_open_commit_as_its_own_span(tmp_path: Path) -> None:
    """OpenTelemetry: the open record is not a decision (no second `guard.decision` span, counted
    once in `guard.decisions`); its commit is the `guard.stream.open` span and a ledger write."""
    from guard.audit.ledger import SqliteLedger

    spans = InMemorySpanExporter()
    tp = TracerProvider()
    tp.add_span_processor(SimpleSpanProcessor(spans))
    reader = InMemoryMetricReader()
    ledger = SqliteLedger(tmp_path / "l.db")
    try:
        service = service_on(ledger, tracer_provider=tp, meter_provider=MeterProvider(metric_readers=[reader]))
        events, trace = await open_stream(service)
        _ = [e async for e in events]
        rows = ledger.get(trace[0])
    finally:
        ledger.close()
    names = sorted(s.name for s in spans.get_finished_spans())
    assert names.count("guard.decision") == 1 and names.count("guard.stream.open") == 1
    by_name = {s.name: s for s in spans.get_finished_spans()}
    assert (by_name["guard.stream.open"].attributes or {})["guard.ledger.seq"] == rows[0].seq
    assert (by_name["guard.decision"].attributes or {})["guard.ledger.seq"] == rows[1].seq
    root = by_name["guard.call"]
    assert (root.attributes or {})["guard.decision"] == "allow"
    assert all(s.parent is not None and s.parent.span_id == root.context.span_id
               for s in spans.get_finished_spans() if s is not root)
    data = reader.get_metrics_data()
    assert data is not None
    points: dict[str, list[Any]] = {m.name: list(m.data.data_points) for rm in data.resource_metrics for sm in rm.scope_metrics
              for m in sm.metrics}  # fmt: skip
    assert [(p.attributes["guard.decision"], p.value) for p in points["guard.decisions"]] == [("allow", 1)]
    assert sum(p.count for p in points["guard.ledger.write.duration"]) == 2  # both commits


async def test_a_stream_cancelled_while_its_open_record_commits_keeps_the_records_in_order(
    make_ledger: Callable[[], AuditLedger], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The request's task cancelled by an anyio cancel scope (as a task group cancels it, which
    cancels again at every await) while the stream waits for its open record before the first
    sentence: the open record is still waited for, so the final record (client_disconnected)
    comes after it in the chain, and no sentence leaves."""
    import anyio

    ledger = make_ledger()
    slow_open_commits(ledger, monkeypatch, 0.3)
    events, trace = await open_stream(service_on(ledger))
    assert content(await events.__anext__()) == ""  # the role chunk
    got: list[bytes] = []
    with anyio.CancelScope() as scope:
        scope.cancel()  # the next event is asked for inside a cancelled scope
        with pytest.raises(anyio.get_cancelled_exc_class()):
            got.append(await events.__anext__())
    assert got == []
    rows = records(ledger, trace[0])
    assert [r.decision for r in rows] == ["open", "error"]  # before: ["error"], then "open" after it
    assert rows[1].record()["error"] == "client_disconnected"
    assert verify(ledger).ok and unfinished(ledger) == []


async def test_a_stream_cancelled_while_it_fails_closed_still_has_its_final_record(
    make_ledger: Callable[[], AuditLedger], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug after the role chunk, while the open record still commits, then the request cancelled
    while the failing stream waits for it: the stream is not decided yet, so its error is recorded
    after the open record (it was left with only its open record, an unfinished stream)."""
    from guard.stream import StreamGuard

    def broken(self: StreamGuard, text: str) -> str:
        raise RuntimeError("a bug")

    monkeypatch.setattr(StreamGuard, "feed", broken)
    ledger = make_ledger()
    slow_open_commits(ledger, monkeypatch, 0.5)
    events, trace = await open_stream(service_on(ledger))
    assert content(await events.__anext__()) == ""  # the role chunk
    task = asyncio.ensure_future(events.__anext__())
    await asyncio.sleep(0.2)  # the bug happened; the fallback waits for the open record
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    rows = records(ledger, trace[0])
    assert [r.decision for r in rows] == ["open", "error"]
    assert rows[1].record()["error"] == "internal_error"
    assert verify(ledger).ok and unfinished(ledger) == []
