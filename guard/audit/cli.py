"""`guard audit query | show | verify | export | stats` — read-only views of the ledger."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from guard.audit.ledger import AuditLedger, LedgerError, LedgerFilters, default_ledger_target, open_ledger
from guard.audit.query import export, format_rows, parse_time, render_show, render_stats, show, stats, verify
from guard.audit.record import OPEN_DECISION

__all__ = ["add_audit_command"]

EXIT_OK, EXIT_BROKEN, EXIT_USAGE = 0, 1, 2


class AuditCliError(Exception):
    """A user error: one line on stderr, exit 2."""


def _open(args: argparse.Namespace) -> AuditLedger:
    try:
        return open_ledger(args.ledger or default_ledger_target(), create=False)
    except LedgerError as exc:
        raise AuditCliError(str(exc)) from None


def _filters(args: argparse.Namespace, *, limit: int | None = None) -> LedgerFilters:
    try:
        return LedgerFilters(
            since=parse_time(args.since) if args.since else None,
            until=parse_time(args.until) if args.until else None,
            decision=args.decision,
            code=args.code,
            policy=args.policy,
            policy_version=args.policy_version,
            customer_id=args.customer,
            caller=args.caller,
            limit=limit,
            newest_first=getattr(args, "newest_first", False),
            unfinished=getattr(args, "unfinished", False),
        ).check()
    except ValueError as exc:
        raise AuditCliError(str(exc)) from None


def cmd_query(args: argparse.Namespace) -> int:
    with _open(args) as ledger:
        for chunk in format_rows(ledger.rows(_filters(args, limit=args.limit)), args.format):
            sys.stdout.write(chunk)
    return EXIT_OK


def cmd_show(args: argparse.Namespace) -> int:
    with _open(args) as ledger:
        recs = show(ledger, args.trace_id)
    if not recs:
        raise AuditCliError(f"no record for trace {args.trace_id}")
    sys.stdout.write(
        json.dumps(recs, ensure_ascii=False, indent=2) + "\n" if args.json else render_show(recs)
    )
    return EXIT_OK


def cmd_verify(args: argparse.Namespace) -> int:
    with _open(args) as ledger:
        rep = verify(ledger)
    if args.json:
        print(json.dumps(rep.to_json(), ensure_ascii=False))
    elif rep.ok:
        print(f"OK: {rep.checked} records, chain intact; head seq {rep.head_seq} hash {rep.head_hash}")
    else:
        b = rep.broken
        assert b is not None
        print(f"BROKEN at record {b.seq} (trace {b.trace_id}): {b.reason}")
        print(f"{rep.checked} records verified before it; last good seq {rep.head_seq} hash {rep.head_hash}")
    return EXIT_OK if rep.ok else EXIT_BROKEN


def cmd_export(args: argparse.Namespace) -> int:
    with _open(args) as ledger:
        f = _filters(args)
        if args.output in (None, "-"):
            n = export(ledger, sys.stdout, fmt=args.format, filters=f)
        else:
            with open(args.output, "w", encoding="utf-8", newline="") as out:
                n = export(ledger, out, fmt=args.format, filters=f)
    print(f"exported {n} records", file=sys.stderr)
    return EXIT_OK


def cmd_stats(args: argparse.Namespace) -> int:
    with _open(args) as ledger:
        s = stats(ledger, bucket=args.bucket, filters=_filters(args))
    sys.stdout.write(json.dumps(s.to_json(), ensure_ascii=False) + "\n" if args.json else render_stats(s))
    return EXIT_OK


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--ledger",
        metavar="PATH_OR_DSN",
        help="SQLite file or postgresql:// DSN (default: $GUARD_LEDGER or ./var/guard-ledger.db)",
    )


def _filter_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--since", help="from this time (ISO 8601 UTC, unix seconds, or 30m / 2h / 7d ago)")
    p.add_argument("--until", help="before this time (same forms)")
    p.add_argument(
        "--decision",
        choices=("allow", "revise", "block", "error", OPEN_DECISION),
        help=f"{OPEN_DECISION}: a stream's open record (its final record has the stream's decision)",
    )
    p.add_argument("--code", help="a violation code, e.g. fact.credit_line")
    p.add_argument("--policy", help="policy name")
    p.add_argument("--policy-version", help="policy version hash")
    p.add_argument("--customer", help="customer id")
    p.add_argument("--caller", help="calling service / key name")


def _unfinished_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--unfinished",
        action="store_true",
        help="only streams opened without a final record: their open records (the guard stopped "
        "before the stream ended, or it is still running)",
    )


def _run(func: Any) -> Any:
    def wrapped(args: argparse.Namespace) -> int:
        try:
            status: int = func(args)
        except AuditCliError as exc:
            print(f"guard audit: {exc}", file=sys.stderr)
            return EXIT_USAGE
        except LedgerError as exc:
            print(f"guard audit: {exc}", file=sys.stderr)
            return EXIT_USAGE
        return status

    return wrapped


def add_audit_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `guard audit …` on the top-level subparsers."""
    p = sub.add_parser("audit", help="query, show, verify and export the decision ledger (read-only)")
    asub = p.add_subparsers(dest="audit_command", required=True)

    q = asub.add_parser("query", help="list decisions matching filters")
    _common(q)
    _filter_args(q)
    q.add_argument("--limit", type=int, default=None)
    q.add_argument("--newest-first", action="store_true")
    _unfinished_arg(q)
    q.add_argument("--format", choices=("table", "json", "jsonl", "csv"), default="table")
    q.set_defaults(func=_run(cmd_query))

    s = asub.add_parser(
        "show",
        help="the whole decision of one trace: attempts, checks, violations, masked original vs released "
        "(a stream: its open record, then its final record)",
    )
    _common(s)
    s.add_argument("trace_id")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=_run(cmd_show))

    v = asub.add_parser(
        "verify", help="walk the hash chain; exit 1 and name the first broken link if it is broken"
    )
    _common(v)
    v.add_argument("--json", action="store_true")
    v.set_defaults(func=_run(cmd_verify))

    e = asub.add_parser("export", help="export records with their chain fields (JSON Lines or CSV)")
    _common(e)
    _filter_args(e)
    _unfinished_arg(e)
    e.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    e.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")
    e.set_defaults(func=_run(cmd_export))

    st = asub.add_parser(
        "stats", help="counts per decision and violation code over time; streams opened without a final record"
    )
    _common(st)
    _filter_args(st)
    st.add_argument("--bucket", choices=("hour", "day", "month", "all"), default="day")
    st.add_argument("--json", action="store_true")
    st.set_defaults(func=_run(cmd_stats))
