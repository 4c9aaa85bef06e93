"""Read-only audit endpoints (FastAPI router), for the auditor role only.

    app.include_router(build_audit_router(ledger, require_role("auditor", "admin")))

GET /v1/audit/records            query (since, until, decision, code, policy, policy_version,
                                 customer_id, caller, limit; unfinished=true: only the open
                                 records of streams without a final record)
GET /v1/audit/records/{trace_id} the whole decision of one trace (404 if none): a stream's open
                                 record and its final record
GET /v1/audit/verify             walk the chain; `ok` false names the first broken link
GET /v1/audit/stats              counts per decision and code, per hour/day/month; unfinished
                                 streams (count and trace ids)
GET /v1/audit/export             JSON Lines (default) or CSV, streamed
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import Response, StreamingResponse

from guard.audit.ledger import AuditLedger, LedgerFilters
from guard.audit.query import format_rows, parse_time, show, stats, verify

__all__ = ["build_audit_router", "build_metrics_router"]


def _filters(
    since: str | None = None,
    until: str | None = None,
    decision: str | None = None,
    code: str | None = None,
    policy: str | None = None,
    policy_version: str | None = None,
    customer_id: str | None = None,
    caller: str | None = None,
    limit: Annotated[int | None, Query(ge=1, le=100_000)] = None,
    unfinished: bool = False,
) -> LedgerFilters:
    try:
        return LedgerFilters(
            since=parse_time(since) if since else None,
            until=parse_time(until) if until else None,
            decision=decision,
            code=code,
            policy=policy,
            policy_version=policy_version,
            customer_id=customer_id,
            caller=caller,
            limit=limit,
            unfinished=unfinished,
        ).check()
    except ValueError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from None


Filters = Annotated[LedgerFilters, Depends(_filters)]


def build_audit_router(ledger: AuditLedger, dependency: Callable[..., Any]) -> APIRouter:
    """The audit API on `ledger`; every route depends on `dependency` (the app's role check)."""
    router = APIRouter(prefix="/v1/audit", tags=["audit"], dependencies=[Depends(dependency)])

    @router.get("/records")
    def records(f: Filters) -> dict[str, Any]:
        rows = [r.to_json() for r in ledger.rows(f)]
        return {"count": len(rows), "records": rows}

    @router.get("/records/{trace_id}")
    def record(trace_id: str) -> dict[str, Any]:
        recs = show(ledger, trace_id)
        if not recs:
            raise HTTPException(status_code=404, detail="no record for this trace id")
        return {"trace_id": trace_id, "records": recs}

    @router.get("/verify")
    def verify_chain() -> dict[str, Any]:
        return verify(ledger).to_json()

    @router.get("/stats")
    def stats_view(f: Filters, bucket: Literal["hour", "day", "month", "all"] = "day") -> dict[str, Any]:
        return stats(ledger, bucket=bucket, filters=f).to_json()

    @router.get("/export")
    def export_view(f: Filters, format: Literal["jsonl", "csv"] = "jsonl") -> StreamingResponse:
        media = "application/x-ndjson" if format == "jsonl" else "text/csv"

        def body() -> Iterator[str]:
            yield from format_rows(ledger.rows(f), format)

        return StreamingResponse(body(), media_type=f"{media}; charset=utf-8")

    return router


def build_metrics_router(dependency: Callable[..., Any] | None = None) -> APIRouter:
    """`GET /metrics` in the Prometheus text format.

    Serves what the Prometheus reader collects: start telemetry with
    `OTEL_METRICS_EXPORTER=prometheus` (or `otlp,prometheus`). `dependency` guards it if given.
    """
    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

    router = APIRouter(tags=["metrics"], dependencies=[Depends(dependency)] if dependency is not None else [])

    @router.get("/metrics")
    def scrape() -> Response:
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    return router
