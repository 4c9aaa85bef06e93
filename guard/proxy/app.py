"""The FastAPI app of `guard serve` (contract §7).

`create_app(settings, policies=..., auditor=..., crm=..., transport=...)` builds it; every
collaborator is injectable so tests run the real app against a scripted upstream. Routes:
`POST /v1/chat/completions` (caller), `GET /v1/models` (caller: the aliases, then the upstream's
models), `POST /v1/guard/check` (caller), `/healthz`, `/readyz`, and the OpenAPI schema at
`/openapi.json`.

What `guard serve` cannot start with (a ledger or CRM table that cannot be opened, an HTTP CRM
without its URL) raises `ConfigError` from `create_app`: one line, for the command to print.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import sqlite3
import types
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Annotated, Any

import anyio
import httpx
from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from fastapi.telemetry import TelemetryConfig
from opentelemetry.metrics import NoOpMeterProvider
from starlette.routing import request_response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from guard.audit.api import Auditor, CallAudit, NullAuditor
from guard.audit.auditor import OtelAuditor
from guard.audit.http import build_audit_router, build_metrics_router
from guard.audit.ledger import AuditLedger, LedgerError, default_ledger_target, open_ledger
from guard.audit.metrics import record_policy_reload_failure
from guard.audit.otel import setup_telemetry
from guard.crm.base import NoSource, RecordSource
from guard.crm.cache import CachedSource
from guard.crm.http import HttpRecordSource
from guard.crm.sqlite import SqliteRecordSource
from guard.policy.model import PolicySet
from guard.policy.registry import PolicyRegistry, ReloadOutcome, watch_policies
from guard.proxy.auth import KeyStore, Principal, authorize_header, require_role
from guard.proxy.encoding import json_bytes
from guard.proxy.errors import ContainErrors, GuardHTTPError, error_body, install_error_handlers, tag_trace_id
from guard.proxy.hugepages import collapse_heap
from guard.proxy.openai_models import (
    ChatCompletionRequest,
    ChatCompletionResponse,
    CheckRequest,
    ModelList,
    model_list,
    parse_chat_request,
)
from guard.proxy.openapi import (
    AUDIT_ERRORS,
    CHAT_ERRORS,
    CHECK_ERRORS,
    KEY_ERRORS,
    MODELS_ERRORS,
    READINESS_RESPONSES,
    Readiness,
    document_routes,
    drop_framework_errors,
)
from guard.proxy.service import GuardService, PolicyProvider
from guard.proxy.settings import ConfigError, GuardSettings, load_settings
from guard.proxy.upstream import Upstream, UpstreamError
from guard.types import CustomerRecord

__all__ = ["FRAMEWORK_TELEMETRY_OFF", "build_record_source", "create_app"]

FRAMEWORK_TELEMETRY_OFF: TelemetryConfig = {
    "tracing": False,
    "metrics": False,
    "logs": False,
    "operation_spans": False,
    "auto_configure": False,
}
"""FastAPI's own OpenTelemetry instrumentation, switched off (see `create_app`)."""


def _count_reload_failure(outcome: ReloadOutcome) -> None:
    if not outcome.ok:
        record_policy_reload_failure(None, "invalid_policy")


def _default_auditor(settings: GuardSettings, closers: list[Callable[[], None]]) -> Auditor:
    """The production auditor: OTel traces/metrics from `OTEL_*` plus the durable ledger."""
    if not settings.audit_enabled:
        log.warning("audit disabled (audit_enabled=false): decisions are not recorded")
        return NullAuditor()
    try:
        ledger = open_ledger(settings.ledger)
    except LedgerError as exc:  # its messages name the path (a PostgreSQL DSN never), not the data
        raise ConfigError(f"{exc} (setting ledger)") from None
    except (OSError, sqlite3.Error) as exc:
        raise ConfigError(f"cannot open the ledger {_ledger_name(settings.ledger)} (setting ledger): {_reason(exc)}") from None
    telemetry = setup_telemetry()
    auditor = OtelAuditor(
        ledger,
        tracer_provider=telemetry.tracer_provider,
        # Without a metrics exporter no measurement would leave the process: record none (the
        # SDK's instruments cost ≈ 3 µs a measurement even with no reader).
        meter_provider=telemetry.meter_provider if telemetry.metrics_exporter != "none" else NoOpMeterProvider(),
        deferred=True,  # spans and metrics are made off the request path, after the call
    )
    closers.extend((telemetry.shutdown, auditor.close))
    return auditor

