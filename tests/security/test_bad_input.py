"""Bad input against the running app: schema-driven fuzzing (schemathesis), oversized bodies,
wrong content types, a missing or malformed `guard` object. hypothesis fuzzing of the text layer
and the checks lives in tests/robustness."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from guard.testing.scripted_upstream import ScriptedUpstream
from tests.faults.harness import ADMIN, CALLER, RECORD, Served, serve_guard


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with ScriptedUpstream({}, default="张先生您好。您的额度已经审核通过了。") as up:
        tmp: Path = tmp_path_factory.mktemp("bad-input")
        with serve_guard(up.base_url, tmp, max_body_bytes=16 * 1024, max_reply_chars=1000) as s:
            yield s


def test_no_server_error_on_any_schema_input(served: Served) -> None:
    """schemathesis generates requests for every operation of /openapi.json; sent with an admin key
    (so every route is reached), none is answered with a 5xx. Bounded: 40 examples an operation."""
    api = schemathesis.openapi.from_url(served.url + "/openapi.json")
    labels = []
    for result in api.get_all_operations():
        operation = result.ok()
        labels.append(operation.label)

        @given(case=operation.as_strategy())
        @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def run(case: Any) -> None:
            response = case.call(base_url=served.url, headers={"authorization": f"Bearer {ADMIN}"}, timeout=10)
            assert response.status_code < 500, (case.method, case.path, response.status_code, response.text[:300])

        run()
    assert {"POST /v1/chat/completions", "POST /v1/guard/check", "GET /v1/audit/records"} <= set(labels)


def _post(served: Served, body: bytes | str, ctype: str | None = "application/json") -> httpx.Response:
    headers = {"authorization": f"Bearer {CALLER}"}
    if ctype is not None:
        headers["content-type"] = ctype
    return httpx.post(served.url + "/v1/chat/completions", content=body, headers=headers, timeout=10)


def _error(r: httpx.Response, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert set(err) == {"message", "type", "code"}
    return dict(err)


def _chat(guard: Any = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"model": "m", "messages": [{"role": "user", "content": "你好"}], **extra}
    if guard is not None:
        body["guard"] = guard
    return body


@pytest.mark.parametrize(
    ("guard", "needle", "code"),
    [
        (None, "guard: required field is missing", "invalid_request"),
        ("C1", "guard", "invalid_request"),
        ([RECORD], "guard", "invalid_request"),
        ({}, "guard.record or guard.customer_id is required", "missing_customer"),
        ({"record": "张飞"}, "guard.record", "invalid_request"),
        ({"record": {"name": "张飞"}}, "guard.record", "invalid_record"),
        ({"record": {**RECORD, "gender": "x"}}, "gender", "invalid_record"),
        ({"record": RECORD, "polcy": "x"}, "guard.polcy", "invalid_request"),
        ({"record": RECORD, "policy": "nope"}, "guard.policy", "unknown_policy"),
        ({"customer_id": "C1"}, "no CRM source is configured", "no_crm_source"),  # the harness: crm_source none
        ({"record": RECORD, "customer_id": "C2"}, "differs", "invalid_record"),
    ],
)
def test_missing_or_malformed_guard_object_is_422_with_a_clear_message(
    served: Served, guard: Any, needle: str, code: str
) -> None:
    import json

    err = _error(_post(served, json.dumps(_chat(guard))), 422)
    assert err["code"] == code and needle in err["message"], err
    assert "张飞" not in err["message"]  # messages name fields, never values


@pytest.mark.parametrize(
    ("ctype", "status"),
    [
        ("text/plain", 400),
        ("application/x-www-form-urlencoded", 400),
        ("multipart/form-data; boundary=x", 400),
        (None, 400),
        ("application/json; charset=latin-1", 200),  # the body is still JSON: accepted
    ],
)
def test_wrong_content_types(served: Served, ctype: str | None, status: int) -> None:
    import json

    r = _post(served, json.dumps(_chat({"record": RECORD})), ctype)
    if status == 200:
        assert r.status_code == 200 and r.json()["guard"]["decision"] == "allow"
    else:
        assert _error(r, status)["code"] == "invalid_content_type"


@pytest.mark.parametrize(
    "body",
    [b"\xff\xfe{", b"", b"null", b"[]", b'"x"', b"{" * 5000, "{\"model\": \"\ud800\"}".encode("utf-8", "surrogatepass")],
)
def test_garbage_bodies_are_4xx(served: Served, body: bytes) -> None:
    r = _post(served, body)
    assert 400 <= r.status_code < 500 and set(r.json()["error"]) == {"message", "type", "code"}


def test_a_check_reply_over_max_reply_chars_is_413(served: Served) -> None:
    headers = {"authorization": f"Bearer {CALLER}"}
    r = httpx.post(served.url + "/v1/guard/check", json={"record": RECORD, "reply": "好" * 1001}, headers=headers)
    assert _error(r, 413)["code"] == "reply_too_long"
    r = httpx.post(served.url + "/v1/guard/check", json={"record": RECORD, "reply": "好。" * 500}, headers=headers)
    assert r.status_code == 200


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/guard/check"])
def test_oversized_bodies_are_413_before_parsing(served: Served, path: str) -> None:
    big = b'{"reply": "' + "长".encode() * 20_000 + b'"}'
    r = httpx.post(served.url + path, content=big, headers={"authorization": f"Bearer {CALLER}",
                                                            "content-type": "application/json"}, timeout=10)
    assert _error(r, 413)["code"] == "body_too_large"
