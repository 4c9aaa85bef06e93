"""The guarded completion: resolve the record, call the model, evaluate, regenerate, release.

Non-streamed: the model's reply is evaluated (with the other replies that arrived in the same
event-loop iteration or the next, one after another at the end of that one:
guard/proxy/iteration.py); while the verdict asks for regeneration and the policy's
`max_regenerations` allows, the model is asked again with its reply and a correction message
(what was wrong, what the record says, which limit). Then the verdict's `released` text goes
out: the reply, its revision, or the fallback (`finish_reason: content_filter`). That path and
the helpers both share are in guard/proxy/completion.py, compiled with the check modules.
Streamed: see guard/stream.py. Either way the decision is handed to the auditor (durable)
before any text of the reply leaves, and no error path carries model text. A stream also has an
open record, committed before its first sentence (or fallback) leaves: see `stream_events`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio

from guard.audit.api import Auditor
from guard.batch import CaseError, check_case
from guard.crm.base import CrmError, RecordSource
from guard.engine import evaluate
from guard.policy.dates import business_today
from guard.policy.model import Policy, PolicySet
from guard.proxy.auth import Principal
from guard.proxy.completion import (
    complete,
    correction_message,
    decision_record,
    guard_object,
    http_error,
    masked_original,
    open_record,
    record_error,
    relayed_finish,
    relayed_usage,
)
from guard.proxy.encoding import json_bytes
from guard.proxy.errors import GuardHTTPError
from guard.proxy.iteration import EndOfIteration
from guard.proxy.openai_models import ChatCompletionRequest, GuardParams
from guard.proxy.upstream import Upstream, UpstreamError
from guard.stream import StreamGuard
from guard.types import CustomerRecord, Verdict

__all__ = ["GuardService", "PolicyProvider", "correction_message", "masked_original"]

PolicyProvider = Callable[[], PolicySet]
"""Returns the policy set in force; a hot-reloading holder can be swapped in behind it."""

log = logging.getLogger("guard.proxy")


def _sse(obj: dict[str, Any]) -> bytes:
    return b"data: " + json_bytes(obj) + b"\n\n"


def _last_chunk(meta: dict[str, Any], finish: str | None, guard: dict[str, Any], usage: Any) -> bytes:
    """A stream's end: the chunk with its finish reason, the `guard` object (and `usage`), then [DONE]."""
    last: dict[str, Any] = {**meta, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}], "guard": guard}
    if usage is not None:
        last["usage"] = usage
    return _sse(last) + b"data: [DONE]\n\n"


