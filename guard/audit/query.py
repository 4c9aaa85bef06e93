"""What auditors do with the ledger: query, show, verify, export, stats.

Shared by `guard audit …` and the read-only HTTP endpoints; nothing here writes.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal, TextIO

from guard.audit.ledger import (
    GENESIS_HASH,
    INDEXED_FIELDS,
    AuditLedger,
    LedgerFilters,
    LedgerRow,
    canonical_json,
    chain_hash,
)
from guard.audit.record import OPEN_DECISION

__all__ = [
    "CSV_FIELDS",
    "BrokenLink",
    "Stats",
    "VerifyReport",
    "export",
    "format_rows",
    "iso",
    "parse_time",
    "render_show",
    "render_stats",
    "show",
    "stats",
    "unfinished",
    "verify",
]

CSV_FIELDS = (
    "seq", "trace_id", "time", "caller", "customer_id", "model", "policy", "policy_version", "decision",
    "codes", "regenerations", "latency_ms", "original_masked", "released", "hash",
)  # fmt: skip
_RELATIVE = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_time(text: str, *, now: float | None = None) -> float:
    """Unix seconds from an ISO 8601 time (UTC unless it says otherwise), unix seconds, or `30m`/`2h`/`7d` ago."""
    t = text.strip()
    m = _RELATIVE.match(t)
    if m:
        base = now if now is not None else dt.datetime.now(dt.UTC).timestamp()
        return base - float(m.group(1)) * _UNIT[m.group(2)]
    try:
        seconds = float(t)
    except ValueError:
        pass
    else:
        if not math.isfinite(seconds):  # nan, inf, 1e400: would match nothing, silently
            raise ValueError(f"not a time: {text!r} (use ISO 8601, unix seconds, or 30m / 2h / 7d)")
        return seconds
    try:
        d = dt.datetime.fromisoformat(t)
    except ValueError:
        raise ValueError(f"not a time: {text!r} (use ISO 8601, unix seconds, or 30m / 2h / 7d)") from None
    if d.tzinfo is None:
        d = d.replace(tzinfo=dt.UTC)
    return d.timestamp()


def iso(ts: float) -> str:
    """UTC ISO 8601 with milliseconds."""
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# -- verify -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BrokenLink:
    """The first place the chain does not hold."""

    seq: int
    trace_id: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """Result of walking the chain from the first record to the last."""

    ok: bool
    checked: int
    head_seq: int
    head_hash: str
    broken: BrokenLink | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON-able form."""
        return asdict(self)


def _check_row(row: LedgerRow, expected_seq: int, prev_hash: str) -> str | None:
    if row.seq != expected_seq:
        if row.seq > expected_seq:
            missing = (
                f"record {expected_seq}"
                if row.seq == expected_seq + 1
                else f"records {expected_seq}..{row.seq - 1}"
            )
            return f"{missing} missing (sequence jumps to {row.seq})"
        return f"sequence out of order (expected {expected_seq})"
    if row.prev_hash != prev_hash:
        return "prev_hash does not match the previous record's hash (a record before it was removed, replaced or moved)"
    try:
        body = json.loads(row.body)
    except ValueError:
        return "body is not valid JSON"
    if not isinstance(body, dict) or canonical_json(body) != row.body:
        return "body is not in canonical form (edited)"
    if body.get("seq") != row.seq:
        return f"body belongs to record {body.get('seq')} (records reordered)"
    if chain_hash(row.prev_hash, row.body) != row.hash:
        return "hash does not match the record's content (edited)"
    for name in INDEXED_FIELDS:
        if body.get(name) != getattr(row, name):
            return f"column {name} differs from the hashed record (edited)"
    if list(row.codes) != list(body.get("codes") or []):
        return "column codes differs from the hashed record (edited)"
    return None


def verify(ledger: AuditLedger) -> VerifyReport:
    """Walk the whole chain; name the first broken link."""
    prev_hash, expected, checked, last_seq = GENESIS_HASH, 1, 0, 0
    for row in ledger.rows():
        reason = _check_row(row, expected, prev_hash)
        if reason is not None:
            return VerifyReport(
                False, checked, last_seq, prev_hash, BrokenLink(row.seq, row.trace_id, reason)
            )
        prev_hash, expected, checked, last_seq = row.hash, row.seq + 1, checked + 1, row.seq
    return VerifyReport(True, checked, last_seq, prev_hash)


# -- query / show / export ----------------------------------------------------------------------------


def _flat(row: LedgerRow) -> dict[str, Any]:
    rec = row.record()
    return {
        "seq": row.seq,
        "trace_id": row.trace_id,
        "time": iso(row.ts),
        "caller": row.caller,
        "customer_id": row.customer_id,
        "model": row.model,
        "policy": row.policy,
        "policy_version": row.policy_version,
        "decision": row.decision,
        "codes": " ".join(row.codes),
        "regenerations": rec.get("regenerations"),
        "latency_ms": rec.get("latency_ms"),
        "original_masked": rec.get("original_masked"),
        "released": rec.get("released"),
        "hash": row.hash,
    }


