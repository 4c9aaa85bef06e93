"""The `guard` command line: check | demo | serve | crm | policy | audit.

Commands are listed in `COMMANDS` (an explicit registry, like the checks); a test keeps the docs
honest by requiring every command to be documented in README.md.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from pydantic import ValidationError

from guard.audit.cli import add_audit_command
from guard.batch import run_batch
from guard.engine import evaluate
from guard.policy.commands import add_policy_command
from guard.policy.dates import business_today
from guard.policy.errors import PolicyError
from guard.policy.loader import load_policy_set
from guard.policy.model import PolicySet
from guard.proxy.settings import ConfigError, GuardSettings
from guard.types import CustomerRecord, Verdict
from guard.validation import describe_validation_error

__all__ = ["COMMANDS", "main"]

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


class CliError(Exception):
    """A user error: printed as one line on stderr, exit status 2, never a traceback."""


def _load_policies(path: str | None) -> PolicySet:
    try:
        return load_policy_set(path)
    except PolicyError as exc:
        raise CliError(f"invalid policy:\n{exc}") from None


def _read_record(args: argparse.Namespace) -> CustomerRecord:
    if args.record is None:
        raise CliError("--record FILE (a JSON customer record) is required to check one reply")
    try:
        text = sys.stdin.read() if args.record == "-" else Path(args.record).read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise CliError(f"cannot read record {args.record}: {exc.strerror}") from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CliError(f"record {args.record}: not valid JSON ({exc.msg}, line {exc.lineno})") from None
    try:
        return CustomerRecord.model_validate(raw)
    except ValidationError as exc:
        raise CliError(f"record {args.record}: {describe_validation_error(exc, 'record')}") from None


def render_verdict(reply: str, verdict: Verdict) -> str:
    """A readable, Chinese-first rendering of one verdict."""
    lines = [
        f"决定 decision : {verdict.decision.value}",
        f"策略 policy   : {verdict.policy} ({verdict.policy_version})",
        f"放行 released : {verdict.released if verdict.released is not None else '（不放行任何文字）'}",
    ]
    if not verdict.violations:
        lines.append("违规 findings : 无")
    else:
        lines.append("违规 findings :")
        for f in verdict.violations:
            tier = f" tier{f.tier}" if f.tier is not None else ""
            lines.append(f"  - {f.code}{tier} [{f.start}:{f.end}] {f.action.value}: {f.detail}")
    return "\n".join(lines)


def cmd_check(args: argparse.Namespace) -> int:
    policies = _load_policies(args.policy)
    if args.batch is not None:
        if args.text:
            raise CliError("give either --batch FILE or a reply text, not both")
        if args.batch == "-":
            return run_batch(sys.stdin, policies, sys.stdout, today=business_today())
        try:
            with open(args.batch, encoding="utf-8-sig") as fh:
                return run_batch(fh, policies, sys.stdout, today=business_today())
        except OSError as exc:
            raise CliError(f"cannot read {args.batch}: {exc.strerror}") from None
    record = _read_record(args)
    reply = sys.stdin.read() if args.text in (None, "-") else args.text
    try:
        policy = policies.select(args.policy_name, record.segment)
    except KeyError as exc:
        raise CliError(str(exc.args[0])) from None
    verdict = evaluate(policy, record, reply, today=business_today())  # campaigns in force today (Beijing date)
    if args.json:
        print(json.dumps(verdict.to_json(), ensure_ascii=False))
    else:
        print(render_verdict(reply, verdict))
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    if args.offline:
        from guard.demo.offline import run_offline_demo

        return run_offline_demo(_load_policies(args.policy), sys.stdout)
    from guard.demo.live import run_live_demo

    _load_policies(args.policy)  # a broken policy is a one-line error before anything starts
    try:
        result = run_live_demo(sys.stdout, workdir=Path(args.workdir) if args.workdir else None, policy_path=args.policy)
    except KeyboardInterrupt:
        print("\nguard demo: interrupted; everything it started is stopped", file=sys.stderr)
        return 130
    if not result.ok:
        print("guard demo: some scenarios did not end as expected, or the ledger did not verify", file=sys.stderr)
    return EXIT_OK if result.ok else EXIT_FAIL


_SERVE_OPTIONS = {"host": "--host", "port": "--port", "policy_path": "--policy", "upstream_base_url": "--upstream",
                  "workers": "--workers"}
"""The settings `guard serve`'s command-line options set, and each option's name."""


def _serve_overrides(args: argparse.Namespace) -> dict[str, object]:
    """The settings `guard serve`'s command-line options set (over the file and the environment)."""
    return {
        k: v
        for k, v in {"host": args.host, "port": args.port, "policy_path": args.policy,
                     "upstream_base_url": args.upstream, "workers": getattr(args, "workers", None)}.items()
        if v is not None
    }


