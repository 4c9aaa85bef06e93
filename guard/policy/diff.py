"""`guard policy diff OLD NEW --corpus FILE`: how an edit changes decisions, before it goes live.

The corpus is JSON Lines of `{"id"?, "record", "reply", "policy"?, "today"?}` (the batch format).
Each line is evaluated under both policy sets (policy picked by name, else segment, else default;
campaigns by `today`, else the date given); the report counts allow/revise/block under each and
lists every line whose decision or violation codes changed. Reply texts are never printed.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from guard.engine import evaluate
from guard.policy.model import PolicySet
from guard.types import CustomerRecord, Decision, Verdict
from guard.validation import describe_validation_error

__all__ = ["CorpusError", "DiffReport", "LineChange", "diff_corpus", "render_diff"]


@dataclass(frozen=True, slots=True)
class LineChange:
    """One corpus line whose outcome differs between OLD and NEW."""

    line: int
    id: Any
    old_decision: str
    new_decision: str
    old_codes: tuple[str, ...]
    new_codes: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "id": self.id,
            "old": {"decision": self.old_decision, "codes": list(self.old_codes)},
            "new": {"decision": self.new_decision, "codes": list(self.new_codes)},
        }


@dataclass(frozen=True, slots=True)
class CorpusError:
    """A corpus line that could not be evaluated (it is skipped under both sets)."""

    line: int
    message: str


@dataclass
class DiffReport:
    """Decision counts under each set, the lines that changed, and malformed lines."""

    old_version: str
    new_version: str
    total: int = 0
    old_counts: Counter[str] = field(default_factory=Counter)
    new_counts: Counter[str] = field(default_factory=Counter)
    changes: list[LineChange] = field(default_factory=list)
    errors: list[CorpusError] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        decisions = [d.value for d in Decision]
        return {
            "old_version": self.old_version,
            "new_version": self.new_version,
            "total": self.total,
            "old": {d: self.old_counts[d] for d in decisions},
            "new": {d: self.new_counts[d] for d in decisions},
            "changed": [c.to_json() for c in self.changes],
            "errors": [{"line": e.line, "error": e.message} for e in self.errors],
        }


def _codes(verdict: Verdict) -> tuple[str, ...]:
    return tuple(sorted(set(verdict.codes)))


def _parse(line: str) -> tuple[Any, CustomerRecord, str, str | None, dt.date | None]:
    try:
        case = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(case, dict):
        raise ValueError("a line must be a JSON object with record and reply")
    reply = case.get("reply")
    if not isinstance(reply, str):
        raise ValueError("reply: required, must be a string")
    try:
        record = CustomerRecord.model_validate(case.get("record"))
    except ValidationError as exc:
        raise ValueError(describe_validation_error(exc, "record")) from None
    name = case.get("policy")
    if name is not None and not isinstance(name, str):
        raise ValueError("policy: must be a policy name (string)")
    today = None
    if case.get("today") is not None:
        try:
            today = dt.date.fromisoformat(str(case["today"]))
        except ValueError:
            raise ValueError("today: must be a date like 2026-11-11") from None
    return case.get("id"), record, reply, name, today


def diff_corpus(old: PolicySet, new: PolicySet, lines: Iterable[str], *, today: dt.date | None = None) -> DiffReport:
    """Evaluate every corpus line under `old` and `new` and compare decisions and codes."""
    report = DiffReport(old.version, new.version)
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            case_id, record, reply, name, day = _parse(line)
            day = day or today
            old_policy = old.select(name, record.segment)
            new_policy = new.select(name, record.segment)
        except (ValueError, KeyError) as exc:
            report.errors.append(CorpusError(lineno, str(exc.args[0]) if exc.args else type(exc).__name__))
            continue
        a = evaluate(old_policy, record, reply, today=day)
        b = evaluate(new_policy, record, reply, today=day)
        report.total += 1
        report.old_counts[a.decision.value] += 1
        report.new_counts[b.decision.value] += 1
        if a.decision is not b.decision or _codes(a) != _codes(b):
            report.changes.append(LineChange(lineno, case_id, a.decision.value, b.decision.value, _codes(a), _codes(b)))
    return report


def render_diff(report: DiffReport) -> str:
    """A readable, Chinese-first report."""
    out = [
        f"旧 OLD {report.old_version}  →  新 NEW {report.new_version}",
        f"语料 corpus: {report.total} 条 lines" + (f"，{len(report.errors)} 条无法解析 malformed" if report.errors else ""),
        "",
        f"{'决定 decision':<14}{'旧 old':>8}{'新 new':>8}{'变化 Δ':>8}",
    ]
    for d in Decision:
        o, n = report.old_counts[d.value], report.new_counts[d.value]
        out.append(f"{d.value:<14}{o:>8}{n:>8}{n - o:>+8}")
    out.append("")
    if not report.changes:
        out.append("没有任何一条的决定或违规代码发生变化 / no line changed")
    else:
        out.append(f"变化的条目 changed lines ({len(report.changes)}):")
        for c in report.changes:
            label = f"line {c.line}" + (f" id={c.id}" if c.id is not None else "")
            old = f"{c.old_decision} [{', '.join(c.old_codes)}]"
            new = f"{c.new_decision} [{', '.join(c.new_codes)}]"
            out.append(f"  {label}: {old} → {new}")
    for e in report.errors:
        out.append(f"  line {e.line}: 无法解析 malformed: {e.message}")
    return "\n".join(out)
