"""OpenAI-shaped errors: `{"error": {"message", "type", "code"}}` (contract §7).

Messages name what is wrong and never echo request content (a reply, a prompt or a record can
hold PII), and no error path carries model text.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

__all__ = ["GuardHTTPError", "error_body", "install_error_handlers"]

log = logging.getLogger("guard.proxy")

_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    413: "invalid_request_error",
    422: "invalid_request_error",
    500: "server_error",
    502: "upstream_error",
    503: "server_error",
    504: "upstream_timeout",
}


def error_body(status: int, message: str, code: str | None = None) -> dict[str, Any]:
    """The OpenAI error object for `status`."""
    return {"error": {"message": message, "type": _TYPES.get(status, "server_error"), "code": code}}


class GuardHTTPError(Exception):
    """An error answered with `status` and an OpenAI-shaped body."""

    def __init__(self, status: int, message: str, code: str | None = None, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.headers = headers or {}

    def response(self) -> JSONResponse:
        return JSONResponse(error_body(self.status, self.message, self.code), self.status, headers=self.headers)


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
        msg = "required field is missing" if err.get("type") == "missing" else str(err.get("msg", "invalid"))
        parts.append(f"{loc or '(body)'}: {msg}")
    return "; ".join(parts) or "invalid request"


def install_error_handlers(app: FastAPI) -> None:
    """Every error the app can raise is answered in the OpenAI shape."""

    async def guard_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, GuardHTTPError)
        return exc.response()

    async def validation_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return JSONResponse(error_body(422, _validation_message(exc), "invalid_request"), 422)

    async def http_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        return JSONResponse(
            error_body(exc.status_code, str(exc.detail), None), exc.status_code, headers=getattr(exc, "headers", None)
        )

    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled error %s", type(exc).__name__)  # the type only: messages may hold text
        return JSONResponse(error_body(500, "internal error; nothing was released", "internal_error"), 500)

    app.add_exception_handler(GuardHTTPError, guard_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, unexpected)