log = logging.getLogger("guard.proxy")

CallerDep = Annotated[Principal, Depends(require_role("caller"))]
_CALLER = frozenset({"caller"})


def _route(app: FastAPI, path: str) -> APIRoute:
    """The app's route at `path`."""
    for route in app.router.routes:
        if isinstance(route, APIRoute) and route.path == path:
            return route
    raise LookupError(path)


def _ledger_name(target: str | None) -> str:
    """The ledger as a start-up error names it: its SQLite path; a PostgreSQL DSN may hold a password."""
    t = target or default_ledger_target()
    return "(the PostgreSQL DSN)" if "://" in t or "=" in t else t


def _reason(exc: OSError | sqlite3.Error) -> str:
    """Why a file could not be opened, in a few words (never a traceback)."""
    if isinstance(exc, FileExistsError) and exc.filename:  # mkdir of a folder on the path
        return f"{exc.filename} exists and is not a folder"
    if isinstance(exc, OSError):
        reason = exc.strerror or type(exc).__name__
        return f"{reason}: {exc.filename}" if exc.filename else reason
    return str(exc) or type(exc).__name__  # SQLite's own words: "file is not a database"


class NoCrmSource(NoSource):
    """`crm_source: none`: a request that names its customer by id only cannot be checked (422)."""

    async def get(self, customer_id: str) -> CustomerRecord | None:
        raise GuardHTTPError(
            422,
            "guard.customer_id: no CRM source is configured (crm_source: none): send guard.record inline, "
            "or set GUARD_CRM_SOURCE; nothing was released",
            "no_crm_source",
        )


def build_record_source(settings: GuardSettings) -> RecordSource:
    """The configured CRM source, behind the TTL cache; `ConfigError` when it cannot be opened."""
    source: RecordSource
    if settings.crm_source == "sqlite":
        source = _open_crm_table(Path(settings.crm_sqlite_path))
    elif settings.crm_source == "http":
        if not settings.crm_http_url:
            raise ConfigError("crm_source is http but crm_http_url (GUARD_CRM_HTTP_URL) is not set")
        key = settings.crm_http_api_key.get_secret_value() if settings.crm_http_api_key else None
        source = HttpRecordSource(settings.crm_http_url, api_key=key, timeout=settings.crm_http_timeout)
    else:
        return NoCrmSource()
    return CachedSource(source, ttl=settings.crm_cache_ttl, size=settings.crm_cache_size)


def _open_crm_table(path: Path) -> SqliteRecordSource:
    """The CRM table at `path`, created empty if missing (documented: the import is optional), with
    a warning at start when it holds no customer: every lookup by id would then be a 422."""
    existed = path.exists()
    try:
        source = SqliteRecordSource(path)
        empty = source.is_empty()
    except (OSError, sqlite3.Error) as exc:
        raise ConfigError(f"cannot open the CRM table {path} (setting crm_sqlite_path): {_reason(exc)}") from None
    if empty:
        log.warning(
            "the CRM table %s %s 0 customers: every guard.customer_id is answered 422 unknown_customer until "
            "`guard crm import FILE` fills it (requests with guard.record inline are not affected)",
            path, "holds" if existed else "did not exist; it was created with",
        )
    return source


class _TracedCalls:
    """The auditor as the service uses it: an unexpected exception that escapes a guarded call
    carries the call's trace id (`tag_trace_id`), so that its 500 names the trace."""

    def __init__(self, auditor: Auditor) -> None:
        self.auditor = auditor

    def call(self, **arguments: Any) -> _TracedCall:
        return _TracedCall(self.auditor.call(**arguments))

    def close(self) -> None:
        self.auditor.close()

    def __getattr__(self, name: str) -> Any:  # the rest is the auditor's (`ledger`, `metrics`, …)
        return getattr(self.auditor, name)


