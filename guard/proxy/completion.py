"""The non-streamed guarded completion and the decision helpers both paths share.

`GuardService.complete` (guard/proxy/service.py) calls `complete` here. This module is compiled
with the check modules (`guard.native.NATIVE_MODULES`): every non-streamed request runs its lines.
The streamed path stays in `service.py`, an async generator, which mypyc does not compile.
"""

from __future__ import annotations

import dataclasses
import re
import secrets
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from guard.audit.api import OPEN_DECISION, CallAudit, DecisionRecord
from guard.engine import apply_revisions
from guard.policy.model import Policy
from guard.proxy.auth import Principal
from guard.proxy.errors import GuardHTTPError
from guard.proxy.openai_models import ChatCompletionRequest
from guard.proxy.upstream import UpstreamError
from guard.stream import mend_surrogates
from guard.types import Action, CustomerRecord, Decision, Finding, Verdict

if TYPE_CHECKING:
    from guard.proxy.service import GuardService

__all__ = [
    "complete",
    "correction_message",
    "decision_record",
    "guard_object",
    "http_error",
    "masked_original",
    "open_record",
    "record_error",
    "relayed_finish",
    "relayed_id",
    "relayed_usage",
    "rounded",
    "violations",
]

_GENERIC_CORRECTION = "请严格按客户资料和话术规范重写。"


def correction_message(corrections: Sequence[str]) -> str:
    """The message that asks the model to rewrite its last reply (Chinese, for the model)."""
    lines = [f"{i}. {c}" for i, c in enumerate(corrections or (_GENERIC_CORRECTION,), start=1)]
    return "【合规提示】上一条回复没有通过合规检查，请重写，只输出要对客户说的话：\n" + "\n".join(lines)


def _has_pii_check(policy: Policy) -> bool:
    return any(getattr(c, "name", "") == "pii" for c in policy.checks)


def masked_original(policy: Policy, record: CustomerRecord, text: str | None, findings: Sequence[Finding]) -> str | None:
    """The model's reply for the ledger, PII masked; None when the policy has no PII check.

    Without a PII check nobody looked for PII in the text, so it is not kept at all. With one,
    every `pii.*` and `fact.name` span is masked, and so is every literal occurrence of the
    record's name and phone.
    """
    if text is None or not _has_pii_check(policy):
        return None
    masks = [
        dataclasses.replace(f, action=Action.MASK, replacement="*" * (f.end - f.start))
        for f in findings
        if (f.code.startswith("pii.") or f.code == "fact.name") and 0 <= f.start < f.end <= len(text)
    ]
    out = apply_revisions(text, masks)
    for value in (record.name, record.phone):
        if value:
            out = out.replace(value, "*" * len(value))
    return out


def violations(findings: Sequence[Finding]) -> tuple[dict[str, Any], ...]:
    """The findings as the decision record keeps them (code, span, action, tier, evidence)."""
    out = []
    for f in findings:
        item: dict[str, Any] = {"code": f.code, "start": f.start, "end": f.end, "action": f.action.value}
        if f.tier is not None:
            item["tier"] = f.tier
        if f.evidence is not None:
            item["evidence"] = f.evidence
        out.append(item)
    return tuple(out)


def rounded(timings: dict[str, float]) -> dict[str, float]:
    """Check run times for the record, in ms to the microsecond.

    `round(ms * 1000) / 1000` rather than `round(ms, 3)`, which converts each value to decimal
    digits and back (≈ 4,000 instructions a value). The two differ only on a tie within a float's
    error (0.0005 ms: 0.0 here, 0.001 there); a million random timings gave the same figures."""
    return {name: round(ms * 1000) / 1000 for name, ms in timings.items()}


# What of the upstream's answer besides the text reaches the client. Never a free-form value: the
# upstream may put anything in any field, and only `content` is checked.
# Finish reasons that announce what the guard never relays (tool calls): the client is told "stop".
_UNRELAYED_FINISH = frozenset({"tool_calls", "function_call"})
_RELAYED_FINISH = frozenset({"stop", "length", "content_filter"})
_SAFE_ID = re.compile(r"[A-Za-z0-9_.:-]{1,128}")
_DIGIT_RUN = re.compile(r"[0-9]{7,}")  # a phone, ID or card number would be such a run
_USAGE_KEY = re.compile(r"[a-z_]{1,64}")
_MAX_COUNT = 2**53 - 1  # the largest integer every JSON reader (JavaScript's too) reads exactly


