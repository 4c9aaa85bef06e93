"""`guard policy validate | test | diff | explain | history` (added to `guard.cli.COMMANDS`).

Exit status: 0 success; 1 invalid policy, failed or missing tests; 2 usage or input errors
(and `diff` when a corpus line was malformed).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

from pydantic import ValidationError

from guard.policy.cases import run_policy_tests
from guard.policy.dates import business_today
from guard.policy.diff import diff_corpus, render_diff
from guard.policy.errors import PolicyError, Problem
from guard.policy.explain import explain, render_explanation
from guard.policy.history import read_jsonl_rows, render_history, version_history
from guard.policy.loader import DEFAULT_POLICY_DIR, load_policy_set
from guard.policy.model import PolicySet
from guard.types import CustomerRecord
from guard.validation import describe_validation_error

__all__ = ["add_policy_command"]

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


class _UsageError(Exception):
    pass


def _err(msg: str) -> None:
    print(f"guard policy: {msg}", file=sys.stderr)


def _print_problems(problems: list[Problem]) -> None:
    for p in problems:
        print(f"ERROR {p}")


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date: {text!r} (use YYYY-MM-DD)") from None


@contextmanager
def _open(path: str) -> Iterator[TextIO]:
    if path == "-":
        yield sys.stdin
        return
    try:
        fh = open(path, encoding="utf-8-sig")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise _UsageError(f"cannot read {path}: {exc.strerror}") from None
    with fh:
        yield fh


def _load(path: str | None) -> PolicySet:
    try:
        return load_policy_set(path)
    except PolicyError as exc:
        raise _UsageError(f"invalid policy {path or DEFAULT_POLICY_DIR}:\n{exc}") from None


def cmd_validate(args: argparse.Namespace) -> int:
    try:
        policies = load_policy_set(args.path)
    except PolicyError as exc:
        _print_problems(exc.problems)
        print(f"无效 INVALID: {len(exc.problems)} 个问题 problem(s)；当前在用的版本不受影响 / the serving version is unaffected")
        return EXIT_FAIL
    _, case_problems = run_policy_tests(policies) if args.cases else ([], [])
    for name, p in sorted(policies.policies.items()):
        mark = " (default)" if name == policies.default else ""
        campaigns = f"  活动 campaigns: {', '.join(c.name for c in p.doc.campaigns)}" if p.doc.campaigns else ""
        print(f"OK {name}{mark} {p.version} {p.source}{campaigns}")
    if case_problems:
        _print_problems(case_problems)
        return EXIT_FAIL
    print(f"有效 VALID: 策略集 policy set {policies.version}")
    return EXIT_OK


def cmd_test(args: argparse.Namespace) -> int:
    try:
        policies = load_policy_set(args.path)
    except PolicyError as exc:
        _print_problems(exc.problems)
        return EXIT_FAIL
    results, problems = run_policy_tests(policies)
    passed = sum(r.passed for r in results)
    failed = len(results) - passed
    if args.json:
        print(json.dumps({
            "results": [r.to_json() for r in results],
            "errors": [str(p) for p in problems],
            "passed": passed,
            "failed": failed,
        }, ensure_ascii=False))
    else:
        for r in results:
            where = f"{r.file}:{r.line}" if r.line is not None else r.file
            line = f"{'PASS' if r.passed else 'FAIL'} {r.policy}: {r.case} ({where})"
            print(line if r.passed else f"{line}\n     {r.message}")
        _print_problems(problems)
        print(f"{passed} 通过 passed, {failed} 失败 failed" + (f", {len(problems)} 个用例文件错误 case-file errors" if problems else ""))
        if not results and not problems:
            print("没有运行任何用例 / no test ran (name a case file with `cases:` in a policy)")
    return EXIT_OK if results and not failed and not problems else EXIT_FAIL


def cmd_diff(args: argparse.Namespace) -> int:
    old, new = _load(args.old), _load(args.new)
    with _open(args.corpus) as fh:
        report = diff_corpus(old, new, fh, today=args.today)
    if args.json:
        print(json.dumps(report.to_json(), ensure_ascii=False))
    else:
        print(render_diff(report))
    return EXIT_USAGE if report.errors else EXIT_OK


def _read_record(path: str) -> CustomerRecord:
    with _open(path) as fh:
        text = fh.read()
    try:
        return CustomerRecord.model_validate(json.loads(text))
    except json.JSONDecodeError as exc:
        raise _UsageError(f"record {path}: not valid JSON ({exc.msg}, line {exc.lineno})") from None
    except ValidationError as exc:
        raise _UsageError(f"record {path}: {describe_validation_error(exc, 'record')}") from None


def cmd_explain(args: argparse.Namespace) -> int:
    policies = _load(args.policy)
    record = _read_record(args.record)
    reply = sys.stdin.read() if args.text in (None, "-") else args.text
    try:
        policy = policies.select(args.policy_name, record.segment)
    except KeyError as exc:
        raise _UsageError(str(exc.args[0])) from None
    ex = explain(policy, record, reply, today=args.today)
    print(json.dumps(ex.to_json(), ensure_ascii=False) if args.json else render_explanation(ex))
    return EXIT_OK


def _ledger_rows(target: str | None) -> list[tuple[float, str, str]]:
    """One row per guarded call: each decision record, and the open record of each stream that has
    no final record (a stream's open record and final record are one call: its final one counts)."""
    from guard.audit.ledger import LedgerError, LedgerFilters, default_ledger_target, open_ledger
    from guard.audit.record import OPEN_DECISION

    where = target or default_ledger_target()
    try:
        ledger = open_ledger(where, create=False)
    except (LedgerError, OSError) as exc:
        raise _UsageError(f"cannot open ledger {where}: {exc}") from None
    try:
        rows = [(r.ts, r.policy, r.policy_version) for r in ledger.rows() if r.decision != OPEN_DECISION]
        rows += [(r.ts, r.policy, r.policy_version) for r in ledger.rows(LedgerFilters(unfinished=True))]
        return rows
    finally:
        ledger.close()


def cmd_history(args: argparse.Namespace) -> int:
    if args.records is None:
        history = version_history(_ledger_rows(args.ledger))
    else:
        with _open(args.records) as fh:
            try:
                history = version_history(read_jsonl_rows(fh))
            except ValueError as exc:
                raise _UsageError(str(exc)) from None
    if args.json:
        print(json.dumps([h.to_json() for h in history], ensure_ascii=False))
    else:
        render_history(history, sys.stdout)
    return EXIT_OK


def _guarded(func: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        try:
            return func(args)
        except _UsageError as exc:
            _err(str(exc))
            return EXIT_USAGE

    return run


def add_policy_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `guard policy …` on the top-level subparsers."""
    p = sub.add_parser("policy", help="validate, test, diff and explain policies; list versions seen")
    psub = p.add_subparsers(dest="policy_command", required=True)
    today = business_today()

    v = psub.add_parser("validate", help="validate a policy file or folder (exit 1 with file:line errors)")
    v.add_argument("path", nargs="?", help="policy file or folder (default: the shipped policies/)")
    v.add_argument("--no-cases", dest="cases", action="store_false", help="do not validate the test case files")
    v.set_defaults(func=_guarded(cmd_validate))

    t = psub.add_parser("test", help="run the test cases stored beside each policy (PASS/FAIL per case)")
    t.add_argument("path", nargs="?", help="policy file or folder (default: the shipped policies/)")
    t.add_argument("--json", action="store_true", help="print the results as JSON")
    t.set_defaults(func=_guarded(cmd_test))

    d = psub.add_parser("diff", help="how decisions change from OLD to NEW policies on a corpus of replies")
    d.add_argument("old", help="the policy file or folder serving now")
    d.add_argument("new", help="the edited policy file or folder")
    d.add_argument("--corpus", required=True, metavar="FILE", help="JSON Lines of {id?, record, reply, policy?, today?}")
    d.add_argument("--today", type=_date, default=today, help="date for campaigns (default: today in Beijing time)")
    d.add_argument("--json", action="store_true", help="print the report as JSON")
    d.set_defaults(func=_guarded(cmd_diff))

    e = psub.add_parser("explain", help="which rule fired on a reply, on which characters, and why")
    e.add_argument("text", nargs="?", help="the reply ('-' or omitted: read stdin)")
    e.add_argument("--record", required=True, help="customer record JSON file ('-' for stdin)")
    e.add_argument("--policy", metavar="PATH", help="policy file or folder (default: the shipped policies/)")
    e.add_argument("--policy-name", metavar="NAME", help="pick a policy of the set by name")
    e.add_argument("--today", type=_date, default=today, help="date for campaigns (default: today in Beijing time)")
    e.add_argument("--json", action="store_true", help="print the explanation as JSON")
    e.set_defaults(func=_guarded(cmd_explain))

    h = psub.add_parser("history", help="policy versions seen in decision records: first/last seen, count")
    h.add_argument(
        "records",
        nargs="?",
        help="JSON Lines of decision records with timestamp, policy, policy_version ('-' for stdin); "
        "omitted: read the audit ledger",
    )
    h.add_argument("--ledger", metavar="PATH_OR_DSN", help="audit ledger (default: $GUARD_LEDGER or ./var/guard-ledger.db)")
    h.add_argument("--json", action="store_true", help="print as JSON")
    h.set_defaults(func=_guarded(cmd_history))