class _TracedCall:
    __slots__ = ("scope", "trace_id")

    def __init__(self, scope: contextlib.AbstractContextManager[CallAudit]) -> None:
        self.scope = scope
        self.trace_id = ""

    def __enter__(self) -> CallAudit:
        call = self.scope.__enter__()
        self.trace_id = call.trace_id
        return call

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: types.TracebackType | None
    ) -> bool | None:
        if isinstance(exc, Exception) and not isinstance(exc, GuardHTTPError):
            tag_trace_id(exc, self.trace_id)
        return self.scope.__exit__(kind, exc, tb)


def _key_first(route_app: ASGIApp, keys: KeyStore, allowed: frozenset[str]) -> ASGIApp:
    """`route_app` behind the key check: no or an unknown key is a 401 (another role a 403) before
    the body is read. FastAPI parses a body parameter before it runs the route's dependencies, so
    a malformed body without a key would otherwise be a 422 (contract §7: 401)."""

    async def checked(scope: Scope, receive: Receive, send: Send) -> None:
        authorization = next((v.decode("latin-1") for n, v in scope["headers"] if n == b"authorization"), None)
        try:
            authorize_header(keys, authorization, allowed)
        except GuardHTTPError as exc:
            await exc.response()(scope, receive, send)
            return
        await route_app(scope, receive, send)

    return checked


class _GuardApp(FastAPI):
    """FastAPI, with `ContainErrors` outside its middleware (guard/proxy/errors.py): an exception a
    request raised is logged by the guard, without its message, and not again by the server. Its
    OpenAPI schema documents the errors the routes answer, and not FastAPI's 422 shape."""

    def build_middleware_stack(self) -> ASGIApp:
        return ContainErrors(super().build_middleware_stack())

    def openapi(self) -> dict[str, Any]:
        if self.openapi_schema is None:
            drop_framework_errors(super().openapi())  # made once, kept in `openapi_schema`
        return super().openapi()