def _table(rows: Iterable[LedgerRow]) -> str:
    cols = (
        "seq",
        "time",
        "trace_id",
        "decision",
        "codes",
        "policy",
        "policy_version",
        "customer_id",
        "caller",
    )
    data = [{k: "" if v is None else str(v) for k, v in _flat(r).items()} for r in rows]
    widths = {c: max([len(c)] + [len(d[c]) for d in data]) for c in cols}
    lines = ["  ".join(c.ljust(widths[c]) for c in cols)]
    lines += ["  ".join(d[c].ljust(widths[c]) for c in cols) for d in data]
    return "\n".join(lines) + "\n"


def format_rows(rows: Iterable[LedgerRow], fmt: Literal["table", "json", "jsonl", "csv"]) -> Iterator[str]:
    """Render rows as a text table, a JSON array, JSON Lines or CSV (streamed where possible)."""
    if fmt == "table":
        yield _table(rows)
    elif fmt == "json":
        yield json.dumps([r.to_json() for r in rows], ensure_ascii=False, indent=2) + "\n"
    elif fmt == "jsonl":
        for r in rows:
            yield json.dumps(r.to_json(), ensure_ascii=False) + "\n"
    elif fmt == "csv":
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=CSV_FIELDS, lineterminator="\n")
        w.writeheader()
        yield buf.getvalue()
        for r in rows:
            buf.seek(0)
            buf.truncate()
            w.writerow(_flat(r))
            yield buf.getvalue()
    else:
        raise ValueError(f"unknown format {fmt!r}")


def export(
    ledger: AuditLedger,
    out: TextIO,
    *,
    fmt: Literal["jsonl", "csv"] = "jsonl",
    filters: LedgerFilters | None = None,
) -> int:
    """Write matching records (with their chain fields) to `out`; return how many."""
    n = 0

    def counted() -> Iterator[LedgerRow]:
        nonlocal n
        for r in ledger.rows(filters):
            n += 1
            yield r

    for chunk in format_rows(counted(), fmt):
        out.write(chunk)
    return n


def show(ledger: AuditLedger, trace_id: str) -> list[dict[str, Any]]:
    """Every record of one trace, with its chain fields (empty when none): a stream has two, its
    open record (decision "open") and its final record."""
    return [r.to_json() for r in ledger.get(trace_id)]


def unfinished(ledger: AuditLedger, filters: LedgerFilters | None = None) -> list[LedgerRow]:
    """The open records of streams without a final record (among those matching `filters`)."""
    return list(ledger.rows(replace(filters or LedgerFilters(), unfinished=True)))


def _render_open(rec: dict[str, Any], finished: bool) -> list[str]:
    """A stream's open record: when it opened, for whom, under which policy; no decision yet."""
    state = (
        "流已开始，最终记录见下 stream opened; its final record follows"
        if finished
        else "未完成的流 unfinished stream: no final record (the guard stopped before the stream ended,"
        " or it is still running); sentences it sent are not recorded"
    )
    return [
        f"追踪 trace    : {rec['trace_id']}   (seq {rec['seq']}, {iso(rec['ts'])})",
        f"流开始 stream opened: {iso(rec['ts'])}   调用方 caller: {rec.get('caller')}   "
        f"客户 customer: {rec.get('customer_id')}   模型 model: {rec.get('model')}",
        f"策略 policy   : {rec['policy']} ({rec['policy_version']})",
        f"决定 decision : {rec['decision']} — {state}",
        f"哈希 hash: {rec['hash']}  前一条 prev: {rec['prev_hash']}",
        "",
    ]