def relayed_finish(finish: Any) -> str | None:
    """The upstream's finish reason as the client gets it: one of stop, length, content_filter;
    "stop" where it announces tool calls, which are not relayed (an SDK that sees "tool_calls"
    looks for them in the message and finds none); None (the guard decides: "stop") for
    anything else."""
    if not isinstance(finish, str):
        return None
    if finish in _RELAYED_FINISH:
        return finish
    return "stop" if finish in _UNRELAYED_FINISH else None


def relayed_id(value: Any) -> str | None:
    """An upstream `id` or `system_fingerprint` when it is a short string of safe characters
    (`[A-Za-z0-9_.:-]`, at most 128) without a run of seven digits or more (a phone, ID or card
    number), else None (the guard makes its own id / omits it)."""
    if not isinstance(value, str) or _SAFE_ID.fullmatch(value) is None:
        return None
    return value if _DIGIT_RUN.search(value) is None else None


def _count(value: Any) -> bool:
    return type(value) is int and 0 <= value <= _MAX_COUNT


def relayed_usage(usage: Any) -> dict[str, Any] | None:
    """The upstream's `usage` as the client gets it: only its token counts (`*_tokens`, a
    non-negative integer) and `*_details` objects of such counts, keys of lower-case letters and
    `_`; everything else dropped. None when nothing is left."""
    if not isinstance(usage, dict):
        return None
    out: dict[str, Any] = {}
    for key, value in usage.items():
        if not isinstance(key, str) or _USAGE_KEY.fullmatch(key) is None:
            continue
        if key.endswith("_tokens") and _count(value):
            out[key] = value
        elif key.endswith("_details") and isinstance(value, dict):
            details = {
                k: v
                for k, v in value.items()
                if isinstance(k, str) and _USAGE_KEY.fullmatch(k) is not None and k.endswith("_tokens") and _count(v)
            }
            if details:
                out[key] = details
    return out or None


def _content(data: dict[str, Any]) -> tuple[str, str | None]:
    """The first choice's text, as valid Unicode (`mend_surrogates`), and finish reason (tool calls
    and non-text parts are never relayed)."""
    choice = data["choices"][0]
    if not isinstance(choice, dict):
        raise UpstreamError("malformed", "upstream choice is not an object")
    message = choice.get("message")
    content = message.get("content") if isinstance(message, dict) else None
    text = mend_surrogates(content) if isinstance(content, str) else ""
    return text, relayed_finish(choice.get("finish_reason"))


def http_error(exc: UpstreamError, trace_id: str) -> GuardHTTPError:
    """502/504 for an upstream failure, with the trace id of its audit record; an upstream
    `Retry-After` (e.g. on 429) is passed on."""
    headers = {"x-guard-trace-id": trace_id}
    if exc.retry_after:
        headers["retry-after"] = exc.retry_after
    return GuardHTTPError(
        exc.http_status, f"{exc.message}; nothing was released", f"upstream_{exc.kind}", headers=headers
    )


def decision_record(
    call: CallAudit,
    principal: Principal,
    record: CustomerRecord,
    model: str,
    policy: Policy,
    started: float,
    *,
    stream: bool,
    decision: str,
    codes: tuple[str, ...],
    findings: Sequence[Finding] = (),
    checked: str | None = None,
    released: str | None,
    regenerations: int = 0,
    error: str | None = None,
    timings: dict[str, float] | None = None,
) -> DecisionRecord:
    """A ledger record of this call's decision: the fields every decision of a call shares, taken
    here, and the decision's own. `findings` are the verdict's violations, `checked` the reply
    text they were found in (kept PII-masked), `timings` each check's run time in ms. (Named
    parameters, not `**fields`: compiled, the record is then made by a direct call.)"""
    return DecisionRecord(
        trace_id=call.trace_id,
        timestamp=time.time(),
        caller=principal.name,
        customer_id=record.customer_id,
        model=model,
        policy=policy.name,
        policy_version=policy.version,
        decision=decision,
        codes=codes,
        violations=violations(findings),
        original_masked=masked_original(policy, record, checked, findings),
        released=released,
        regenerations=regenerations,
        stream=stream,
        latency_ms=(time.perf_counter() - started) * 1000,
        error=error,
        check_ms=None if timings is None else rounded(timings),
    )


def open_record(call: CallAudit, principal: Principal, record: CustomerRecord, model: str, policy: Policy) -> DecisionRecord:
    """A stream's open record: committed when the stream opens, before anything of the reply is
    released. The call's fields and the policy in force; decision `open`, no codes, no text
    (`released` and `original_masked` None), no latency yet. The final record completes it."""
    return DecisionRecord(
        trace_id=call.trace_id,
        timestamp=time.time(),
        caller=principal.name,
        customer_id=record.customer_id,
        model=model,
        policy=policy.name,
        policy_version=policy.version,
        decision=OPEN_DECISION,
        codes=(),
        violations=(),
        original_masked=None,
        released=None,
        stream=True,
    )