class BodyLimit:
    """413 for a request body over `limit` bytes, by Content-Length or as it streams in."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    break  # the server answers a malformed length itself; count as it streams
                if declared > self.limit:
                    await self._reject(scope, receive, send)
                    return
                if declared >= 0:
                    # The HTTP server delivers no more body than the declared length (h11 and
                    # httptools both frame by it), so there is nothing to count.
                    await self.app(scope, receive, send)
                    return
                break
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not started:
                await self._reject(scope, receive, send)

    async def _reject(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = error_body(413, f"request body larger than {self.limit} bytes", "body_too_large")
        await JSONResponse(body, 413)(scope, receive, send)


class _TooLarge(BaseException):
    """Raised from `receive`; a BaseException so body parsers that catch Exception let it through."""


class GuardedStream(Response):
    """An SSE response that becomes an HTTP error if the stream fails before its first event.

    Everything runs in the request's own task (the audit context stays in one context), and a
    client that goes away stops the stream at the next event.
    """

    media_type = "text/event-stream"

    def __init__(self, events: AsyncIterator[bytes], trace: list[str]) -> None:
        super().__init__(content=None, status_code=200)
        self.events = events
        self.trace = trace

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        events = self.events
        gone = anyio.Event()

        async def watch() -> None:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    gone.set()
                    return

        try:
            try:
                first = await events.__anext__()
            except GuardHTTPError as exc:
                await exc.response()(scope, receive, send)
                return
            except StopAsyncIteration:  # pragma: no cover - a guarded stream always ends with [DONE]
                return
            headers = [
                (b"content-type", b"text/event-stream; charset=utf-8"),
                (b"cache-control", b"no-cache"),
                (b"x-accel-buffering", b"no"),
            ]
            if self.trace:
                headers.append((b"x-guard-trace-id", self.trace[0].encode()))
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            async with anyio.create_task_group() as tg:
                tg.start_soon(watch)
                await send({"type": "http.response.body", "body": first, "more_body": True})
                async for event in events:
                    if gone.is_set():
                        break
                    await send({"type": "http.response.body", "body": event, "more_body": True})
                if not gone.is_set():
                    await send({"type": "http.response.body", "body": b"", "more_body": False})
                tg.cancel_scope.cancel()
        except Exception as exc:  # a bug: its 500 (before the first event) and its log line name the trace
            if self.trace:
                tag_trace_id(exc, self.trace[0])
            raise
        finally:
            with anyio.CancelScope(shield=True):
                await events.aclose()  # type: ignore[attr-defined]


def create_app(
    settings: GuardSettings | None = None,
    *,
    policies: PolicySet | PolicyProvider | None = None,
    auditor: Auditor | None = None,
    crm: RecordSource | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    """The guard proxy app. Omitted collaborators come from `settings`."""
    settings = settings or load_settings()  # a settings error is one line without values (ConfigError)
    registry: PolicyRegistry | None = None
    if policies is None:
        registry = PolicyRegistry(settings.policy_path)
        registry.on_reload.append(_count_reload_failure)
        reg = registry
        provider: PolicyProvider = lambda: reg.current  # noqa: E731
    elif isinstance(policies, PolicySet):
        fixed = policies
        provider = lambda: fixed  # noqa: E731
    else:
        provider = policies
    # The CRM source first: when it cannot be opened, nothing else was (the ledger's writer process).
    crm_source = crm if crm is not None else build_record_source(settings)
    closers: list[Callable[[], None]] = []
    if auditor is None:
        auditor = _default_auditor(settings, closers)
    upstream = Upstream(settings, transport=transport)
    service = GuardService(
        policies=provider,
        auditor=_TracedCalls(auditor),
        crm=crm_source,
        upstream=upstream,
        max_sentence_chars=settings.stream_max_sentence_chars,
    )

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # Everything loaded so far (libraries, jieba's dictionary, Presidio, the policy set) lives as
        # long as the process: keep it out of the cyclic GC's full collections, whose pauses would
        # show in the p99 of every request. Once only: a reloaded set must stay collectable.
        gc.freeze()
        if settings.huge_pages:
            # The same heap, on 2 MiB pages: fewer TLB misses on every reply (guard.proxy.hugepages).
            collapse = collapse_heap()
            if collapse.reason is None:
                log.info("start-up heap: %d MiB on 2 MiB pages", collapse.collapsed >> 20)
            else:
                log.info("start-up heap left on 4 KiB pages: %s", collapse.reason)
        stop = asyncio.Event()
        watcher: asyncio.Task[None] | None = None
        if registry is not None and settings.policy_watch:
            ready = asyncio.Event()
            polling = True if settings.policy_polling else None  # None: WATCHFILES_FORCE_POLLING decides
            watcher = asyncio.create_task(
                watch_policies(registry, stop_event=stop, ready=ready, force_polling=polling)
            )
            started = asyncio.ensure_future(ready.wait())
            await asyncio.wait({started, watcher}, return_when=asyncio.FIRST_COMPLETED)
            if not ready.is_set():  # the watcher failed before it watched: the start fails, loudly
                started.cancel()
                watcher.result()
                raise RuntimeError("the policy watcher ended before it started")
        try:
            yield
        finally:
            stop.set()
            if watcher is not None:
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.wait_for(watcher, timeout=5)
            await upstream.aclose()
            await crm_source.aclose()
            for close in reversed(closers):
                close()

    # FastAPI instruments every request itself once a global tracer provider is set (ours is):
    # an HTTP server span, spans per dependency / endpoint / serialisation, HTTP metrics, and
    # logs with exception messages. The guard's trace is its own (guard.call is the root, one
    # trace per guarded call; docs/audit.md), exception messages may quote text, and the extra
    # spans cost about 0.3 ms of CPU a request: off.
    app = _GuardApp(
        title="guard",
        summary="Compliance guard proxy for OpenAI-compatible chat completions",
        version="0.1.0",
        lifespan=lifespan,
        telemetry=FRAMEWORK_TELEMETRY_OFF,
    )
    app.state.settings = settings
    app.state.keys = keys = KeyStore(settings.api_keys, enabled=settings.auth_enabled)
    app.state.service = service
    app.state.policies = provider
    app.state.auditor = auditor
    app.state.policy_registry = registry
    install_error_handlers(app)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)

    @app.post(
        "/v1/chat/completions",
        response_model=ChatCompletionResponse,
        responses={200: {"content": {"text/event-stream": {}}}, **CHAT_ERRORS},
    )
    async def chat_completions(principal: CallerDep, req: ChatCompletionRequest) -> Response:
        """The OpenAI Chat Completions API, guarded (contract §7). Needs the caller role."""
        return await guarded_completion(principal, req)

    async def chat_completions_direct(request: Request) -> Response:
        # What FastAPI does for `chat_completions` (whose signature documents the route), without
        # its per-request dependency and body machinery: the caller check, then the body parsed
        # and validated in one step. The answers are FastAPI's, but for one thing: a request
        # without a valid key is a 401 whatever its body (FastAPI parses the JSON first).
        # The two headers it needs, read in one pass over the raw list (the first of each, as
        # Starlette's `Headers.get` answers; ASGI servers give the names in lower case).
        authorization = content_type = None
        for name, value in request.scope["headers"]:
            if name == b"authorization":
                if authorization is None:
                    authorization = value.decode("latin-1")
            elif name == b"content-type" and content_type is None:
                content_type = value.decode("latin-1")
        principal = authorize_header(keys, authorization, _CALLER)
        req = parse_chat_request(await request.body(), content_type)
        return await guarded_completion(principal, req)

    _route(app, "/v1/chat/completions").app = request_response(chat_completions_direct)

    async def guarded_completion(principal: Principal, req: ChatCompletionRequest) -> Response:
        if req.stream:
            record, policy = await service.stream_prepare(req)
            trace: list[str] = []
            events = service.stream_events(req, principal, record, policy, trace)
            return GuardedStream(events, trace)
        out, headers = await service.complete(req, principal)
        return Response(json_bytes(out), media_type="application/json", headers=headers)

    @app.get("/v1/models", response_model=ModelList, responses=MODELS_ERRORS)
    async def models(principal: CallerDep) -> Response:
        """The models a caller can name: the guard's aliases (`model_map`), then the upstream's
        models an alias does not hide. Needs the caller role."""
        try:
            entries = await upstream.models()
        except UpstreamError as exc:  # its message names the failure, never the upstream's words
            headers = {"retry-after": exc.retry_after} if exc.retry_after else None
            raise GuardHTTPError(exc.http_status, exc.message, f"upstream_{exc.kind}", headers) from None
        return Response(json_bytes(model_list(entries, upstream.model_map)), media_type="application/json")

    @app.post("/v1/guard/check", responses=CHECK_ERRORS)
    async def guard_check(body: CheckRequest, principal: CallerDep) -> dict[str, Any]:
        """Check one reply against a record without a model (one batch output line, contract §6)."""
        if len(body.reply) > settings.max_reply_chars:  # the checks run on the event loop: bound them
            raise GuardHTTPError(413, f"reply longer than {settings.max_reply_chars} characters", "reply_too_long")
        return service.check(body.model_dump())

    check_route = _route(app, "/v1/guard/check")
    check_route.app = _key_first(check_route.app, keys, _CALLER)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @app.get("/readyz", response_model=Readiness, responses=READINESS_RESPONSES)
    async def readyz() -> JSONResponse:
        """Readiness: a policy set is loaded and auth is configured."""
        problems = []
        try:
            current = provider()
            policy_version = current.version
        except Exception:  # a broken provider means not ready, never a crash
            problems.append("no policy set loaded")
            policy_version = None
        if settings.auth_enabled and not len(app.state.keys):
            problems.append("no API keys configured")
        body: dict[str, Any] = {"status": "ok" if not problems else "not_ready", "policy_set_version": policy_version}
        if registry is not None:
            # A rejected edit leaves the previous version serving: degraded, still ready.
            body["policies"] = registry.status().to_json()
        if problems:
            body["problems"] = problems
        return JSONResponse(body, 200 if not problems else 503)

    # The auditors' and the metrics routes come after the proxy's: the router tries routes in
    # order, and every chat completion would otherwise first be matched against each of them.
    ledger = getattr(auditor, "ledger", None)
    if isinstance(ledger, AuditLedger):
        audit = build_audit_router(ledger, require_role("auditor", "admin"))
        document_routes(audit, AUDIT_ERRORS)
        app.include_router(audit, responses=KEY_ERRORS)
    if "prometheus" in os.environ.get("OTEL_METRICS_EXPORTER", ""):
        app.include_router(build_metrics_router(require_role("auditor", "admin")), responses=KEY_ERRORS)
    return app