def _serve_settings(args: argparse.Namespace) -> GuardSettings:
    from guard.proxy.settings import load_settings

    try:
        return load_settings(args.config, option_names=_SERVE_OPTIONS, **_serve_overrides(args))
    except ConfigError as exc:  # one line naming each setting and where it came from, never a value
        raise CliError(str(exc)) from None


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from guard.proxy.app import create_app
    from guard.proxy.server import log_config, server_options

    settings = _serve_settings(args)
    if settings.auth_enabled and not settings.api_keys:
        raise CliError("no API keys configured: set api_keys (see docs/operations.md), or auth_enabled: false for a local trial")
    if settings.workers > 1:
        return _serve_workers(args, settings)
    try:
        app = create_app(settings)
    except PolicyError as exc:
        raise CliError(f"invalid policy:\n{exc}") from None
    except ConfigError as exc:  # a ledger or CRM table that cannot be opened, a CRM source without its URL
        raise CliError(str(exc)) from None
    uvicorn.run(app, log_config=log_config(args.log_level),
                **server_options(host=settings.host, port=settings.port, log_level=args.log_level))
    return EXIT_OK


def _serve_workers(args: argparse.Namespace, settings: GuardSettings) -> int:
    """`guard serve` with `workers` > 1: a worker process per `workers`, each on its own socket."""
    import os

    from guard.proxy.server import WORKER_SETTINGS_ENV, log_config, serve_workers, server_options

    os.environ[WORKER_SETTINGS_ENV] = json.dumps({"config_file": args.config, "overrides": _serve_overrides(args)})
    options = {**server_options(host=settings.host, port=settings.port, log_level=args.log_level),
               "log_config": log_config(args.log_level)}
    try:
        status = serve_workers(settings.workers, options)  # until SIGINT or SIGTERM
    except OSError as exc:
        raise CliError(f"cannot listen on {settings.host}:{settings.port}: {exc.strerror or exc}") from None
    if status != 0:
        raise CliError("a worker process could not start (its error is logged above); nothing is served")
    return EXIT_OK


def cmd_crm_import(args: argparse.Namespace) -> int:
    from guard.crm.sqlite import CrmImportError, import_records

    db = args.db or _serve_settings(argparse.Namespace(config=args.config, host=None, port=None, policy=None,
                                                        upstream=None)).crm_sqlite_path
    try:
        count = import_records(db, args.file)
    except CrmImportError as exc:
        raise CliError(f"nothing imported:\n{exc}") from None
    except OSError as exc:
        raise CliError(f"cannot import into {db}: {exc.strerror}") from None
    print(f"imported {count} customer records into {db}")
    return EXIT_OK


def _add_serve(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("serve", help="run the OpenAI-compatible guard proxy (contract §7)")
    p.add_argument("--config", metavar="FILE", help="settings file (YAML); default: $GUARD_CONFIG_FILE")
    p.add_argument("--host", help="listen address (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="listen port (default 8080)")
    p.add_argument("--policy", metavar="PATH", help="policy file or folder (default: the shipped policies/)")
    p.add_argument("--upstream", metavar="URL", help="upstream base URL, e.g. http://127.0.0.1:8000/v1")
    p.add_argument("--workers", type=int, metavar="N",
                   help="serving processes on the one port (default 1; about one per core, see docs/operations.md)")
    p.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    p.set_defaults(func=cmd_serve)


def _add_crm(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("crm", help="manage the embedded CRM table")
    crm = p.add_subparsers(dest="crm_command", required=True)
    imp = crm.add_parser("import", help="import customers.csv or customers.jsonl (all rows valid, or nothing)")
    imp.add_argument("file", help="a .csv (header row; coupons as JSON) or .jsonl file of customer records")
    imp.add_argument("--db", metavar="PATH", help="SQLite file (default: the crm_sqlite_path setting)")
    imp.add_argument("--config", metavar="FILE", help="settings file (YAML)")
    imp.set_defaults(func=cmd_crm_import)


def _add_check(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("check", help="check one reply, or a JSONL batch (contract §6)")
    p.add_argument("text", nargs="?", help="the reply to check ('-' or omitted: read stdin)")
    p.add_argument("--record", help="customer record JSON file ('-' for stdin)")
    p.add_argument("--batch", metavar="FILE", help="JSON Lines of {id, record, reply, policy?} ('-' for stdin)")
    p.add_argument("--policy", metavar="PATH", help="policy file or folder (default: the shipped policies/)")
    p.add_argument("--policy-name", metavar="NAME", help="pick a policy of the set by name")
    p.add_argument("--json", action="store_true", help="print the verdict as JSON")
    p.set_defaults(func=cmd_check)


def _add_demo(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "demo",
        help="the proxy end to end: scripted model → guard → openai client, a table, then the audit trail",
    )
    p.add_argument("--policy", metavar="PATH", help="policy file or folder (default: the shipped policies/)")
    p.add_argument("--offline", action="store_true",
                   help="no servers: only run the bundled sample replies through the policy")
    p.add_argument("--workdir", metavar="DIR",
                   help="keep the run's ledger and CRM table here, e.g. var/demo (default: a temporary folder)")
    p.set_defaults(func=cmd_demo)


COMMANDS: dict[str, Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None]] = {
    "check": _add_check,
    "demo": _add_demo,
    "serve": _add_serve,
    "crm": _add_crm,
    "policy": add_policy_command,
    "audit": add_audit_command,
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="guard", description="Compliance guard for Chinese financial LLM replies")
    sub = parser.add_subparsers(dest="command", required=True)
    for add in COMMANDS.values():
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        status: int = args.func(args)
    except CliError as exc:
        print(f"guard: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # `guard check --batch … | head` must not print a traceback
        return EXIT_OK
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
