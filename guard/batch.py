"""`guard check --batch`: JSON Lines in, JSON Lines out, one output line per input line (contract §6)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from typing import Any, TextIO

from pydantic import ValidationError

from guard.engine import evaluate
from guard.policy.model import PolicySet
from guard.types import CustomerRecord
from guard.validation import describe_validation_error

__all__ = ["check_case", "run_batch"]


class CaseError(ValueError):
    """A batch line that cannot be processed; the message names what is wrong, `code` what kind of
    problem it is, in the proxy's error codes (`POST /v1/guard/check` answers 422 with it)."""

    def __init__(self, message: str, code: str = "invalid_request") -> None:
        super().__init__(message)
        self.code = code


def check_case(case: Any, policies: PolicySet, today: dt.date | None = None) -> dict[str, Any]:
    """Evaluate one parsed batch line (campaigns in force on `today`); raise `CaseError` when malformed."""
    if not isinstance(case, dict):
        raise CaseError("a line must be a JSON object with record and reply")
    reply = case.get("reply")
    if not isinstance(reply, str):
        raise CaseError("reply: required, must be a string")
    if "record" not in case:
        raise CaseError("record: required field is missing")
    try:
        record = CustomerRecord.model_validate(case["record"])
    except ValidationError as exc:
        raise CaseError(describe_validation_error(exc, "record"), "invalid_record") from None
    name = case.get("policy")
    if name is not None and not isinstance(name, str):
        raise CaseError("policy: must be a policy name (string)")
    try:
        policy = policies.select(name, record.segment)
    except KeyError as exc:
        raise CaseError(f"policy: {exc.args[0]}", "unknown_policy") from None
    verdict = evaluate(policy, record, reply, today=today)
    return verdict.to_json(case.get("id"), with_id=True)


def run_batch(lines: Iterable[str], policies: PolicySet, out: TextIO, *, today: dt.date | None = None) -> int:
    """Process every line; return 0 when all were processed, 2 when any was malformed."""
    status = 0
    for lineno, line in enumerate(lines, start=1):
        case_id: Any = None
        try:
            try:
                case = json.loads(line)
            except json.JSONDecodeError as exc:
                raise CaseError(f"line {lineno}: not valid JSON ({exc.msg} at column {exc.colno})") from None
            if isinstance(case, dict):
                case_id = case.get("id")
            result = check_case(case, policies, today)
        except CaseError as exc:
            status = 2
            result = {"id": case_id, "error": str(exc)}
        out.write(json.dumps(result, ensure_ascii=False) + "\n")
        out.flush()
    return status
