"""Policy test cases stored beside each policy (OPA-style), run by `guard policy test`.

A policy names its case file with `cases: name.cases.yaml`. Each case gives a customer record (inline,
or the name of an entry under `records:`), a reply, and what the policy must decide: `decision`,
the violation `codes` (compared as a set; `[]` for none) and optionally the `released` text.
`today:` evaluates the case on that date, so campaign wording can be tested; without it no
campaign applies. The case file is not part of the policy version.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from guard.engine import evaluate
from guard.policy.errors import PolicyError, Problem
from guard.policy.model import Policy, PolicySet
from guard.policy.yamlsrc import YamlDoc, parse_yaml
from guard.types import CustomerRecord, Decision
from guard.validation import describe_validation_error

__all__ = ["CaseResult", "CasesFile", "PolicyCase", "cases_path", "load_cases", "run_cases", "run_policy_tests"]


class PolicyCase(BaseModel):
    """一条测试用例：客户信息、模型回复、期望的处理结果。"""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, description="用例名称（文件内唯一）")
    record: dict[str, Any] | str = Field(description="客户信息（CRM 记录），或 records 里的名字")
    reply: str = Field(description="模型的回复")
    decision: Decision = Field(description="期望的决定：allow / revise / block")
    codes: tuple[str, ...] = Field(description="期望的违规代码（不计顺序和重复）；没有违规写 []")
    released: str | None = Field(default=None, description="可选：期望放行的文字")
    today: dt.date | None = Field(default=None, description="可选：按这一天评估（测试活动期间的话术）")


class CasesFile(BaseModel):
    """用例文件的结构。"""

    model_config = ConfigDict(extra="forbid", frozen=True)

    policy: str | None = Field(default=None, description="可选：这些用例所属的策略名（写了就必须一致）")
    records: dict[str, dict[str, Any]] = Field(default_factory=dict, description="可复用的客户信息，按名字引用")
    cases: tuple[PolicyCase, ...] = Field(min_length=1, description="用例列表")


@dataclass(frozen=True, slots=True)
class CaseResult:
    """The outcome of one case: `passed`, and what was expected and found (codes, not texts)."""

    policy: str
    case: str
    file: str
    line: int | None
    passed: bool
    expected_decision: str
    expected_codes: tuple[str, ...]
    actual_decision: str | None
    actual_codes: tuple[str, ...]
    message: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "case": self.case,
            "file": self.file,
            "line": self.line,
            "result": "PASS" if self.passed else "FAIL",
            "expected": {"decision": self.expected_decision, "codes": list(self.expected_codes)},
            "actual": {"decision": self.actual_decision, "codes": list(self.actual_codes)},
            "message": self.message,
        }


def load_cases(path: Path) -> tuple[CasesFile, YamlDoc]:
    """Parse and validate a case file; raise `PolicyError` with file:line problems."""
    label = str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise PolicyError([Problem(label, None, "", f"cannot read test case file: {exc.strerror}")]) from None
    except UnicodeDecodeError as exc:
        raise PolicyError([Problem(label, None, "", f"not UTF-8 (byte {exc.start})")]) from None
    doc = parse_yaml(label, text)
    if not isinstance(doc.data, dict):
        raise PolicyError([Problem(label, 1, "", "a test case file must be a mapping with `cases:`")])
    try:
        cases = CasesFile.model_validate(doc.data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False, include_input=False):
            loc = tuple(p for p in err["loc"] if isinstance(p, str | int))
            msg = {"extra_forbidden": "unknown field", "missing": "required field is missing"}.get(err["type"], err["msg"])
            problems.append(doc.problem(loc, msg))
        raise PolicyError(problems) from None
    problems = [
        doc.problem(("cases", i, "record"), f"no record named {c.record!r} under records:")
        for i, c in enumerate(cases.cases)
        if isinstance(c.record, str) and c.record not in cases.records
    ]
    first: dict[str, int] = {}
    for i, c in enumerate(cases.cases):
        if c.name in first:
            line = doc.line_of(("cases", first[c.name], "name"))
            problems.append(doc.problem(("cases", i, "name"), f"duplicate case name (用例名重复; first on line {line})"))
        first.setdefault(c.name, i)
    if problems:
        raise PolicyError(problems)
    return cases, doc


def _differences(case: PolicyCase, decision: Decision, codes: set[str], released: str | None) -> list[str]:
    out = []
    if decision is not case.decision:
        out.append(f"决定 decision: 期望 {case.decision.value}，实际 {decision.value}")
    if codes != set(case.codes):
        want = ", ".join(sorted(set(case.codes))) or "无"
        got = ", ".join(sorted(codes)) or "无"
        out.append(f"违规 codes: 期望 [{want}]，实际 [{got}]")
    if "released" in case.model_fields_set and released != case.released:
        out.append("放行文字 released 与期望不同")
    return out


def run_cases(policy: Policy, cases: CasesFile, doc: YamlDoc) -> list[CaseResult]:
    """Run every case of `cases` against `policy`; one PASS/FAIL result per case."""
    results = []
    if cases.policy is not None and cases.policy != policy.name:
        line = doc.line_of(("policy",))
        return [
            CaseResult(policy.name, "(file)", doc.file, line, False, "-", (), None, (),
                       f"case file is for policy {cases.policy!r}, not {policy.name!r}")
        ]
    for i, case in enumerate(cases.cases):
        line = doc.line_of(("cases", i))
        raw = cases.records[case.record] if isinstance(case.record, str) else case.record
        expected = (case.decision.value, tuple(sorted(set(case.codes))))
        try:
            record = CustomerRecord.model_validate(raw)
        except ValidationError as exc:
            results.append(
                CaseResult(policy.name, case.name, doc.file, line, False, *expected, None, (),
                           f"record: {describe_validation_error(exc, 'record')}")
            )
            continue
        verdict = evaluate(policy, record, case.reply, today=case.today)
        codes = set(verdict.codes)
        diffs = _differences(case, verdict.decision, codes, verdict.released)
        results.append(
            CaseResult(policy.name, case.name, doc.file, line, not diffs, *expected,
                       verdict.decision.value, tuple(sorted(codes)), "；".join(diffs))
        )
    return results


def cases_path(policy: Policy) -> Path | None:
    """The case file a policy names, resolved beside the policy file."""
    if policy.doc.cases is None or policy.source is None:
        return None
    return policy.source.parent / policy.doc.cases


def run_policy_tests(policies: PolicySet | Iterable[Policy]) -> tuple[list[CaseResult], list[Problem]]:
    """Run the cases of every policy that names a case file; invalid case files are problems."""
    items = policies.policies.values() if isinstance(policies, PolicySet) else policies
    results: list[CaseResult] = []
    problems: list[Problem] = []
    for policy in sorted(items, key=lambda p: p.name):
        path = cases_path(policy)
        if path is None:
            continue
        try:
            cases, doc = load_cases(path)
        except PolicyError as exc:
            problems.extend(exc.problems)
            continue
        results.extend(run_cases(policy, cases, doc))
    return results, problems