def guard_object(
    decision: str,
    codes: list[str],
    policy: str,
    policy_version: str,
    trace_id: str,
    regenerations: int,
    error: str | None,
) -> dict[str, Any]:
    """The `guard` object of a response (contract §7): the last chunk's when streamed."""
    info: dict[str, Any] = {
        "decision": decision,
        "violations": codes,
        "policy": policy,
        "policy_version": policy_version,
        "trace_id": trace_id,
        "regenerations": regenerations,
    }
    if error is not None:
        info["error"] = error
    return info


async def complete(
    service: GuardService, req: ChatCompletionRequest, principal: Principal
) -> tuple[dict[str, Any], dict[str, str]]:
    """A guarded ChatCompletion (dict) and its headers: `GuardService.complete`."""
    started = time.perf_counter()
    record, policy = await service.resolve(req.guard)
    body = req.upstream_body(service.upstream.map_model(req.model))
    messages = body["messages"]
    with service.auditor.call(caller=principal.name, customer_id=record.customer_id, model=req.model, stream=False) as call:
        verdict: Verdict | None = None
        reply = ""
        data: dict[str, Any] = {}
        finish: str | None = None
        regenerations = 0
        failure: UpstreamError | None = None
        attempt = 0
        timings: dict[str, float] = {}  # each check's run time over every attempt, ms
        while True:
            attempt += 1
            try:
                with call.upstream_attempt(attempt):
                    data = await service.upstream.chat(body)
                    reply, finish = _content(data)
                    if len(reply) > service.upstream.max_reply_chars:
                        raise UpstreamError(
                            "too_large", f"upstream reply longer than {service.upstream.max_reply_chars} characters"
                        )
            except UpstreamError as exc:
                failure = exc
                break
            verdict = await service._checks.run(
                service.evaluate, policy, record, reply, model_in_loop=True, timings=timings
            )
            if verdict.regenerate and regenerations < policy.max_regenerations:
                regenerations += 1
                body = {
                    **body,
                    "messages": [
                        *messages,
                        {"role": "assistant", "content": reply},
                        {"role": "user", "content": correction_message(verdict.corrections)},
                    ],
                }
                continue
            break
        if verdict is None:
            assert failure is not None
            record_error(call, principal, record, req.model, policy, failure.kind, started, False)
            raise http_error(failure, call.trace_id)
        error = None
        if failure is not None:
            # A regeneration attempt failed: the last verdict wanted a rewrite, so it is a block
            # whose released text is the fallback; release that.
            error = f"upstream_{failure.kind}"
        released = verdict.released
        blocked = verdict.decision is Decision.BLOCK
        truncated = any(f.action is Action.TRUNCATE for f in verdict.violations)
        finish_reason = "content_filter" if blocked else ("stop" if truncated else (finish or "stop"))
        await call.decision_async(
            decision_record(
                call,
                principal,
                record,
                req.model,
                policy,
                started,
                stream=False,
                decision=verdict.decision.value,
                codes=tuple(verdict.codes),
                findings=verdict.violations,
                checked=reply,
                released=released,
                regenerations=regenerations,
                error=error,
                timings=timings,
            )
        )
        created = data.get("created")
        out: dict[str, Any] = {
            "id": relayed_id(data.get("id")) or f"chatcmpl-{secrets.token_hex(12)}",
            "object": "chat.completion",
            "created": created if _count(created) else int(time.time()),
            "model": req.model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": released},
                    "finish_reason": finish_reason,
                }
            ],
        }
        usage = relayed_usage(data.get("usage"))
        if usage is not None:
            out["usage"] = usage
        fingerprint = relayed_id(data.get("system_fingerprint"))
        if fingerprint is not None:
            out["system_fingerprint"] = fingerprint
        out["guard"] = guard_object(
            verdict.decision.value, verdict.codes, verdict.policy, verdict.policy_version, call.trace_id,
            regenerations, error,
        )
        headers = {"x-guard-decision": verdict.decision.value, "x-guard-trace-id": call.trace_id}
        return out, headers


def record_error(
    call: CallAudit,
    principal: Principal,
    record: CustomerRecord,
    model: str,
    policy: Policy,
    kind: str,
    started: float,
    stream: bool,
    released: str | None = None,
) -> None:
    """Record a call that ended without a verdict (upstream failure, client gone, internal error)."""
    call.decision(
        decision_record(
            call,
            principal,
            record,
            model,
            policy,
            started,
            stream=stream,
            decision="error",
            codes=(),
            released=released,
            error=kind if kind.startswith(("upstream_", "client_", "internal")) else f"upstream_{kind}",
        )
    )