class GuardService:
    """The request path of the proxy, independent of FastAPI routing."""

    def __init__(
        self,
        *,
        policies: PolicyProvider,
        auditor: Auditor,
        crm: RecordSource,
        upstream: Upstream,
        max_sentence_chars: int = 1000,
    ) -> None:
        self.policies = policies
        self.auditor = auditor
        self.crm = crm
        self.upstream = upstream
        self.max_sentence_chars = max_sentence_chars
        # Non-streamed replies are checked together, in waves (iteration.py).
        self._checks = EndOfIteration(later=1)
        # What `complete` calls on each reply (`bench.proxy_breakdown` and `bench.proxy_stages` swap
        # it on one service: a compiled module's own call to `guard.engine.evaluate` cannot be patched).
        self.evaluate = evaluate

    # -- inputs ---------------------------------------------------------------------------

    async def resolve(self, params: GuardParams) -> tuple[CustomerRecord, Policy]:
        """The customer record and policy of a request; 422 when either is missing or unknown."""
        if params.record is not None:
            record = params.record  # validated with the request (`parse_chat_request`)
            if params.customer_id is not None and params.customer_id != record.customer_id:
                raise GuardHTTPError(422, "guard.customer_id differs from guard.record.customer_id", "invalid_record")
        elif params.customer_id:
            try:
                found = await self.crm.get(params.customer_id)
            except CrmError as exc:
                raise GuardHTTPError(502, f"CRM lookup failed: {exc}; nothing was released", "crm_unavailable") from None
            if found is None:
                raise GuardHTTPError(
                    422, "guard.customer_id: unknown customer (not in the CRM source); nothing was released",
                    "unknown_customer",
                )
            if found.customer_id != params.customer_id:
                # By construction a request for one customer is never checked against another's
                # record, whatever the source answered (a misrouted HTTP CRM, an edited table row).
                raise GuardHTTPError(
                    502, "CRM answered a record of another customer; nothing was released", "crm_unavailable"
                )
            record = found
        else:
            raise GuardHTTPError(422, "guard.record or guard.customer_id is required", "missing_customer")
        try:
            policy = self.policies().select(params.policy, record.segment, today=business_today())
        except KeyError as exc:
            raise GuardHTTPError(422, f"guard.policy: {exc.args[0]}", "unknown_policy") from None
        return record, policy

    def check(self, body: dict[str, Any]) -> dict[str, Any]:
        """`POST /v1/guard/check`: one batch output line (contract §6)."""
        try:
            return check_case(body, self.policies(), business_today())
        except CaseError as exc:
            raise GuardHTTPError(422, str(exc), exc.code) from None  # the codes of the completions route

    # -- non-streamed -----------------------------------------------------------------------

    async def complete(self, req: ChatCompletionRequest, principal: Principal) -> tuple[dict[str, Any], dict[str, str]]:
        """A guarded ChatCompletion (dict) and its headers (guard/proxy/completion.py, compiled)."""
        return await complete(self, req, principal)

    # -- streamed ---------------------------------------------------------------------------

    async def stream_prepare(self, req: ChatCompletionRequest) -> tuple[CustomerRecord, Policy]:
        """Resolve what a stream needs before any byte of the response is sent (errors are HTTP)."""
        return await self.resolve(req.guard)

    async def stream_events(
        self,
        req: ChatCompletionRequest,
        principal: Principal,
        record: CustomerRecord,
        policy: Policy,
        trace: list[str],
    ) -> AsyncIterator[bytes]:
        """SSE events of a guarded stream. Raises `GuardHTTPError` before its first event only.

        `trace` receives the trace id as soon as it is known (for the response header). Once the
        first event is out, the stream always ends closed: an unexpected exception ends it like
        a block (the fallback, `finish_reason: content_filter`, `guard.error: internal_error`,
        `data: [DONE]`), never with a torn connection.

        The stream's open record (decision `open`) is handed to the auditor as the call starts, so
        that its commit overlaps the upstream's first tokens, and awaited before anything of the
        reply leaves: the first sentence, the last words and the last chunk, the fallback. A
        stream cut short by the guard's death (kill -9, power loss) so still has its record. If
        it cannot be committed, the stream fails closed as when its final record cannot be: the
        error is raised at the first release, which ends the stream with the fallback and
        `guard.error: internal_error`. It is always awaited before the call's final record, so
        that the final record comes after it in the ledger. The role chunk carries no text and
        does not wait for it.
        """
        started = time.perf_counter()
        body = req.upstream_body(self.upstream.map_model(req.model))
        body["stream"] = True
        messages = body["messages"]
        with self.auditor.call(caller=principal.name, customer_id=record.customer_id, model=req.model, stream=True) as call:
            trace.append(call.trace_id)
            # Committed while the upstream is asked; awaited (shielded: a cancelled request must not
            # cancel the commit) before the first release and before the final record.
            opening: asyncio.Task[None] | None = asyncio.create_task(
                call.open_async(open_record(call, principal, record, req.model, policy))
            )
            meta: dict[str, Any] = {
                "id": f"chatcmpl-{secrets.token_hex(12)}",
                "object": "chat.completion.chunk",
                "created": int(time.time()),
                "model": req.model,
            }
            decided = False
            reason = "client_disconnected"
            sent_role = False
            sent = ""  # the text the client was sent so far
            regenerations = 0
            attempt = 0
            usage: Any = None
            upstream_finish: str | None = None
            previous: Verdict | None = None
            previous_source = ""
            timings: dict[str, float] = {}  # each check's run time over every attempt, ms
            sg = StreamGuard(policy, record, model_in_loop=policy.max_regenerations > 0,
                             max_sentence_chars=self.max_sentence_chars, timings=timings)

            def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
                return _sse({**meta, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})

            try:
                while True:
                    attempt += 1
                    with call.upstream_attempt(attempt):
                        try:
                            up = await self.upstream.open_stream(body)
                        except UpstreamError as exc:
                            if attempt == 1:
                                if opening is not None:
                                    await asyncio.shield(opening)  # before the final record
                                    opening = None
                                record_error(call, principal, record, req.model, policy, exc.kind, started, True)
                                decided = True
                                raise http_error(exc, call.trace_id) from None
                            out = sg.fail(f"upstream_{exc.kind}")
                        else:
                            out = ""
                            if not sent_role:
                                # Headers and the role chunk go out as soon as the upstream answered,
                                # so the first sentence is not delayed by them; they carry no text.
                                sent_role = True
                                yield chunk({"role": "assistant", "content": ""})
                            try:
                                async for obj in up.chunks():
                                    if (relayed := relayed_usage(obj.get("usage"))) is not None:
                                        usage = relayed
                                    for choice in obj.get("choices") or ():
                                        if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                                            continue
                                        delta = choice.get("delta") or {}
                                        text = delta.get("content") if isinstance(delta, dict) else None
                                        if (finish := relayed_finish(choice.get("finish_reason"))) is not None:
                                            upstream_finish = finish
                                        if isinstance(text, str) and text:
                                            if len(sg.source) + len(text) > self.upstream.max_reply_chars:
                                                out = sg.fail("upstream_too_large")
                                                break
                                            piece = sg.feed(text)
                                            if sg.done:
                                                out = piece  # the last words wait for the decision
                                                break
                                            if piece:
                                                if opening is not None:  # the first sentence
                                                    await asyncio.shield(opening)
                                                    opening = None
                                                yield chunk({"content": piece})
                                                sent += piece
                                    if sg.done:
                                        break
                            except UpstreamError as exc:
                                out = sg.fail(f"upstream_{exc.kind}")
                            finally:
                                await up.aclose()
                    if not sg.done:
                        out += sg.finish()
                    if sg.wants_regenerate and regenerations < policy.max_regenerations:
                        regenerations += 1
                        corrections = sg.verdict.corrections if sg.verdict is not None else ()
                        body = {
                            **body,
                            "messages": [
                                *messages,
                                {"role": "assistant", "content": sg.source},
                                {"role": "user", "content": correction_message(corrections)},
                            ],
                        }
                        previous, previous_source = sg.verdict, sg.evaluated_source
                        sg = StreamGuard(policy, record, model_in_loop=regenerations < policy.max_regenerations,
                                         max_sentence_chars=self.max_sentence_chars, timings=timings)
                        continue
                    break
                outcome = sg.outcome(upstream_finish or "stop")
                if outcome.verdict is None and previous is not None:
                    # The regeneration attempt failed before any check: report what the last one found.
                    outcome.verdict, outcome.codes = previous, previous.codes
                verdict = outcome.verdict
                findings = verdict.violations if verdict is not None else ()
                if opening is not None:  # nothing was released yet
                    await asyncio.shield(opening)
                    opening = None
                await call.decision_async(
                    decision_record(
                        call,
                        principal,
                        record,
                        req.model,
                        policy,
                        started,
                        stream=True,
                        decision=outcome.decision.value,
                        codes=tuple(outcome.codes),
                        findings=findings,
                        # Only the text the verdict checked: a held-back tail was never looked at for PII.
                        checked=sg.evaluated_source if outcome.verdict is sg.verdict else previous_source,
                        released=outcome.released,
                        regenerations=regenerations,
                        error=outcome.error,
                        timings=timings,
                    )
                )
                decided = True
                if not sent_role:
                    sent_role = True
                    yield chunk({"role": "assistant", "content": ""})
                if out:
                    yield chunk({"content": out})
                    sent += out
                yield _last_chunk(meta, outcome.finish_reason, guard_object(
                    outcome.decision.value, outcome.codes, policy.name, policy.version, call.trace_id,
                    regenerations, outcome.error,
                ), usage)
            except (GeneratorExit, anyio.get_cancelled_exc_class()):
                reason = "client_disconnected"
                raise
            except Exception as exc:
                reason = "internal_error"
                if not sent_role:
                    raise  # nothing was sent yet: the app answers 500, nothing released
                # The response has started: close it as a block rather than tear it down.
                log.error("guarded stream failed after it started: %s", type(exc).__name__)
                fallback = policy.fallback or ""
                codes = list(sg.verdict.codes) if sg.verdict is not None else []
                if not decided:
                    if opening is not None:
                        # Its failure (if it is what ended the stream) was logged just above. Cancelled
                        # here, the stream is not decided yet: `finally` records its error.
                        with contextlib.suppress(Exception):
                            await asyncio.shield(opening)
                        opening = None
                    decided = True
                    try:
                        await call.decision_async(
                            decision_record(
                                call,
                                principal,
                                record,
                                req.model,
                                policy,
                                started,
                                stream=True,
                                decision="block",
                                codes=tuple(codes),
                                released=sent + fallback,
                                regenerations=regenerations,
                                error=reason,
                                timings=timings,
                            )
                        )
                    except Exception as failed:
                        log.error("guarded stream: its decision could not be recorded: %s", type(failed).__name__)
                if fallback:
                    yield chunk({"content": fallback})
                yield _last_chunk(meta, "content_filter", guard_object(
                    "block", codes, policy.name, policy.version, call.trace_id, regenerations, reason
                ), None)
            finally:
                if opening is not None:
                    # Not awaited yet (the client went away, or the stream failed before it released
                    # anything): the call's last record comes after it. Shielded from the request's
                    # cancel scope too, which cancels again at every await once it is cancelled.
                    with anyio.CancelScope(shield=True), contextlib.suppress(BaseException):
                        await asyncio.shield(opening)
                if not decided:
                    # The client went away (or something broke) before the decision: record what
                    # was released so far; nothing more will be.
                    record_error(call, principal, record, req.model, policy, reason, started, True, sg.released)
