"""Auth, errors, limits and the other endpoints of the running app (plain HTTP)."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from fastapi.routing import request_response as fastapi_request_response

from guard.audit.api import NullAuditor
from guard.proxy.app import _route, create_app
from guard.proxy.settings import ApiKey, GuardSettings
from guard.testing.server import serve_in_thread
from tests.proxy.conftest import ADMIN, AUDITOR, CALLER, Guarded
from tests.proxy.policies import make_policy_set
from tests.proxy.scenarios import OK, RECORD, ask


def post(guarded: Guarded, path: str, body: Any, key: str | None = CALLER, **kw: Any) -> httpx.Response:
    headers = {"authorization": f"Bearer {key}"} if key else {}
    return httpx.post(guarded.v1 + path, json=body, headers=headers, timeout=10, **kw)


def chat(scenario: str = "ok") -> dict[str, Any]:
    return {"model": "m", "messages": ask(scenario), "guard": {"record": RECORD}}


def assert_openai_error(r: httpx.Response, status: int) -> dict[str, Any]:
    assert r.status_code == status
    err = r.json()["error"]
    assert set(err) == {"message", "type", "code"}
    return dict(err)


@pytest.mark.parametrize(
    ("key", "status"),
    [(None, 401), ("sk-wrong", 401), ("sk-caller-tes", 401), (AUDITOR, 403), (CALLER, 200), (ADMIN, 200)],
)
def test_roles(guarded: Guarded, key: str | None, status: int) -> None:
    r = post(guarded, "/chat/completions", chat(), key)
    assert r.status_code == status
    if status == 401:
        assert r.headers["www-authenticate"] == "Bearer"
        assert_openai_error(r, 401)
    if status == 403:
        assert_openai_error(r, 403)


def test_non_bearer_scheme_is_401(guarded: Guarded) -> None:
    r = httpx.post(guarded.v1 + "/chat/completions", json=chat(), headers={"authorization": f"Basic {CALLER}"})
    assert_openai_error(r, 401)


def test_openai_client_sees_401(guarded: Guarded) -> None:
    client = openai.OpenAI(base_url=guarded.v1, api_key="sk-nope", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        client.chat.completions.create(model="m", messages=ask("ok"), extra_body={"guard": {"record": RECORD}})


def test_body_too_large_is_413(guarded: Guarded) -> None:
    body = chat()
    body["messages"][0]["content"] = "长" * 40_000  # > 64 KiB of UTF-8
    err = assert_openai_error(post(guarded, "/chat/completions", body), 413)
    assert err["code"] == "body_too_large"


def test_chunked_body_too_large_is_413(guarded: Guarded) -> None:
    def gen() -> Any:
        for _ in range(100):
            yield b"x" * 1024

    r = httpx.post(guarded.v1 + "/chat/completions", content=gen(), headers={"authorization": f"Bearer {CALLER}"})
    assert_openai_error(r, 413)


@pytest.mark.parametrize(
    "body",
    [
        {"messages": ask("ok"), "guard": {"record": RECORD}},
        {"model": "m", "messages": [], "guard": {"record": RECORD}},
        {"model": "m", "messages": ask("ok"), "guard": {"record": RECORD}, "n": 2},
        {"model": "m", "messages": ask("ok"), "guard": {"record": RECORD, "extra": 1}},
    ],
)
def test_invalid_requests_are_422(guarded: Guarded, body: dict[str, Any]) -> None:
    before = len(guarded.upstream.requests)
    assert_openai_error(post(guarded, "/chat/completions", body), 422)
    assert len(guarded.upstream.requests) == before


def test_not_json_is_400_invalid_json(guarded: Guarded) -> None:
    r = httpx.post(guarded.v1 + "/chat/completions", content=b"{nope", headers={"authorization": f"Bearer {CALLER}",
                                                                                "content-type": "application/json"})
    err = assert_openai_error(r, 400)
    assert err["code"] == "invalid_json" and "line 1 column 2 (char 1)" in err["message"]


@pytest.mark.parametrize(
    ("scenario", "status", "code"),
    [
        ("status500", 502, "upstream_status"),
        ("status400", 502, "upstream_status"),
        ("hang", 504, "upstream_timeout"),
        ("malformed", 502, "upstream_malformed"),
        ("truncate", 502, "upstream_protocol"),
        ("disconnect", 502, "upstream_protocol"),
    ],
)
def test_upstream_failures_release_nothing(guarded: Guarded, scenario: str, status: int, code: str) -> None:
    r = post(guarded, "/chat/completions", chat(scenario))
    err = assert_openai_error(r, status)
    assert err["code"] == code
    assert "张先生" not in r.text
    trace_errors = [rec for rec in guarded.auditor.records if rec.error == code and rec.decision == "error"]
    assert trace_errors and trace_errors[-1].released is None


def test_slow_upstream_within_the_timeout_is_fine(guarded: Guarded) -> None:
    r = post(guarded, "/chat/completions", chat("slow"))
    assert r.status_code == 200 and r.json()["choices"][0]["message"]["content"] == OK


def test_unreachable_upstream_is_502_after_retries(guarded: Guarded) -> None:
    from guard.proxy.app import create_app
    from guard.proxy.settings import ApiKey, GuardSettings
    from guard.testing.server import serve_in_thread

    settings = GuardSettings(upstream_base_url="http://127.0.0.1:9/v1", upstream_retries=1, crm_source="none",
                             api_keys=(ApiKey(name="svc", key=CALLER),))
    with serve_in_thread(create_app(settings)) as url:
        r = httpx.post(url + "/v1/chat/completions", json=chat(), headers={"authorization": f"Bearer {CALLER}"})
    assert assert_openai_error(r, 502)["code"] == "upstream_connect"


def test_models_list_the_aliases_then_the_upstream_models(guarded: Guarded) -> None:
    """model_map {"guard-model": "scripted-model"}; the scripted upstream lists its scenarios."""
    client = openai.OpenAI(base_url=guarded.v1, api_key=CALLER, max_retries=0)
    models = list(client.models.list())
    assert models[0].id == "guard-model" and models[0].owned_by == "guard"
    assert {"ok", "long", "default"} <= {m.id for m in models[1:]}
    r = post(guarded, "/chat/completions", {**chat(), "model": "guard-model"})  # the listed alias is callable
    assert r.status_code == 200 and r.json()["model"] == "guard-model"
    assert guarded.upstream.requests[-1]["model"] == "scripted-model"


def test_guard_check_endpoint(guarded: Guarded) -> None:
    r = post(guarded, "/guard/check", {"record": RECORD, "reply": "这是一个特别特别特别长的句子而且一直没有标点地说下去。"})
    assert r.status_code == 200
    out = r.json()
    assert out["decision"] == "block" and out["violations"][0]["code"] == "length.sentence"
    assert out["policy"] == "strict" and "id" in out
    r = post(guarded, "/guard/check", {"record": RECORD, "reply": OK, "policy": "words"})
    assert r.json()["decision"] == "allow" and r.json()["released"] == OK


def test_guard_check_errors(guarded: Guarded) -> None:
    """The same codes as the completions route: an invalid record, an unknown policy."""
    err = assert_openai_error(post(guarded, "/guard/check", {"record": {"name": "x"}, "reply": "a"}), 422)
    assert err["code"] == "invalid_record"
    err = assert_openai_error(post(guarded, "/guard/check", {"record": RECORD, "reply": "a", "policy": "zz"}), 422)
    assert err["code"] == "unknown_policy"
    err = assert_openai_error(post(guarded, "/guard/check", {"record": RECORD, "reply": "a", "policy": 7}), 422)
    assert err["code"] == "invalid_request"
    assert_openai_error(post(guarded, "/guard/check", {"record": RECORD, "reply": "a"}, AUDITOR), 403)


def test_a_lone_surrogate_in_a_request_is_a_422_naming_where(guarded: Guarded) -> None:
    """`\\ud800` in a JSON string is no character: json.loads lets it through, and the prompt could
    not be sent on nor the reply checked and recorded (it was a 500). The server keeps serving."""

    def escaped(path: str, body: Any) -> httpx.Response:  # as JSON escapes: the only way to send one
        return httpx.post(guarded.v1 + path, content=json.dumps(body).encode(), timeout=10, headers={
            "authorization": f"Bearer {CALLER}", "content-type": "application/json"})

    body = {**chat(), "messages": [{"role": "user", "content": "你好\ud800"}]}
    err = assert_openai_error(escaped("/chat/completions", body), 422)
    assert "messages.0.content" in err["message"] and "surrogate" in err["message"]
    err = assert_openai_error(escaped("/guard/check", {"record": RECORD, "reply": "您好\udc00。"}), 422)
    assert "surrogate" in err["message"] and "reply" in err["message"]
    err = assert_openai_error(escaped("/guard/check", {"record": {**RECORD, "name": "张\ud83d"}, "reply": "a"}), 422)
    assert "record.name" in err["message"]
    assert post(guarded, "/chat/completions", chat()).status_code == 200


def test_health_ready_openapi(guarded: Guarded) -> None:
    assert httpx.get(guarded.url + "/healthz").json() == {"status": "ok"}
    ready = httpx.get(guarded.url + "/readyz")
    assert ready.status_code == 200 and ready.json()["policy_set_version"]
    schema = httpx.get(guarded.url + "/openapi.json").json()
    assert {"/v1/chat/completions", "/v1/models", "/v1/guard/check", "/healthz", "/readyz"} <= set(schema["paths"])
    assert "GuardParams" in schema["components"]["schemas"]


def test_not_ready_without_keys() -> None:
    from fastapi.testclient import TestClient

    from guard.proxy.app import create_app
    from guard.proxy.settings import GuardSettings

    app = create_app(GuardSettings(crm_source="none"))
    with TestClient(app) as tc:
        r = tc.get("/readyz")
    assert r.status_code == 503 and "no API keys configured" in r.json()["problems"]


def test_unknown_route_is_openai_shaped(guarded: Guarded) -> None:
    assert assert_openai_error(httpx.get(guarded.v1 + "/nothing"), 404)["code"] == "not_found"


def test_a_method_the_route_does_not_take_is_405_method_not_allowed(guarded: Guarded) -> None:
    r = httpx.get(guarded.v1 + "/chat/completions", headers={"authorization": f"Bearer {CALLER}"})
    assert assert_openai_error(r, 405)["code"] == "method_not_allowed"


@pytest.mark.parametrize("path", ["/chat/completions", "/guard/check"])
def test_auth_comes_before_validation(guarded: Guarded, path: str) -> None:
    assert_openai_error(post(guarded, path, {"nonsense": True}, None), 401)
    assert_openai_error(post(guarded, path, {"nonsense": True}, AUDITOR), 403)


# -- the direct route of /v1/chat/completions ------------------------------------------------------


_JSON = "application/json"
_SAME_AS_FASTAPI: list[tuple[str | None, str | None, bytes]] = [
    (CALLER, _JSON, b""),
    (CALLER, _JSON, b"{nope"),
    (CALLER, _JSON, b'{"model": "m",\n "messages": [}'),
    (CALLER, _JSON, b"[]"),
    (CALLER, _JSON, b'"text"'),
    (CALLER, _JSON, b"{}"),
    (CALLER, _JSON, b'{"model": "m", "messages": "hi", "guard": {}}'),
    (CALLER, _JSON, b'{"model": "", "messages": [{"role": "user", "content": "x"}], "guard": {"policy": 1}}'),
    (CALLER, _JSON, b'{"model": "m", "messages": [{"content": "x"}], "guard": {"record": []}, "n": 0}'),
    (CALLER, _JSON, b'{"model": "m", "messages": [{"role": "user", "content": "x"}], "guard": {"zz": 1}}'),
    (CALLER, "application/json; charset=utf-8", b'{"model": "m", "messages": [], "guard": {}}'),
    (CALLER, "text/plain", b'{"model": "m", "messages": [{"role": "user", "content": "x"}], "guard": {}}'),
    (CALLER, None, b'{"model": "m", "messages": [], "guard": {}}'),
    (CALLER, _JSON, '{"model": "m", "messages": [], "guard": {}}'.encode("utf-16")),  # read by json.loads
    (CALLER, _JSON, b"\xff\xfe{"),  # a UTF-16 mark, then bytes no decoder reads: 400
    (CALLER, "application/json; charset=gbk", '{"model": "m", "messages": "你好"}'.encode("gbk")),
    (CALLER, _JSON, b"[" * 3000 + b"]" * 3000),  # deeper than json.loads reads
    (CALLER, _JSON, b"null"),
    (CALLER, "text/plain", b""),
    (None, _JSON, b"{}"),
    ("sk-wrong", _JSON, b'{"model": "m"}'),
    (AUDITOR, _JSON, b"{}"),
]


def _in_process_app() -> Any:
    settings = GuardSettings(
        upstream_base_url="http://127.0.0.1:9/v1",
        crm_source="none",
        api_keys=(ApiKey(name="svc", key=CALLER, role="caller"), ApiKey(name="aud", key=AUDITOR, role="auditor")),
    )
    return create_app(settings, auditor=NullAuditor())


def _post_in_process(
    app: Any, raw: bytes, key: str | None, content_type: str | None, path: str = "/v1/chat/completions"
) -> tuple[int, dict[str, Any]]:
    headers = {"content-type": content_type} if content_type else {}
    if key:
        headers["authorization"] = f"Bearer {key}"

    async def post() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
            return await c.post(path, content=raw, headers=headers)

    r = asyncio.run(post())
    return r.status_code, r.json()


@pytest.mark.parametrize(("key", "content_type", "raw"), _SAME_AS_FASTAPI)
def test_the_direct_route_answers_as_fastapis_own_handler(
    key: str | None, content_type: str | None, raw: bytes
) -> None:
    """`/v1/chat/completions` skips FastAPI's dependency and body machinery (for speed); its 400,
    401, 403 and 422 answers are the ones FastAPI's own handler of the documented route gives."""
    fastapi_own = _in_process_app()
    route = _route(fastapi_own, "/v1/chat/completions")
    route.app = fastapi_request_response(route.get_route_handler())
    got = _post_in_process(_in_process_app(), raw, key, content_type)
    want = _post_in_process(fastapi_own, raw, key, content_type)
    assert got[0] in (400, 401, 403, 422)
    assert got == want


