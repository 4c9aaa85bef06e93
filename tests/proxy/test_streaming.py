"""Streamed completions through the real app with the official openai client (sync and async)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import openai
import pytest
from openai import OpenAI

import guard.proxy.service
from tests.proxy.conftest import CALLER, Guarded
from tests.proxy.policies import FALLBACK
from tests.proxy.scenarios import (
    FIRST,
    LONG_SENTENCE,
    OK,
    RECORD,
    SANE_USAGE,
    SECOND,
    SECRET_PARTS,
    TOOL_ID_CARD,
    ask,
)


@pytest.fixture(scope="module")
def client(guarded: Guarded) -> OpenAI:
    return OpenAI(base_url=guarded.v1, api_key=CALLER, max_retries=0)


def stream(client: OpenAI, scenario: str, policy: str = "strict") -> tuple[list[str], Any, dict[str, Any]]:
    """The content pieces, the last chunk and its guard object."""
    pieces: list[str] = []
    last: Any = None
    chunks = client.chat.completions.create(
        model="guard-model",
        messages=ask(scenario),  # type: ignore[arg-type]
        stream=True,
        extra_body={"guard": {"record": RECORD, "policy": policy}},
    )
    for chunk in chunks:
        for choice in chunk.choices:
            if choice.delta.content:
                pieces.append(choice.delta.content)
        last = chunk
    assert last is not None
    return pieces, last, last.model_extra["guard"]


def test_allowed_reply_is_released_sentence_by_sentence(client: OpenAI) -> None:
    pieces, last, guard = stream(client, "ok")
    assert pieces == ["张先生您好。", "您的额度已经审核通过了。"]
    assert last.choices[0].finish_reason == "stop"
    assert guard["decision"] == "allow" and guard["violations"] == [] and guard["policy"] == "strict"


def test_blocking_violation_mid_stream_stops_with_the_fallback(client: OpenAI) -> None:
    pieces, last, guard = stream(client, "long")
    assert pieces == [FIRST, FALLBACK]
    assert last.choices[0].finish_reason == "content_filter"
    assert guard["decision"] == "block" and guard["violations"] == ["length.sentence"]
    assert not any(ch in "".join(pieces) for ch in "特别标点")


def test_truncating_policy_stops_after_the_last_good_sentence(client: OpenAI) -> None:
    pieces, last, guard = stream(client, "long", "trunc")
    assert "".join(pieces) == FIRST
    assert guard["decision"] == "revise"
    assert last.choices[0].finish_reason == "stop"


def test_masking_policy_releases_the_masked_sentence(client: OpenAI) -> None:
    pieces, _, guard = stream(client, "phone", "words")
    assert pieces == ["张先生您好。", "有事请拨打***********联系我。"]
    assert guard["decision"] == "revise" and guard["violations"] == ["pii.phone"]


def test_banned_word_never_streams(client: OpenAI) -> None:
    pieces, last, _ = stream(client, "banned", "words")
    assert pieces == [FIRST, FALLBACK]
    assert "稳赚不赔" not in "".join(pieces) and "产品" not in "".join(pieces)
    assert last.choices[0].finish_reason == "content_filter"


def test_regenerates_while_nothing_was_released(client: OpenAI) -> None:
    pieces, _, guard = stream(client, "regen_then_ok", "regen")
    assert "".join(pieces) == OK
    assert guard["regenerations"] == 1 and guard["decision"] == "allow"
    assert LONG_SENTENCE[:4] not in "".join(pieces)


def test_warn_policy_releases_a_long_sentence_only_once_complete(client: OpenAI) -> None:
    pieces, _, guard = stream(client, "long", "open")
    assert pieces == [FIRST, LONG_SENTENCE, "最后一句。"]
    assert guard["decision"] == "allow" and guard["violations"] == ["length.sentence"]


def test_a_sentence_without_end_is_held_and_checked_when_too_long(client: OpenAI) -> None:
    pieces, last, _guard = stream(client, "no_terminator")
    assert pieces == [FALLBACK]
    assert last.choices[0].finish_reason == "content_filter"


@pytest.mark.parametrize(("scenario", "error"), [("malformed", "upstream_malformed"), ("truncate", "upstream_truncated"),
                                                 ("error_chunk", "upstream_status"), ("stall", "upstream_timeout")])
def test_upstream_breaking_mid_stream_fails_closed(client: OpenAI, scenario: str, error: str) -> None:
    pieces, last, guard = stream(client, scenario)
    # The reply is OK+OK cut half way: only whole checked sentences, then the fallback.
    assert pieces[-1] == FALLBACK
    assert all(p in (FIRST, "您的额度已经审核通过了。", FALLBACK) for p in pieces)
    assert guard["decision"] == "block" and guard["error"] == error
    assert last.choices[0].finish_reason == "content_filter"


@pytest.mark.parametrize(("scenario", "status"), [("status500", 502), ("hang", 504), ("disconnect", 502)])
def test_upstream_failing_before_the_stream_is_an_http_error(client: OpenAI, scenario: str, status: int) -> None:
    with pytest.raises(openai.APIStatusError) as err:
        stream(client, scenario)
    assert err.value.status_code == status
    assert set(err.value.body) == {"message", "type", "code"}  # type: ignore[arg-type]


def test_stream_decision_is_audited(client: OpenAI, guarded: Guarded) -> None:
    _, _, guard = stream(client, "long")
    rec = next(r for r in guarded.auditor.records if r.trace_id == guard["trace_id"])
    assert rec.stream and rec.decision == "block" and rec.released == FIRST + FALLBACK


def test_a_stream_hands_its_open_record_to_the_auditor_first(client: OpenAI, guarded: Guarded) -> None:
    """The app's wiring: the open record (decision `open`, the call's fields, no text), then the
    final record under the same trace id; a non-streamed call has no open record."""
    _, _, guard = stream(client, "ok")
    (opened,) = [r for r in guarded.auditor.opened if r.trace_id == guard["trace_id"]]
    assert (opened.decision, opened.stream, opened.caller, opened.customer_id, opened.model) == (
        "open", True, "svc", RECORD["customer_id"], "guard-model",
    )  # fmt: skip
    assert (opened.policy, opened.policy_version) == ("strict", guard["policy_version"])
    assert (opened.codes, opened.violations, opened.released, opened.original_masked) == ((), (), None, None)
    (final,) = [r for r in guarded.auditor.records if r.trace_id == guard["trace_id"]]
    assert final.decision == "allow" and final.released == OK and final.timestamp >= opened.timestamp
    plain = client.chat.completions.create(
        model="guard-model", messages=ask("ok"),  # type: ignore[arg-type]
        extra_body={"guard": {"record": RECORD, "policy": "strict"}},
    )
    trace = plain.model_extra["guard"]["trace_id"]  # type: ignore[index]
    assert [r.decision for r in guarded.auditor.records if r.trace_id == trace] == ["allow"]
    assert not [r for r in guarded.auditor.opened if r.trace_id == trace]


def test_raw_sse_has_trace_header_and_done(guarded: Guarded) -> None:
    body = {"model": "m", "messages": ask("ok"), "stream": True, "guard": {"record": RECORD}}
    with httpx.stream("POST", guarded.v1 + "/chat/completions", json=body,
                      headers={"authorization": f"Bearer {CALLER}"}) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        assert len(r.headers["x-guard-trace-id"]) == 32
        lines = [line for line in r.iter_lines() if line]
    assert lines[-1] == "data: [DONE]"
    assert '"guard"' in lines[-2] and all('"guard"' not in x for x in lines[:-2])


async def test_async_stream(guarded: Guarded) -> None:
    client = openai.AsyncOpenAI(base_url=guarded.v1, api_key=CALLER, max_retries=0)
    chunks = await client.chat.completions.create(
        model="guard-model", messages=ask("slow"), stream=True,  # type: ignore[arg-type]
        extra_body={"guard": {"record": RECORD}},
    )
    pieces = [c.choices[0].delta.content async for c in chunks if c.choices and c.choices[0].delta.content]
    assert "".join(pieces) == OK
    await client.close()


def test_client_going_away_is_audited(guarded: Guarded) -> None:
    import time

    body = {"model": "m", "messages": ask("slow"), "stream": True, "guard": {"record": RECORD}}
    with httpx.stream("POST", guarded.v1 + "/chat/completions", json=body,
                      headers={"authorization": f"Bearer {CALLER}"}) as r:
        trace = r.headers["x-guard-trace-id"]
        next(r.iter_raw())  # the first sentence, then hang up
    deadline = time.monotonic() + 5
    while not any(rec.trace_id == trace for rec in guarded.auditor.records):
        assert time.monotonic() < deadline, "no decision recorded after the client went away"
        time.sleep(0.05)
    rec = next(rec for rec in guarded.auditor.records if rec.trace_id == trace)
    # `released` may include the sentence that was ready when the hang-up was noticed: the ledger
    # errs towards listing what may have reached the customer.
    assert rec.error == "client_disconnected" and rec.decision == "error"
    assert rec.released is not None and rec.released.startswith(FIRST)


def test_failed_stream_regeneration_releases_the_fallback(client: OpenAI) -> None:
    pieces, last, guard = stream(client, "regen_then_500", "regen")
    assert pieces == [FALLBACK]
    assert guard["decision"] == "block" and guard["error"] == "upstream_status"
    assert guard["violations"] == ["length.sentence"] and guard["regenerations"] == 1
    assert last.choices[0].finish_reason == "content_filter"


def test_streamed_tool_calls_are_not_relayed_and_their_finish_reason_becomes_stop(client: OpenAI) -> None:
    chunks = list(
        client.chat.completions.create(
            model="guard-model",
            messages=ask("tool_call"),  # type: ignore[arg-type]
            stream=True,
            extra_body={"guard": {"record": RECORD, "policy": "strict"}},
        )
    )
    deltas = [choice.delta for chunk in chunks for choice in chunk.choices]
    assert "".join(d.content or "" for d in deltas) == FIRST
    assert all(d.tool_calls is None for d in deltas)
    assert not any(TOOL_ID_CARD in chunk.model_dump_json() for chunk in chunks)
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert chunks[-1].model_extra["guard"]["decision"] == "allow"


def raw_stream(guarded: Guarded, scenario: str, policy: str = "strict", **extra: Any) -> tuple[str, list[dict[str, Any]]]:
    """The raw SSE text and its chunks; the stream must end closed (its last event `[DONE]`)."""
    body = {"model": "m", "messages": ask(scenario), "stream": True, "guard": {"record": RECORD, "policy": policy},
            **extra}
    r = httpx.post(guarded.v1 + "/chat/completions", json=body, headers={"authorization": f"Bearer {CALLER}"}, timeout=10)
    assert r.status_code == 200
    events = [block.removeprefix("data: ") for block in r.text.split("\n\n") if block]
    assert events[-1] == "[DONE]"
    return r.text, [json.loads(e) for e in events[:-1]]


def pieces_of(chunks: list[dict[str, Any]]) -> list[str]:
    return [c["choices"][0]["delta"]["content"] for c in chunks if c["choices"][0]["delta"].get("content")]


def ledger_record(guarded: Guarded, chunks: list[dict[str, Any]]) -> Any:
    trace = chunks[-1]["guard"]["trace_id"]
    return next(r for r in guarded.auditor.records if r.trace_id == trace)


@pytest.mark.parametrize(("scenario", "usage"), [("meta_text", SANE_USAGE), ("meta_objects", None)])
def test_upstream_metadata_is_never_relayed(guarded: Guarded, scenario: str, usage: Any) -> None:
    """Finish reason and usage are the upstream's free-form values: only the known finish reasons
    and the token counts reach the client."""
    raw, chunks = raw_stream(guarded, scenario)
    assert not any(part in raw for part in SECRET_PARTS)
    assert pieces_of(chunks) == [FIRST]
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1].get("usage") == usage
    assert all(set(c) <= {"id", "object", "created", "model", "choices", "guard", "usage"} for c in chunks)


def test_safe_upstream_metadata_is_relayed(guarded: Guarded) -> None:
    _, chunks = raw_stream(guarded, "meta_good")
    assert chunks[-1]["choices"][0]["finish_reason"] == "length"
    assert chunks[-1]["usage"] == SANE_USAGE


@pytest.mark.parametrize(
    ("scenario", "expected"),
    [
        ("surrogate_pair_split", ["张先生您好😀。", SECOND]),
        ("surrogate_lone", ["张先生您好\ufffd。", "\ufffd再见\ufffd"]),
    ],
)
def test_surrogate_escapes_are_mended_checked_and_recorded_as_released(
    guarded: Guarded, scenario: str, expected: list[str]
) -> None:
    """`\\ud83d` and `\\ude00` in two deltas are one character; a surrogate alone is U+FFFD.
    The stream ends closed, and the ledger lists exactly what the client got."""
    _, chunks = raw_stream(guarded, scenario)
    assert pieces_of(chunks) == expected
    assert chunks[-1]["guard"]["decision"] == "allow"
    assert ledger_record(guarded, chunks).released == "".join(expected)


@pytest.mark.parametrize("scenario", ["choices_int", "choices_true", "choices_str"])
def test_choices_that_are_not_a_list_are_malformed(guarded: Guarded, scenario: str) -> None:
    raw, chunks = raw_stream(guarded, scenario)
    assert pieces_of(chunks) == [FIRST, FALLBACK]
    assert not any(part in raw for part in SECRET_PARTS)
    assert chunks[-1]["choices"][0]["finish_reason"] == "content_filter"
    assert chunks[-1]["guard"]["decision"] == "block" and chunks[-1]["guard"]["error"] == "upstream_malformed"


@pytest.mark.parametrize("scenario", ["error_with_choices", "error_empty_choices", "error_object"])
def test_an_error_event_mid_stream_fails_closed(guarded: Guarded, scenario: str) -> None:
    """An error event, with choices or as `object: error`: the fallback, not what came with or
    before it (a cut-off fragment)."""
    raw, chunks = raw_stream(guarded, scenario)
    assert pieces_of(chunks) == [FIRST, FALLBACK]
    assert "额度" not in raw and "审核" not in raw
    assert chunks[-1]["choices"][0]["finish_reason"] == "content_filter"
    assert chunks[-1]["guard"]["decision"] == "block" and chunks[-1]["guard"]["error"] == "upstream_status"
    assert ledger_record(guarded, chunks).released == FIRST + FALLBACK


def test_an_unexpected_exception_mid_stream_still_ends_the_stream_closed(
    guarded: Guarded, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug after the response started: the fallback, content_filter, `guard.error:
    internal_error` and `[DONE]`, recorded as released; never a torn connection."""

    def broken(usage: Any) -> Any:
        if usage is not None:
            raise RuntimeError("a bug")
        return None

    monkeypatch.setattr(guard.proxy.service, "relayed_usage", broken)
    _, chunks = raw_stream(guarded, "ok", stream_options={"include_usage": True})  # usage after the text
    assert pieces_of(chunks) == [FIRST, SECOND, FALLBACK]
    assert chunks[-1]["choices"][0]["finish_reason"] == "content_filter"
    assert chunks[-1]["guard"]["decision"] == "block" and chunks[-1]["guard"]["error"] == "internal_error"
    rec = ledger_record(guarded, chunks)
    assert rec.decision == "block" and rec.error == "internal_error" and rec.released == OK + FALLBACK


@pytest.mark.parametrize("scenario", ["cap_one_delta", "cap_1000_201", "cap_100s"])
@pytest.mark.parametrize("policy", ["open", "words"])
def test_a_sentence_past_the_cap_fails_closed_however_it_arrives(guarded: Guarded, scenario: str, policy: str) -> None:
    """stream_max_sentence_chars (1000) holds for a sentence that arrives complete, too."""
    raw, chunks = raw_stream(guarded, scenario, policy)
    assert "".join(pieces_of(chunks)) == FIRST + FALLBACK
    assert "好好" not in raw
    assert chunks[-1]["guard"]["error"] == "sentence_too_long"
    assert chunks[-1]["choices"][0]["finish_reason"] == "content_filter"
