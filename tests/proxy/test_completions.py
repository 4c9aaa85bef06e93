"""Non-streamed completions through the real app, with the official openai client (sync)."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx
import openai
import pytest
from openai import OpenAI

from tests.proxy.conftest import CALLER, Guarded
from tests.proxy.policies import FALLBACK
from tests.proxy.scenarios import FIRST, OK, RECORD, SANE_USAGE, SECRET_PARTS, TOOL_ID_CARD, ask


@pytest.fixture(scope="module")
def client(guarded: Guarded) -> OpenAI:
    return OpenAI(base_url=guarded.v1, api_key=CALLER, max_retries=0)


def complete(client: OpenAI, scenario: str, guard: dict[str, Any] | None = None) -> Any:
    return client.chat.completions.with_raw_response.create(
        model="guard-model", messages=ask(scenario), extra_body={"guard": guard if guard is not None else {"record": RECORD}}
    )


# scenario, policy → content, decision, finish_reason, violation codes
CASES = [
    ("ok", "strict", OK, "allow", "stop", []),
    ("long", "strict", FALLBACK, "block", "content_filter", ["length.sentence"]),
    ("long", "trunc", FIRST.rstrip(), "revise", "stop", ["length.sentence", "length.reply"]),
    ("long", "open", None, "allow", "stop", ["length.sentence"]),
    ("banned", "words", FALLBACK, "block", "content_filter", ["lexicon.tier3"]),
    ("phone", "words", "张先生您好。有事请拨打***********联系我。", "revise", "stop", ["pii.phone"]),
]


@pytest.mark.parametrize(("scenario", "policy", "content", "decision", "finish", "codes"), CASES)
def test_guarded_reply(
    client: OpenAI, scenario: str, policy: str, content: str | None, decision: str, finish: str, codes: list[str]
) -> None:
    raw = complete(client, scenario, {"record": RECORD, "policy": policy})
    completion = raw.parse()
    choice = completion.choices[0]
    if content is not None:
        assert choice.message.content == content
    assert choice.finish_reason == finish
    guard = completion.model_extra["guard"]
    assert guard["decision"] == decision
    assert guard["policy"] == policy
    assert sorted(guard["violations"]) == sorted(codes)
    assert guard["regenerations"] == 0
    assert raw.headers["x-guard-decision"] == decision
    assert raw.headers["x-guard-trace-id"] == guard["trace_id"]
    assert completion.model == "guard-model"


def test_blocked_text_never_reaches_the_client(client: OpenAI) -> None:
    for policy in ("strict", "trunc", "words"):
        for scenario in ("long", "banned", "phone"):
            text = complete(client, scenario, {"record": RECORD, "policy": policy}).parse().choices[0].message.content
            if policy in ("strict", "trunc"):  # both limit sentences to 20 characters
                assert "特别" not in text
            else:
                assert "稳赚不赔" not in text and "13812345678" not in text


def test_regenerates_with_the_correction_then_releases(client: OpenAI, guarded: Guarded) -> None:
    before = len(guarded.upstream.requests)
    completion = complete(client, "regen_then_ok", {"record": RECORD, "policy": "regen"}).parse()
    assert completion.choices[0].message.content == OK
    guard = completion.model_extra["guard"]
    assert guard["decision"] == "allow" and guard["regenerations"] == 1
    sent = guarded.upstream.requests[before:]
    assert len(sent) == 2
    retry = sent[1]["messages"]
    assert retry[-2]["role"] == "assistant" and retry[-1]["role"] == "user"
    assert "【合规提示】" in retry[-1]["content"] and "20 字" in retry[-1]["content"]
    assert sent[1]["model"] == "scripted-model"  # the model map applies to every attempt
    assert "guard" not in sent[0]


def test_regeneration_gives_up_after_the_policy_maximum(client: OpenAI, guarded: Guarded) -> None:
    before = len(guarded.upstream.requests)
    completion = complete(client, "regen_always", {"record": RECORD, "policy": "regen"}).parse()
    assert completion.choices[0].message.content == FALLBACK
    assert completion.choices[0].finish_reason == "content_filter"
    assert completion.model_extra["guard"]["regenerations"] == 2
    assert len(guarded.upstream.requests) - before == 3


def test_a_failed_regeneration_releases_the_fallback(client: OpenAI) -> None:
    completion = complete(client, "regen_then_500", {"record": RECORD, "policy": "regen"}).parse()
    assert completion.choices[0].message.content == FALLBACK
    guard = completion.model_extra["guard"]
    assert guard["decision"] == "block" and guard["error"] == "upstream_status"


def test_record_from_the_crm_table(client: OpenAI) -> None:
    completion = complete(client, "ok", {"customer_id": "C100"}).parse()
    assert completion.model_extra["guard"]["decision"] == "allow"


@pytest.mark.parametrize(
    ("guard", "code"),
    [
        ({"customer_id": "NOPE"}, "unknown_customer"),
        ({}, "missing_customer"),
        ({"record": {"customer_id": "C1", "name": "张飞"}}, "invalid_record"),
        ({"record": RECORD, "policy": "nope"}, "unknown_policy"),
        ({"record": RECORD, "customer_id": "C2"}, "invalid_record"),
    ],
)
def test_bad_guard_fields_are_422_and_nothing_is_asked(
    client: OpenAI, guarded: Guarded, guard: dict[str, Any], code: str
) -> None:
    before = len(guarded.upstream.requests)
    with pytest.raises(openai.UnprocessableEntityError) as err:
        complete(client, "ok", guard)
    assert err.value.status_code == 422
    assert err.value.body["code"] == code  # type: ignore[index]
    assert len(guarded.upstream.requests) == before


def test_missing_guard_object_is_422(client: OpenAI) -> None:
    with pytest.raises(openai.UnprocessableEntityError) as err:
        client.chat.completions.create(model="guard-model", messages=ask("ok"))
    assert "guard" in err.value.message


def test_decision_is_audited_with_masked_original(client: OpenAI, guarded: Guarded) -> None:
    completion = complete(client, "phone", {"record": RECORD, "policy": "words"}).parse()
    trace = completion.model_extra["guard"]["trace_id"]
    rec = next(r for r in guarded.auditor.records if r.trace_id == trace)
    assert rec.decision == "revise" and rec.codes == ("pii.phone",)
    assert rec.original_masked is not None
    assert "13812345678" not in rec.original_masked and "***********" in rec.original_masked
    assert rec.released == completion.choices[0].message.content
    assert rec.caller == "svc" and rec.customer_id == "C1" and not rec.stream


def test_without_a_pii_check_the_original_is_not_kept(client: OpenAI, guarded: Guarded) -> None:
    completion = complete(client, "ok", {"record": RECORD, "policy": "strict"}).parse()
    trace = completion.model_extra["guard"]["trace_id"]
    rec = next(r for r in guarded.auditor.records if r.trace_id == trace)
    assert rec.original_masked is None


async def test_async_client(guarded: Guarded) -> None:
    client = openai.AsyncOpenAI(base_url=guarded.v1, api_key=CALLER, max_retries=0)
    completion = await client.chat.completions.create(
        model="guard-model", messages=ask("long"), extra_body={"guard": {"record": RECORD}}  # type: ignore[arg-type]
    )
    assert completion.choices[0].message.content == FALLBACK
    await client.close()


async def test_concurrent_requests_each_get_their_own_verdict(guarded: Guarded) -> None:
    # Answers that arrive together are checked together (guard/proxy/iteration.py): each request
    # still gets the verdict of its own reply and policy.
    client = openai.AsyncOpenAI(base_url=guarded.v1, api_key=CALLER, max_retries=0)

    async def one(case: tuple[str, str, str | None, str, str, list[str]]) -> None:
        scenario, policy, content, decision, finish, codes = case
        completion = await client.chat.completions.create(
            model="guard-model", messages=ask(scenario),  # type: ignore[arg-type]
            extra_body={"guard": {"record": RECORD, "policy": policy}},
        )
        if content is not None:
            assert completion.choices[0].message.content == content
        assert completion.choices[0].finish_reason == finish
        guard = completion.model_extra["guard"]  # type: ignore[index]
        assert (guard["decision"], sorted(guard["violations"])) == (decision, sorted(codes))

    try:
        await asyncio.gather(*(one(case) for case in CASES * 4))
    finally:
        await client.close()


def test_tool_calls_are_not_relayed_and_their_finish_reason_becomes_stop(client: OpenAI, guarded: Guarded) -> None:
    """The guard checks what the customer hears; a tool call (here with an ID number in its
    arguments) is not relayed, and an SDK must not be told to look for one."""
    raw = client.chat.completions.with_raw_response.create(
        model="guard-model",
        messages=ask("tool_call"),  # type: ignore[arg-type]
        tools=[{"type": "function", "function": {"name": "lookup_balance", "parameters": {"type": "object"}}}],
        extra_body={"guard": {"record": RECORD, "policy": "strict"}},
    )
    assert TOOL_ID_CARD not in raw.http_response.text and "tool_calls" not in raw.http_response.text
    completion = raw.parse()
    choice = completion.choices[0]
    assert choice.message.content == FIRST and choice.message.tool_calls is None
    assert choice.finish_reason == "stop"
    assert completion.model_extra["guard"]["decision"] == "allow"
    assert guarded.upstream.requests[-1]["tools"][0]["function"]["name"] == "lookup_balance"  # relayed upstream


def post(http: httpx.Client, guarded: Guarded, scenario: str) -> httpx.Response:
    body = {"model": "m", "messages": ask(scenario), "guard": {"record": RECORD}}
    return http.post(guarded.v1 + "/chat/completions", json=body, headers={"authorization": f"Bearer {CALLER}"})


@pytest.mark.parametrize(("scenario", "usage"), [("meta_text", SANE_USAGE), ("meta_objects", None)])
def test_upstream_metadata_is_never_relayed(guarded: Guarded, scenario: str, usage: Any) -> None:
    """id, system_fingerprint, usage and finish_reason are the upstream's free-form values: only
    safe ids, token counts and the known finish reasons reach the client."""
    with httpx.Client(timeout=10) as http:
        r = post(http, guarded, scenario)
    assert r.status_code == 200
    assert not any(part in r.text for part in SECRET_PARTS)
    data = r.json()
    assert re.fullmatch(r"chatcmpl-[0-9a-f]{24}", data["id"])  # the guard's own
    assert "system_fingerprint" not in data and data.get("usage") == usage
    assert isinstance(data["created"], int)
    assert data["choices"][0]["finish_reason"] == "stop" and data["choices"][0]["message"]["content"] == FIRST


def test_safe_upstream_metadata_is_relayed(guarded: Guarded) -> None:
    with httpx.Client(timeout=10) as http:
        data = post(http, guarded, "meta_good").json()
    assert data["id"] == "chatcmpl-up.1:a_b" and data["system_fingerprint"] == "fp_44709d6fcb"
    assert data["usage"] == SANE_USAGE and data["choices"][0]["finish_reason"] == "length"


def test_surrogate_escapes_are_mended_checked_and_recorded_as_released(guarded: Guarded) -> None:
    """A lone `\\ud83d`/`\\ude00`/`\\ud800` in the reply is U+FFFD: a 200 whose text is what the
    ledger lists, and the keep-alive connection serves the next request."""
    with httpx.Client(timeout=10) as http:
        r = post(http, guarded, "surrogate_lone")
        assert r.status_code == 200
        content = r.json()["choices"][0]["message"]["content"]
        assert content == "张先生您好\ufffd。\ufffd再见\ufffd"
        rec = next(x for x in guarded.auditor.records if x.trace_id == r.headers["x-guard-trace-id"])
        assert rec.decision == "allow" and rec.released == content
        assert post(http, guarded, "ok").json()["choices"][0]["message"]["content"] == OK