def test_the_direct_route_checks_the_key_before_reading_the_body() -> None:
    """The one intended difference: FastAPI parses the JSON before it checks the key, so a
    malformed body without a key was a 422; the direct route answers 401 without parsing it."""
    status, body = _post_in_process(_in_process_app(), b"{nope", None, "application/json")
    assert status == 401 and body["error"]["code"] == "missing_api_key"


def test_the_direct_route_keeps_the_documented_schema(guarded: Guarded) -> None:
    schema = httpx.get(guarded.url + "/openapi.json").json()
    op = schema["paths"]["/v1/chat/completions"]["post"]
    ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert ref.endswith("/ChatCompletionRequest")
    assert "guard" in schema["components"]["schemas"]["ChatCompletionRequest"]["required"]


def test_guard_check_checks_the_key_before_reading_the_body() -> None:
    """Contract §7: no or an unknown key is a 401 whatever the body (FastAPI parsed it first: 422)."""
    app = _in_process_app()
    for key, status, code in [(None, 401, "missing_api_key"), ("sk-wrong", 401, "invalid_api_key"),
                              (AUDITOR, 403, "forbidden"), (CALLER, 400, "invalid_json")]:
        got = _post_in_process(app, b"{nope", key, _JSON, "/v1/guard/check")
        assert (got[0], got[1]["error"]["code"]) == (status, code), (key, got)


