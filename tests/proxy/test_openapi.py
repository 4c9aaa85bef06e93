"""The OpenAPI schema tells the truth about errors: each operation documents the error statuses
it answers, each with the OpenAI error object the app sends, and FastAPI's HTTPValidationError
(which the app never sends) appears nowhere."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from guard.audit.api import NullAuditor
from guard.audit.ledger import SqliteLedger
from guard.proxy.app import create_app
from guard.proxy.errors import ErrorResponse, GuardHTTPError, error_body
from guard.proxy.settings import ApiKey, GuardSettings
from tests.proxy.conftest import ADMIN

_ALL = {400, 401, 403, 413, 422, 502, 504}
EXPECTED: dict[tuple[str, str], set[int]] = {
    ("post", "/v1/chat/completions"): _ALL,
    ("get", "/v1/models"): {401, 403, 502, 504},
    ("post", "/v1/guard/check"): {400, 401, 403, 413, 422},
    ("get", "/healthz"): set(),
    ("get", "/readyz"): {503},
    ("get", "/v1/audit/records"): {400, 401, 403, 422},
    ("get", "/v1/audit/records/{trace_id}"): {401, 403, 404},
    ("get", "/v1/audit/verify"): {401, 403},
    ("get", "/v1/audit/stats"): {400, 401, 403, 422},
    ("get", "/v1/audit/export"): {400, 401, 403, 422},
    ("get", "/metrics"): {401, 403},
}


class _LedgerAuditor(NullAuditor):
    """A NullAuditor with a ledger: the app then serves the audit routes."""

    def __init__(self, ledger: SqliteLedger) -> None:
        super().__init__()
        self.ledger = ledger

    def close(self) -> None:
        self.ledger.close()


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    tmp: Path = tmp_path_factory.mktemp("openapi")
    settings = GuardSettings(crm_source="none", policy_watch=False, api_keys=(ApiKey(name="a", key=ADMIN, role="admin"),))
    with pytest.MonkeyPatch.context() as env:
        env.setenv("OTEL_METRICS_EXPORTER", "prometheus")  # the app then serves /metrics
        app = create_app(settings, auditor=_LedgerAuditor(SqliteLedger(tmp / "l.db")))
    with TestClient(app, headers={"authorization": f"Bearer {ADMIN}"}) as c:
        yield c


@pytest.fixture(scope="module")
def schema(client: TestClient) -> dict[str, Any]:
    assert client.get("/docs").status_code == 200
    r = client.get("/openapi.json")
    assert r.status_code == 200
    return dict(r.json())


def _operations(schema: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            yield method, path, operation


def _resolve(schema: dict[str, Any], ref: str) -> dict[str, Any]:
    node: Any = schema
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return dict(node)


def test_no_http_validation_error_anywhere(schema: dict[str, Any]) -> None:
    text = json.dumps(schema)
    assert "HTTPValidationError" not in text and '"ValidationError"' not in text


def test_each_operation_documents_the_errors_it_answers(schema: dict[str, Any]) -> None:
    documented = {(m, p): {int(s) for s in op["responses"] if s != "200"} for m, p, op in _operations(schema)}
    assert documented == EXPECTED


def test_every_error_response_is_the_openai_error_object(schema: dict[str, Any]) -> None:
    for method, path, operation in _operations(schema):
        for status, response in operation["responses"].items():
            if status == "200" or (path, status) == ("/readyz", "503"):
                continue
            ref = response["content"]["application/json"]["schema"]["$ref"]
            assert ref == "#/components/schemas/ErrorResponse", (method, path, status)
            assert response["description"] and response["description"] != "Additional Response"
    error = _resolve(schema, "#/components/schemas/ErrorResponse")
    assert error["required"] == ["error"]
    detail = _resolve(schema, error["properties"]["error"]["$ref"])
    assert set(detail["required"]) == set(detail["properties"]) == {"message", "type", "code"}


@pytest.mark.parametrize(("path", "status"), [("/v1/chat/completions", 400), ("/v1/chat/completions", 502),
                                              ("/v1/guard/check", 413), ("/v1/models", 504)])
def test_a_description_names_the_codes(schema: dict[str, Any], path: str, status: int) -> None:
    (operation,) = schema["paths"][path].values()
    description = operation["responses"][str(status)]["description"]
    want = {400: "`invalid_json`", 413: "`reply_too_long`", 502: "`upstream_malformed`", 504: "`upstream_timeout`"}
    assert want[status] in description


def test_the_readiness_answer_is_documented(schema: dict[str, Any]) -> None:
    responses = schema["paths"]["/readyz"]["get"]["responses"]
    for status in ("200", "503"):
        ref = responses[status]["content"]["application/json"]["schema"]["$ref"]
        assert ref == "#/components/schemas/Readiness"


@pytest.mark.parametrize("status", sorted(_ALL | {404, 405, 500}))
def test_what_the_app_sends_is_the_documented_error_object(status: int) -> None:
    for body in (error_body(status, "m", "c"), error_body(status, "m"),
                 json.loads(GuardHTTPError(status, "m", "c").response().body)):
        assert ErrorResponse.model_validate(body, strict=True).model_dump() == body


@pytest.mark.parametrize(
    ("path", "params", "status", "code"),
    [
        ("/v1/audit/records", {"since": "not a time"}, 400, "invalid_request"),
        ("/v1/audit/records", {"limit": "0"}, 422, "invalid_request"),
        ("/v1/audit/records/{trace_id}", {}, 404, "not_found"),
    ],
)
def test_the_audit_routes_answer_the_documented_errors(
    client: TestClient, schema: dict[str, Any], path: str, params: dict[str, str], status: int, code: str
) -> None:
    r = client.get(path.format(trace_id=f"{7:032x}"), params=params)
    assert r.status_code == status and r.json()["error"]["code"] == code, r.text
    assert f"`{code}`" in schema["paths"][path]["get"]["responses"][str(status)]["description"]
