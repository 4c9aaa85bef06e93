"""What the OpenAPI schema (`/openapi.json`, rendered at `/docs`) says about errors.

Each operation lists the error statuses it answers, each with the OpenAI error object the app
sends (`ErrorResponse`) and the codes it may carry. FastAPI adds a 422 `HTTPValidationError` to
every operation with parameters or a body; the guard never sends that shape (its 422 is the OpenAI
error object, and only where a route lists it): `drop_framework_errors` takes it out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from fastapi import APIRouter
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field

from guard.proxy.errors import ErrorResponse

__all__ = [
    "AUDIT_ERRORS",
    "CHAT_ERRORS",
    "CHECK_ERRORS",
    "KEY_ERRORS",
    "MODELS_ERRORS",
    "READINESS_RESPONSES",
    "Readiness",
    "document_routes",
    "drop_framework_errors",
    "error_responses",
]

Responses = dict[int | str, dict[str, Any]]


def error_responses(descriptions: Mapping[int, str]) -> Responses:
    """`responses=` of a route: each status with the OpenAI error object and its description."""
    return {status: {"model": ErrorResponse, "description": text} for status, text in descriptions.items()}


_KEY = {
    401: "No key, not `Bearer`, or an unknown key (with `WWW-Authenticate: Bearer`): "
         "`missing_api_key`, `invalid_api_key`.",
    403: "The key's role may not call this endpoint: `forbidden`.",
}
_BODY = (
    "The body is not a JSON object the guard can read: empty (`empty_body`), not sent as "
    "`application/json` (`invalid_content_type`), not UTF-8 (`invalid_encoding`), not JSON or nested "
    "too deeply (`invalid_json`), or JSON that is not an object (`body_not_object`)."
)
_UPSTREAM_502 = (
    "The upstream failed: unreachable, an error status (a `Retry-After` of it is passed on), "
    "an answer malformed, cut or too long: `upstream_connect`, `upstream_status`, `upstream_malformed`, "
    "`upstream_protocol`, `upstream_too_large`."
)
_UPSTREAM_504 = "The upstream timed out (connect, or no first byte within `upstream_read_timeout`): `upstream_timeout`."

KEY_ERRORS = error_responses(_KEY)
CHAT_ERRORS = error_responses({
    400: _BODY,
    **_KEY,
    413: "The body is over `max_body_bytes`: `body_too_large`.",
    422: "A field is invalid (a string holding a lone UTF-16 surrogate escape included), `n` > 1, no or an "
         "unknown customer, a customer id with no CRM source configured, an invalid record, an unknown policy: "
         "`invalid_request`, `missing_customer`, `unknown_customer`, `no_crm_source`, `invalid_record`, "
         "`unknown_policy`.",
    502: _UPSTREAM_502.removesuffix(".") + "; or the CRM source: `crm_unavailable`. Nothing was released.",
    504: _UPSTREAM_504 + " Nothing was released.",
})
MODELS_ERRORS = error_responses({
    **_KEY,
    502: _UPSTREAM_502.replace("an answer malformed", "a model list malformed"),
    504: _UPSTREAM_504,
})
CHECK_ERRORS = error_responses({
    400: _BODY,
    **_KEY,
    413: "The body is over `max_body_bytes` (`body_too_large`), or the reply over `max_reply_chars` "
         "(`reply_too_long`).",
    422: "A field is invalid, an invalid record, an unknown policy: `invalid_request`, `invalid_record`, "
         "`unknown_policy`.",
})
_QUERY = error_responses({
    400: "`since` or `until` is not a time: `invalid_request`.",
    422: "A query parameter is invalid (e.g. `limit` out of range): `invalid_request`.",
})
AUDIT_ERRORS: dict[str, Responses] = {
    "/v1/audit/records": _QUERY,
    "/v1/audit/records/{trace_id}": error_responses({404: "No record for this trace id: `not_found`."}),
    "/v1/audit/stats": _QUERY,
    "/v1/audit/export": _QUERY,
}
"""The audit routes' own errors, by path (their 401 and 403: `KEY_ERRORS`)."""


class Readiness(BaseModel):
    """`GET /readyz`: 200 when ready, else 503 with `problems`."""

    status: Literal["ok", "not_ready"]
    policy_set_version: str | None
    policies: dict[str, Any] | None = Field(default=None, description="the policy files' reload status")
    problems: list[str] | None = Field(default=None, description="why not ready (503 only)")


READINESS_RESPONSES: Responses = {
    503: {"model": Readiness, "description": "Not ready: no policy set loaded, or auth on and no keys."}
}


def document_routes(router: APIRouter, responses: Mapping[str, Responses]) -> None:
    """Give the routes of `router` their documented responses by path, before it is included
    (the app's routes are made from them then)."""
    for route in router.routes:
        if isinstance(route, APIRoute):
            route.responses = {**responses.get(route.path, {}), **route.responses}


def drop_framework_errors(schema: dict[str, Any]) -> None:
    """Take FastAPI's 422 `HTTPValidationError` out of `schema` (in place): each operation's
    responses and the two components."""
    for item in schema.get("paths", {}).values():
        for operation in item.values():
            responses = operation.get("responses", {})
            for status in [s for s, r in responses.items() if _is_framework_error(r)]:
                del responses[status]
    components = schema.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)


def _is_framework_error(response: dict[str, Any]) -> bool:
    ref = response.get("content", {}).get("application/json", {}).get("schema", {}).get("$ref", "")
    return isinstance(ref, str) and ref.endswith("/HTTPValidationError")