def test_a_customer_id_without_a_crm_source_says_so() -> None:
    body = json.dumps({"model": "m", "messages": ask("ok"), "guard": {"customer_id": "C1"}}).encode()
    status, answer = _post_in_process(_in_process_app(), body, CALLER, _JSON)  # crm_source: none
    assert status == 422 and answer["error"]["code"] == "no_crm_source"
    assert "no CRM source is configured" in answer["error"]["message"]
    assert "GUARD_CRM_SOURCE" in answer["error"]["message"]


# -- an unexpected exception (a bug): 500, logged by type and place only ----------------------------------

_PII = ("张飞", "13812345678")


def _failing_app(tmp: Path) -> Any:
    """The real app (small policies, an in-memory upstream) whose checks and stream raise with PII."""

    def upstream(_: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"id": "u", "object": "chat.completion", "created": 1, "model": "m",
                                         "choices": [{"index": 0, "message": {"role": "assistant", "content": OK},
                                                      "finish_reason": "stop"}]})

    settings = GuardSettings(upstream_base_url="http://upstream.test/v1", crm_source="none",
                             api_keys=(ApiKey(name="svc", key=CALLER, role="caller"),))
    app = create_app(settings, policies=make_policy_set(tmp), auditor=NullAuditor(),
                     transport=httpx.MockTransport(upstream))

    def evaluate(*_: Any, **__: Any) -> Any:
        raise RuntimeError(f"bug while checking {_PII[0]} {_PII[1]}")

    async def stream_events(*args: Any) -> AsyncIterator[bytes]:
        args[-1].append("f" * 32)  # the trace id, as the service hands it over
        raise RuntimeError(f"stream bug {_PII[0]} {_PII[1]}")
        yield b""  # pragma: no cover

    app.state.service.evaluate = evaluate
    app.state.service.stream_events = stream_events
    return app


