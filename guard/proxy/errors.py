"""OpenAI-shaped errors: `{"error": {"message", "type", "code"}}` (contract §7).

Messages name what is wrong and never echo request content (a reply, a prompt or a record can
hold PII), and no error path carries model text.

An unexpected exception (a bug) is answered 500 `internal_error` and logged by the guard with its
type and where it was raised (`file:line in function` of each frame), never its message, which
may quote a reply or a record: `log_unexpected`. Starlette re-raises it after the answer, for the
server to log; `ContainErrors`, outside everything, stops it there (uvicorn would log the message
and the whole traceback).
"""

from __future__ import annotations

import logging
import traceback
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from guard.proxy.body_errors import BodyProblem, parse_failure, safe_path, validation_failure

__all__ = [
    "ContainErrors",
    "ErrorDetail",
    "ErrorResponse",
    "GuardHTTPError",
    "error_body",
    "install_error_handlers",
    "log_unexpected",
    "tag_trace_id",
]

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
    """The OpenAI error object for `status` (`ErrorResponse`)."""
    return {"error": {"message": message, "type": _TYPES.get(status, "server_error"), "code": code}}


class ErrorDetail(BaseModel):
    """What went wrong: a message for people, a stable `code` for programs."""

    message: str = Field(description="what is wrong and where; never quotes the request's content or model text")
    type: str = Field(description="the OpenAI error type of the status, e.g. invalid_request_error, upstream_error")
    code: str | None = Field(description="a stable code, e.g. invalid_json, unknown_customer, upstream_timeout")


class ErrorResponse(BaseModel):
    """Every error the guard answers (contract §7): the OpenAI error object."""

    error: ErrorDetail


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
        path = tuple(p for p in err.get("loc", ()) if p != "body")
        if err.get("type") == "extra_forbidden" and path:
            # The unknown field's name is the caller's text (it may hold a name or a phone).
            path = (*path[:-1], safe_path(path[-1:]))
        loc = ".".join(str(p) for p in path)
        msg = "required field is missing" if err.get("type") == "missing" else str(err.get("msg", "invalid"))
        parts.append(f"{loc or '(body)'}: {msg}")
    return "; ".join(parts) or "invalid request"


_HTTP_CODES = {400: "invalid_request", 404: "not_found", 405: "method_not_allowed"}
"""The code of an HTTP error raised without one (Starlette's 404 and 405, an audit query's 400)."""


def _bad_body(problem: BodyProblem) -> JSONResponse:
    return JSONResponse(error_body(400, problem.message, problem.code), 400)


def install_error_handlers(app: FastAPI) -> None:
    """Every error the app can raise is answered in the OpenAI shape. A body that is not a JSON
    object is a 400 with its own code (`guard.proxy.body_errors`), whichever route read it."""

    async def guard_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, GuardHTTPError)
        return exc.response()

    async def validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        problem = validation_failure(exc.errors(), exc.__cause__, request.headers.get("content-type"))
        if problem is not None:
            return _bad_body(problem)
        return JSONResponse(error_body(422, _validation_message(exc), "invalid_request"), 422)

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 400:
            problem = parse_failure(exc.__cause__, request.headers.get("content-type"))
            if problem is not None:
                return _bad_body(problem)
        code = _HTTP_CODES.get(exc.status_code)
        return JSONResponse(
            error_body(exc.status_code, str(exc.detail), code), exc.status_code, headers=getattr(exc, "headers", None)
        )

    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        log_unexpected(exc)
        trace_id = getattr(exc, _TRACE_ATTR, None)
        headers = {"x-guard-trace-id": trace_id} if isinstance(trace_id, str) else None
        return JSONResponse(error_body(500, "internal error; nothing was released", "internal_error"), 500,
                            headers=headers)

    app.add_exception_handler(GuardHTTPError, guard_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, unexpected)


_TRACE_ATTR = "_guard_trace_id"
_LOGGED_ATTR = "_guard_logged"
_ROOT = str(Path(__file__).resolve().parents[2]) + "/"
_MAX_FRAMES = 8


def tag_trace_id(exc: BaseException, trace_id: str) -> None:
    """Tell an unexpected exception the trace of the guarded call it escaped: its 500 names it."""
    if getattr(exc, _TRACE_ATTR, None) is None:
        setattr(exc, _TRACE_ATTR, trace_id)


def _short(filename: str) -> str:
    _, sep, rest = filename.rpartition("/site-packages/")
    if sep:
        return rest
    return filename[len(_ROOT):] if filename.startswith(_ROOT) else filename


def _leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in _leaves(inner)]
    return [exc]


def log_unexpected(exc: BaseException) -> None:
    """Log an unexpected exception once: its type (an exception group's: the types inside) and the
    frames it passed, innermost first, `file:line in function`; never its message or locals."""
    if getattr(exc, _LOGGED_ATTR, False):
        return
    leaves = _leaves(exc)
    kind = type(exc).__name__
    if leaves != [exc]:
        kind += "(" + ", ".join(type(leaf).__name__ for leaf in leaves) + ")"
    frames = [f"{_short(frame.f_code.co_filename)}:{line} in {frame.f_code.co_name}"
              for frame, line in traceback.walk_tb(leaves[0].__traceback__)]
    where = " < ".join(reversed(frames[-_MAX_FRAMES:])) or "(no traceback)"
    trace_id = getattr(exc, _TRACE_ATTR, None)
    traced = f" (trace {trace_id})" if isinstance(trace_id, str) else ""
    log.error("unhandled error %s%s at %s", kind, traced, where)
    setattr(exc, _LOGGED_ATTR, True)


class ContainErrors:
    """The outermost layer of the app: an exception a request raised ends here, logged by the guard
    (`log_unexpected`, once), and never reaches the server, whose log would quote its message.

    Starlette answers it (500, `install_error_handlers`) and then re-raises it for the server to
    log. Lifespan errors pass on: a start that fails must fail.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        except Exception as exc:
            log_unexpected(exc)  # the server closes a response that started, or answers 500