def render_show(records: list[dict[str, Any]]) -> str:
    """A readable rendering of `show`, Chinese-first labels. A stream's open record is shown as
    its start; its final record as the decision, with the time the stream opened."""
    opened = {r["trace_id"]: r for r in records if r.get("decision") == OPEN_DECISION}
    finished = {r["trace_id"] for r in records if r.get("decision") != OPEN_DECISION}
    out: list[str] = []
    for rec in records:
        if rec.get("decision") == OPEN_DECISION:
            out += _render_open(rec, rec["trace_id"] in finished)
            continue
        out.append(f"追踪 trace    : {rec['trace_id']}   (seq {rec['seq']}, {iso(rec['ts'])})")
        start = opened.get(rec["trace_id"])
        if start is not None:
            out.append(f"流开始 stream opened: {iso(start['ts'])}   (seq {start['seq']})")
        out += [
            f"调用方 caller : {rec.get('caller')}   客户 customer: {rec.get('customer_id')}   模型 model: {rec.get('model')}",
            f"策略 policy   : {rec['policy']} ({rec['policy_version']})",
            f"决定 decision : {rec['decision']}   重新生成 regenerations: {rec.get('regenerations', 0)}"
            + (f"   错误 error: {rec['error']}" if rec.get("error") else ""),
            f"耗时 latency  : {rec.get('latency_ms')} ms",
        ]
        for a in rec.get("attempts") or []:
            extra = {k: v for k, v in a.items() if k not in ("attempt", "duration_ms")}
            out.append(
                f"  上游 attempt {a.get('attempt')}: {a.get('duration_ms')} ms {canonical_json(extra)}"
            )
        for name, ms in (rec.get("check_ms") or {}).items():
            out.append(f"  检查 check {name}: {ms} ms")
        if rec.get("violations"):
            out.append("违规 violations:")
            for v in rec["violations"]:
                ev = f" «{v['evidence']}»" if v.get("evidence") else ""
                tier = f" tier{v['tier']}" if v.get("tier") is not None else ""
                out.append(
                    f"  - {v.get('code')}{tier} [{v.get('start')}:{v.get('end')}] {v.get('action')}{ev}"
                )
        else:
            out.append("违规 violations: 无")
        out.append(f"原文（已脱敏） original (masked): {rec.get('original_masked')}")
        out.append(f"放行 released               : {rec.get('released')}")
        out.append(f"哈希 hash: {rec['hash']}  前一条 prev: {rec['prev_hash']}")
        out.append("")
    return "\n".join(out)


# -- stats -------------------------------------------------------------------------------------------


@dataclass
class Stats:
    """Counts per time bucket: decisions and violation codes."""

    bucket: str
    total: int = 0  # decisions: a stream's open record is not one
    decisions: Counter[str] = field(default_factory=Counter)
    codes: Counter[str] = field(default_factory=Counter)
    by_bucket: dict[str, dict[str, Counter[str]]] = field(default_factory=dict)
    # Streams opened without a final record: the trace ids of their open records, in chain order.
    unfinished: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "bucket": self.bucket,
            "total": self.total,
            "decisions": dict(self.decisions),
            "codes": dict(self.codes),
            "unfinished_streams": len(self.unfinished),
            "unfinished_trace_ids": list(self.unfinished),
            "by_bucket": {
                k: {"decisions": dict(v["decisions"]), "codes": dict(v["codes"])}
                for k, v in sorted(self.by_bucket.items())
            },
        }


_BUCKET_FMT = {"hour": "%Y-%m-%dT%H:00Z", "day": "%Y-%m-%d", "month": "%Y-%m"}


def stats(
    ledger: AuditLedger,
    *,
    bucket: Literal["hour", "day", "month", "all"] = "day",
    filters: LedgerFilters | None = None,
) -> Stats:
    """Counts of decisions and violation codes, overall and per time bucket; the streams opened
    without a final record. A stream's open record is not counted as a decision."""
    s = Stats(bucket)
    for r in ledger.rows(filters):
        if r.decision == OPEN_DECISION:
            continue
        key = (
            "all"
            if bucket == "all"
            else dt.datetime.fromtimestamp(r.ts, dt.UTC).strftime(_BUCKET_FMT[bucket])
        )
        b = s.by_bucket.setdefault(key, {"decisions": Counter(), "codes": Counter()})
        s.total += 1
        s.decisions[r.decision] += 1
        b["decisions"][r.decision] += 1
        for c in r.codes:
            s.codes[c] += 1
            b["codes"][c] += 1
    s.unfinished = [r.trace_id for r in unfinished(ledger, replace(filters or LedgerFilters(), limit=None))]
    return s


_SHOWN_UNFINISHED = 20  # trace ids listed in the text; all of them: `guard audit query --unfinished`


def render_stats(s: Stats) -> str:
    """A readable table of `stats`."""
    lines = [
        f"决定数 decisions: {s.total}   (a stream's open record is not one)",
        "按决定 by decision: " + ", ".join(f"{k}={v}" for k, v in s.decisions.most_common()),
        f"未完成的流 unfinished streams: {len(s.unfinished)}",
    ]
    for trace_id in s.unfinished[:_SHOWN_UNFINISHED]:
        lines.append(f"  {trace_id}")
    if len(s.unfinished) > _SHOWN_UNFINISHED:
        lines.append(f"  … {len(s.unfinished) - _SHOWN_UNFINISHED} more: guard audit query --unfinished")
    lines.append("违规 codes: " + (", ".join(f"{k}={v}" for k, v in s.codes.most_common()) or "无"))
    lines.append(f"按{s.bucket} per {s.bucket}:")
    for key, b in sorted(s.by_bucket.items()):
        dec = " ".join(f"{k}={v}" for k, v in sorted(b["decisions"].items()))
        codes = " ".join(f"{k}={v}" for k, v in sorted(b["codes"].items()))
        lines.append(f"  {key}  {dec}  | {codes}")
    return "\n".join(lines) + "\n"