@pytest.mark.parametrize("stream", [False, True])
def test_an_unexpected_error_is_a_500_logged_without_its_message(
    stream: bool, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = _failing_app(tmp_path)
    server_log = logging.getLogger("uvicorn.error")  # uvicorn's: it does not propagate to the root
    with caplog.at_level(logging.DEBUG), serve_in_thread(app) as url:
        server_log.addHandler(caplog.handler)
        try:
            r = httpx.post(url + "/v1/chat/completions", headers={"authorization": f"Bearer {CALLER}"},
                           json={**chat(), "stream": stream}, timeout=10)
        finally:
            server_log.removeHandler(caplog.handler)
    err = assert_openai_error(r, 500)
    assert err["code"] == "internal_error" and err["type"] == "server_error"
    trace_id = r.headers["x-guard-trace-id"]
    if stream:
        assert trace_id == "f" * 32
    formatter = logging.Formatter()
    logged = [formatter.format(rec) for rec in caplog.records]
    assert not [line for line in logged if any(p in line for p in _PII)]
    assert not [rec for rec in caplog.records if rec.name.startswith("uvicorn") and rec.levelno >= logging.ERROR]
    (line,) = [rec.getMessage() for rec in caplog.records if rec.name == "guard.proxy" and rec.levelno == logging.ERROR]
    # Where it happened, innermost frame first: the test's own function, or (compiled modules keep no
    # Python frame of the checks' runner) the guard's frame that re-raised it.
    assert re.match(rf"unhandled error RuntimeError \(trace {trace_id}\) at [\w./-]+\.py:\d+ in \w+", line), line
    assert "Traceback" not in line and "\n" not in line


# -- GET /v1/models: an upstream that fails or answers a malformed list ---------------------------------

_ECHO = "张飞 13812345678 upstream said"  # what an upstream's error body might hold: never relayed


def _models_in_process(handler: Any, **settings: Any) -> httpx.Response:
    options: dict[str, Any] = {"upstream_base_url": "http://upstream.test/v1", "crm_source": "none",
                               "api_keys": (ApiKey(name="svc", key=CALLER, role="caller"),), **settings}
    app = create_app(GuardSettings(**options), auditor=NullAuditor(), transport=httpx.MockTransport(handler))

    async def get() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
            return await c.get("/v1/models", headers={"authorization": f"Bearer {CALLER}"})

    return asyncio.run(get())


def _raise(exc: Exception) -> Any:
    def handler(_: httpx.Request) -> httpx.Response:
        raise exc

    return handler


@pytest.mark.parametrize(
    ("handler", "status", "code"),
    [
        (lambda r: httpx.Response(200, json={"object": "list", "data": _ECHO}), 502, "upstream_malformed"),
        (lambda r: httpx.Response(200, json={"data": [{"name": _ECHO}]}), 502, "upstream_malformed"),
        (lambda r: httpx.Response(200, text=_ECHO), 502, "upstream_malformed"),
        (lambda r: httpx.Response(500, json={"error": {"message": _ECHO}}), 502, "upstream_status"),
        (lambda r: httpx.Response(404, text=_ECHO), 502, "upstream_status"),
        (_raise(httpx.ConnectError(_ECHO)), 502, "upstream_connect"),
        (_raise(httpx.RemoteProtocolError(_ECHO)), 502, "upstream_protocol"),
        (_raise(httpx.ReadTimeout(_ECHO)), 504, "upstream_timeout"),
        (_raise(httpx.ConnectTimeout(_ECHO)), 504, "upstream_timeout"),
    ],
)
def test_models_fail_closed_without_the_upstreams_words(handler: Any, status: int, code: str) -> None:
    r = _models_in_process(handler, upstream_retries=0)
    err = assert_openai_error(r, status)
    assert err["code"] == code and "张飞" not in r.text and "said" not in r.text


def test_models_pass_on_retry_after() -> None:
    r = _models_in_process(lambda _: httpx.Response(429, json={}, headers={"retry-after": "7"}))
    assert assert_openai_error(r, 502)["code"] == "upstream_status" and r.headers["retry-after"] == "7"


def test_models_of_an_unreachable_upstream_are_a_502_through_a_real_server() -> None:
    settings = GuardSettings(upstream_base_url="http://127.0.0.1:9/v1", upstream_retries=0, crm_source="none",
                             api_keys=(ApiKey(name="svc", key=CALLER),))
    with serve_in_thread(create_app(settings, auditor=NullAuditor())) as url:
        r = httpx.get(url + "/v1/models", headers={"authorization": f"Bearer {CALLER}"}, timeout=10)
    assert assert_openai_error(r, 502)["code"] == "upstream_connect"
