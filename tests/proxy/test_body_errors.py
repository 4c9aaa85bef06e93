"""A request body the guard cannot read as a JSON object: 400, a stable code, a message that says
what is wrong and where, never what the body holds (every route that takes a body, both the
direct route of /v1/chat/completions and FastAPI's own body handling of /v1/guard/check)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from guard.audit.api import NullAuditor
from guard.proxy.app import create_app
from guard.proxy.body_errors import parse_failure, validation_failure
from guard.proxy.settings import ApiKey, GuardSettings
from guard.testing.server import serve_in_thread
from tests.proxy.conftest import CALLER

_PATHS = ["/v1/chat/completions", "/v1/guard/check"]
_JSON = "application/json"
_SECRET = "李娜13812345678"  # in every body below that carries text: never in an answer
_CHAT = {"model": "m", "messages": [{"role": "user", "content": _SECRET}], "guard": {"record": {"name": _SECRET}}}


def _app() -> Any:
    settings = GuardSettings(upstream_base_url="http://127.0.0.1:9/v1", crm_source="none",
                             api_keys=(ApiKey(name="svc", key=CALLER, role="caller"),))
    return create_app(settings, auditor=NullAuditor())


def _post(path: str, raw: bytes, content_type: str | None = _JSON) -> tuple[int, dict[str, Any]]:
    headers: dict[str, str | bytes] = {"authorization": f"Bearer {CALLER}"}
    if content_type is not None:
        headers["content-type"] = content_type.encode("latin-1")

    async def post() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=_app()), base_url="http://t") as c:
            return await c.post(path, content=raw, headers=headers)

    r = asyncio.run(post())
    body = r.json()
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "code"}
    assert _SECRET not in r.text
    return r.status_code, body["error"]


def _bad_request(path: str, raw: bytes, content_type: str | None = _JSON) -> tuple[str, str]:
    status, err = _post(path, raw, content_type)
    assert (status, err["type"]) == (400, "invalid_request_error"), err
    return err["code"], err["message"]


@pytest.mark.parametrize("path", _PATHS)
def test_a_json_syntax_error_names_its_place_not_the_body(path: str) -> None:
    raw = ('{"model": "m",\n "messages": [{"content": "' + _SECRET + '"}}').encode()
    code, message = _bad_request(path, raw)
    assert code == "invalid_json"
    assert message == (
        "request body is not valid JSON: Expecting ',' delimiter: line 2 column 43 (char 57)"
    ), message


@pytest.mark.parametrize("path", _PATHS)
def test_json_nested_deeper_than_the_parser_reads_is_invalid_json_not_a_500(path: str) -> None:
    code, message = _bad_request(path, b"[" * 5000 + b"]" * 5000)
    assert code == "invalid_json" and "nested too deeply" in message


@pytest.mark.parametrize("path", _PATHS)
@pytest.mark.parametrize(
    ("content_type", "tail"),
    [
        (_JSON, ""),
        ("application/json; charset=utf-8", ""),
        ("application/json; charset=GBK", "; the Content-Type names charset=gbk, which the guard does not read"),
        ('application/json; charset="gb2312"', "; the Content-Type names charset=gb2312, which the guard does not read"),
    ],
)
def test_a_gbk_body_is_invalid_encoding(path: str, content_type: str, tail: str) -> None:
    raw = json.dumps(_CHAT, ensure_ascii=False).encode("gbk")
    code, message = _bad_request(path, raw, content_type)
    at = len(json.dumps(_CHAT, ensure_ascii=False).split(_SECRET)[0].encode())
    assert code == "invalid_encoding"
    assert message == f"request body is not valid UTF-8 (byte {at}): send the JSON encoded as UTF-8{tail}"


@pytest.mark.parametrize("path", _PATHS)
def test_bytes_no_json_encoding_reads_are_invalid_encoding(path: str) -> None:
    code, message = _bad_request(path, b"\xff\xfe{")  # a UTF-16 byte order mark, then half a character
    assert code == "invalid_encoding" and "send the JSON encoded as UTF-8" in message


@pytest.mark.parametrize("path", _PATHS)
@pytest.mark.parametrize("content_type", [_JSON, "text/plain", None])
def test_an_empty_body_is_empty_body(path: str, content_type: str | None) -> None:
    assert _bad_request(path, b"", content_type) == ("empty_body", "request body is empty: send a JSON object")


@pytest.mark.parametrize("path", _PATHS)
@pytest.mark.parametrize(
    ("raw", "kind"),
    [(b"[]", "an array"), (json.dumps([_CHAT]).encode(), "an array"), (json.dumps(_SECRET).encode(), "a string"),
     (b"7", "a number"), (b"true", "a boolean"), (b"null", "null")],
)
def test_json_that_is_not_an_object_is_body_not_object(path: str, raw: bytes, kind: str) -> None:
    code, message = _bad_request(path, raw)
    assert code == "body_not_object"
    assert message == f"request body must be a JSON object; it is {kind}"


@pytest.mark.parametrize("path", _PATHS)
@pytest.mark.parametrize(
    ("content_type", "named"),
    [
        ("text/plain", "text/plain"),
        ("Text/Plain; charset=utf-8", "text/plain"),
        ("application/x-www-form-urlencoded", "application/x-www-form-urlencoded"),
        ("multipart/form-data; boundary=x", "multipart/form-data"),
        (None, None),
        (f"text/{_SECRET}".encode().decode("latin-1"), "another type"),  # not a media type: not echoed
    ],
)
def test_a_body_not_declared_json_is_invalid_content_type(path: str, content_type: str | None, named: str) -> None:
    code, message = _bad_request(path, json.dumps(_CHAT).encode(), content_type)
    assert code == "invalid_content_type"
    got = "no Content-Type" if named is None else f"Content-Type {named}" if named != "another type" else named
    assert message == f"request body must be sent as Content-Type: application/json (got {got})"


@pytest.mark.parametrize("path", _PATHS)
def test_field_errors_stay_422_invalid_request(path: str) -> None:
    status, err = _post(path, b'{"model": 7}')
    assert (status, err["code"]) == (422, "invalid_request")


def test_a_real_server_answers_the_same() -> None:
    """Through uvicorn (httptools), not only the ASGI transport."""
    raw = json.dumps(_CHAT, ensure_ascii=False).encode("gbk")
    with serve_in_thread(_app()) as url:
        for path in _PATHS:
            r = httpx.post(url + path, content=raw, timeout=10, headers={
                "authorization": f"Bearer {CALLER}", "content-type": "application/json; charset=gbk"})
            assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_encoding", r.text
            assert _SECRET not in r.text


# -- the messages' edge cases, without an app --------------------------------------------------------


def _decode_error(raw: bytes) -> UnicodeDecodeError:
    try:
        json.loads(raw)
    except UnicodeDecodeError as exc:
        return exc
    raise AssertionError("decoded")


def test_a_charset_that_is_no_token_is_not_echoed() -> None:
    problem = parse_failure(_decode_error(b'{"a": "\xc4\xe3"}'), f'application/json; charset="{_SECRET}"')
    assert problem is not None and problem.code == "invalid_encoding"
    assert problem.message.endswith("; the Content-Type names a charset, which the guard does not read")


def test_a_body_json_takes_for_utf16_gives_no_byte_offset() -> None:
    problem = parse_failure(_decode_error(b"\xff\xfe{"), _JSON)
    assert problem is not None
    assert problem.message == "request body is not valid UTF-8: send the JSON encoded as UTF-8"


def test_other_parse_failures_are_not_body_problems() -> None:
    assert parse_failure(None, _JSON) is None and parse_failure(MemoryError(), _JSON) is None


def test_a_syntax_error_without_the_parsers_exception_names_the_char() -> None:
    error = {"type": "json_invalid", "loc": ("body", 12), "msg": "JSON decode error", "input": {},
             "ctx": {"error": "Invalid \\escape: " + repr(_SECRET)}}  # the pure-Python parser's wording
    problem = validation_failure([error], None, _JSON)
    assert problem is not None
    assert problem.message == "request body is not valid JSON: Invalid \\escape: char 12"


def test_field_errors_are_not_body_problems() -> None:
    missing = {"type": "missing", "loc": ("body", "model"), "msg": "Field required", "input": {}}
    assert validation_failure([missing], None, _JSON) is None
    body = {"type": "missing", "loc": ("body",), "msg": "Field required", "input": None}
    assert validation_failure([body, missing], None, _JSON) is None


_RECORD = {"customer_id": "C1", "name": _SECRET, "gender": "female"}
_USER = '{"role": "user", "content": "' + _SECRET + '"'


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e999"])
@pytest.mark.parametrize(
    ("fields", "where"),
    [
        ('"messages": [' + _USER + '}], "temperature": %s', "temperature"),
        ('"messages": [' + _USER + ', "weight": %s}]', "messages.0.weight"),
        ('"messages": [{"role": "user", "content": [{"type": "text", "text": "x", "w": [%s]}]}]', "messages.0.content.0.w.0"),
        ('"messages": [' + _USER + '}], "' + _SECRET + '": {"x": %s}', "(key).x"),
    ],
)
def test_a_number_json_cannot_relay_is_invalid_json_not_a_500(number: str, fields: str, where: str) -> None:
    """NaN, Infinity (no JSON numbers) or 1e999 (beyond a double) among the fields relayed to the
    upstream: the upstream body cannot be written (it was a 500 internal_error after the CRM
    lookup). The place is named, a key that is not an identifier as (key)."""
    guard = json.dumps({"record": _RECORD}, ensure_ascii=False)
    raw = ('{"model": "m", ' + fields % number + ', "guard": ' + guard + "}").encode()
    code, message = _bad_request("/v1/chat/completions", raw)
    assert code == "invalid_json"
    assert message == (
        f"request body is not valid JSON: the number at {where} is NaN, Infinity or beyond a double, which cannot be relayed"
    )


@pytest.mark.parametrize("path", _PATHS)
def test_an_integer_of_more_digits_than_the_parser_reads_is_invalid_json(path: str) -> None:
    raw = b'{"model": "m", "temperature": ' + b"9" * 5000 + b"}"
    code, message = _bad_request(path, raw)
    assert code == "invalid_json" and message.endswith("an integer has more than 4300 digits")


@pytest.mark.parametrize("path", _PATHS)
def test_a_lone_surrogate_names_its_place_without_a_key_that_is_body_text(path: str) -> None:
    """The key above a lone surrogate was named as it came: a key can be a customer's name or phone."""
    raw = ('{"model": "m", "reply": "x", "record": {}, "' + _SECRET + '": {"note": "\\ud800"}}').encode()
    status, err = _post(path, raw)  # _post asserts the secret is not in the answer
    assert (status, err["code"]) == (422, "invalid_request")
    assert "(key).note" in err["message"] and "lone UTF-16 surrogate" in err["message"]


def test_an_unknown_field_is_named_only_when_it_is_an_identifier() -> None:
    """`guard` takes no other field: one that is not an identifier is '(key)', not its name (the
    caller's text); an identifier is named, as before."""
    record = json.dumps(_RECORD, ensure_ascii=False)
    for key, shown in ((_SECRET, "(key)"), ("polcy", "polcy")):
        raw = ('{"model": "m", "messages": [' + _USER + '}], "guard": {"record": ' + record + ', "' + key + '": 1}}').encode()
        status, err = _post("/v1/chat/completions", raw)
        assert (status, err["code"], err["message"]) == (422, "invalid_request", f"guard.{shown}: Extra inputs are not permitted")
