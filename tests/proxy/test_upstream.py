"""The upstream client with an injected transport: retries, errors, stream parsing."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from guard.proxy.settings import GuardSettings
from guard.proxy.upstream import Upstream, UpstreamError

OK = {"id": "x", "choices": [{"index": 0, "message": {"role": "assistant", "content": "好。"}, "finish_reason": "stop"}]}


def make(handler: Callable[[httpx.Request], httpx.Response], **kw: object) -> Upstream:
    settings = GuardSettings(upstream_base_url="http://up/v1", crm_source="none", **kw)  # type: ignore[arg-type]
    return Upstream(settings, transport=httpx.MockTransport(handler))


async def test_connection_errors_are_retried_then_succeed() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) < 3:
            raise httpx.ConnectError("refused")
        return httpx.Response(200, json=OK)

    up = make(handler, upstream_retries=2)
    assert (await up.chat({"model": "m"}))["id"] == "x"
    assert len(calls) == 3
    assert str(calls[0].url) == "http://up/v1/chat/completions"


@pytest.mark.parametrize(
    ("exc", "kind", "calls_expected"),
    [
        (httpx.ConnectError("refused"), "connect", 3),
        (httpx.ConnectTimeout("slow"), "timeout", 3),
        (httpx.ReadTimeout("slow"), "timeout", 1),  # the model may have worked: not retried
        (httpx.RemoteProtocolError("bye"), "protocol", 1),
    ],
)
async def test_errors(exc: Exception, kind: str, calls_expected: int) -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        raise exc

    with pytest.raises(UpstreamError) as err:
        await make(handler, upstream_retries=2).chat({})
    assert err.value.kind == kind and len(calls) == calls_expected
    assert err.value.http_status == (504 if kind == "timeout" else 502)


@pytest.mark.parametrize(
    ("response", "kind"),
    [
        (httpx.Response(500, json={"error": "x"}), "status"),
        (httpx.Response(429, json={"error": "x"}), "status"),
        (httpx.Response(200, content=b"{oops"), "malformed"),
        (httpx.Response(200, json={"choices": []}), "malformed"),
        (httpx.Response(200, json=[1]), "malformed"),
    ],
)
async def test_bad_answers_are_not_retried(response: httpx.Response, kind: str) -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return response

    with pytest.raises(UpstreamError) as err:
        await make(handler).chat({})
    assert err.value.kind == kind and len(calls) == 1


async def test_key_and_model_map() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=OK)

    up = make(handler, upstream_api_key="sk-up", model_map={"alias": "real"})
    assert up.map_model("alias") == "real" and up.map_model("other") == "other"
    await up.chat({"model": "real"})
    assert seen[0].headers["authorization"] == "Bearer sk-up"


def sse(*events: str) -> bytes:
    return "".join(f"data: {e}\n\n" for e in events).encode()


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (sse('{"choices": []}', "{bad"), "malformed"),
        (sse('{"choices": []}'), "truncated"),
        (sse('{"error": {"message": "x"}}'), "status"),
        (sse('{"error": {"message": "x"}, "choices": [{"delta": {"content": "a"}}]}', "[DONE]"), "status"),
        (sse('{"error": "x", "choices": []}', "[DONE]"), "status"),
        (sse('{"object": "error", "message": "x", "code": 500}', "[DONE]"), "status"),
        (sse("[1]"), "malformed"),
        (sse('{"choices": 5}', "[DONE]"), "malformed"),
        (sse('{"choices": true}', "[DONE]"), "malformed"),
        (sse('{"choices": "a"}', "[DONE]"), "malformed"),
        (sse('{"choices": {"0": {"delta": {"content": "a"}}}}', "[DONE]"), "malformed"),
    ],
)
async def test_stream_faults(body: bytes, kind: str) -> None:
    up = make(lambda r: httpx.Response(200, content=body, headers={"content-type": "text/event-stream"}))
    stream = await up.open_stream({})
    with pytest.raises(UpstreamError) as err:
        async for _ in stream.chunks():
            pass
    assert err.value.kind == kind
    await stream.aclose()


async def test_a_null_error_is_no_error_event() -> None:
    body = sse('{"error": null, "choices": [{"delta": {"content": "a"}}]}', '{"error": null}', "[DONE]")
    stream = await make(lambda r: httpx.Response(200, content=body)).open_stream({})
    assert len([c async for c in stream.chunks()]) == 2


async def test_stream_ok_and_comments_skipped() -> None:
    body = b": keepalive\n\nevent: x\n" + sse('{"choices": [{"delta": {"content": "a"}}]}', "[DONE]")
    up = make(lambda r: httpx.Response(200, content=body))
    stream = await up.open_stream({})
    got = [c async for c in stream.chunks()]
    assert got == [{"choices": [{"delta": {"content": "a"}}]}]


async def test_stream_status_checked_before_return() -> None:
    up = make(lambda r: httpx.Response(503, content=b"busy"))
    with pytest.raises(UpstreamError) as err:
        await up.open_stream({})
    assert err.value.status == 503


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (sse('{"choices": [{"delta": {"content": "a\\u00e9"}}]}').replace(b"\\u00e9", b"\xff\xfe"), "malformed"),
        (sse(*['{"choices": [{"delta": {"content": "' + "好" * 500 + '"}}]}'] * 60, "[DONE]"), "too_large"),
    ],
)
async def test_stream_invalid_utf8_and_size_bound(body: bytes, kind: str) -> None:
    up = make(lambda r: httpx.Response(200, content=body), max_reply_chars=100)
    stream = await up.open_stream({})
    with pytest.raises(UpstreamError) as err:
        async for _ in stream.chunks():
            pass
    assert err.value.kind == kind
    await stream.aclose()


async def test_reply_over_the_size_bound_is_too_large() -> None:
    big = {**OK, "choices": [{"index": 0, "message": {"role": "assistant", "content": "好" * 40_000}}]}
    with pytest.raises(UpstreamError) as err:
        await make(lambda r: httpx.Response(200, json=big), max_reply_chars=100).chat({})
    assert err.value.kind == "too_large" and err.value.http_status == 502


async def test_retry_after_is_kept() -> None:
    up = make(lambda r: httpx.Response(429, json={"error": "x"}, headers={"retry-after": "3"}))
    with pytest.raises(UpstreamError) as err:
        await up.chat({})
    assert err.value.retry_after == "3"


# -- GET /models -----------------------------------------------------------------------------------

_CARD = {"id": "qwen", "object": "model", "created": 1, "owned_by": "vllm", "max_model_len": 8192}


async def test_models_are_the_upstream_entries_as_given() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"object": "list", "data": [_CARD, {"id": "b"}]})

    assert await make(handler).models() == [_CARD, {"id": "b"}]
    assert str(seen[0].url) == "http://up/v1/models"


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, content=b"{oops"),
        httpx.Response(200, content=b'{"data": ["\xc4\xe3"]}'),  # not UTF-8
        httpx.Response(200, json=[_CARD]),
        httpx.Response(200, json={"object": "list"}),
        httpx.Response(200, json={"data": {"qwen": _CARD}}),
        httpx.Response(200, json={"data": ["qwen"]}),
        httpx.Response(200, json={"data": [_CARD, {"object": "model"}]}),
        httpx.Response(200, json={"data": [{"id": 7}]}),
        httpx.Response(200, json={"data": [{"id": ""}]}),
    ],
)
async def test_a_malformed_model_list_is_malformed(response: httpx.Response) -> None:
    with pytest.raises(UpstreamError) as err:
        await make(lambda r: response).models()
    assert err.value.kind == "malformed" and err.value.http_status == 502


async def test_a_model_list_is_read_up_to_a_bound() -> None:
    cards = [{**_CARD, "id": f"m{i}", "description": "x" * 1000} for i in range(9000)]  # > 8 MiB
    with pytest.raises(UpstreamError) as err:
        await make(lambda r: httpx.Response(200, json={"data": cards})).models()
    assert err.value.kind == "too_large"


async def test_a_model_list_error_status_keeps_retry_after() -> None:
    up = make(lambda r: httpx.Response(429, json={"error": "x"}, headers={"retry-after": "3"}))
    with pytest.raises(UpstreamError) as err:
        await up.models()
    assert (err.value.kind, err.value.status, err.value.retry_after) == ("status", 429, "3")
