"""Policy test cases: PASS/FAIL per case, file:line for bad case files, the shipped cases all pass."""

from __future__ import annotations

from pathlib import Path

import pytest

from guard.policy.cases import load_cases, run_cases, run_policy_tests
from guard.policy.errors import PolicyError
from guard.policy.loader import DEFAULT_POLICY_DIR, load_policy_set
from tests.policy.conftest import BASE_POLICY, write

RECORDS = "records:\n  zf: {customer_id: C1, name: 张飞, gender: male}\n"


def _run(tmp_path: Path, cases: str) -> list[tuple[str, bool, str]]:
    write(tmp_path, {"p.yaml": BASE_POLICY.format(sentence_max=12) + "cases: p.cases.yaml\n", "p.cases.yaml": cases})
    results, problems = run_policy_tests(load_policy_set(tmp_path))
    assert problems == []
    return [(r.case, r.passed, r.message) for r in results]


@pytest.mark.parametrize(
    ("case", "passed", "message"),
    [
        ("{name: ok, record: zf, reply: 您好。, decision: allow, codes: []}", True, ""),
        ("{name: cut, record: zf, reply: 您好。这一句话的长度明显超过了十二个字。, decision: revise, codes: [length.sentence], released: 您好。}", True, ""),
        ("{name: wrong decision, record: zf, reply: 您好。, decision: block, codes: []}", False, "决定 decision: 期望 block，实际 allow"),
        ("{name: missing code, record: zf, reply: 您好。这一句话的长度明显超过了十二个字。, decision: revise, codes: []}", False, "违规 codes: 期望 [无]，实际 [length.sentence]"),
        ("{name: released, record: zf, reply: 您好。这一句话的长度明显超过了十二个字。, decision: revise, codes: [length.sentence], released: 您好}", False, "放行文字 released 与期望不同"),
        ("{name: bad record, record: {customer_id: C1, name: 张飞, gender: man}, reply: 您好。, decision: allow, codes: []}", False, "record: record.gender:"),
    ],
)
def test_case_outcomes(tmp_path: Path, case: str, passed: bool, message: str) -> None:
    [(_name, ok, msg)] = _run(tmp_path, f"{RECORDS}cases:\n  - {case}\n")
    assert ok is passed
    assert message in msg if message else msg == ""


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("cases:\n  - {name: a, record: zf, reply: x, decison: allow, codes: []}\n", 2, "cases.0.decison: unknown field"),
        ("cases:\n  - name: a\n    record: nobody\n    reply: x\n    decision: allow\n    codes: []\n", 3, "cases.0.record: no record named 'nobody'"),
        ("cases:\n  - {name: a, record: zf, reply: x, decision: maybe, codes: []}\n", 2, "cases.0.decision: Input should be 'allow', 'revise' or 'block'"),
        ("cases:\n  - {name: a, record: zf, reply: x, decision: allow}\n", 2, "cases.0.codes: required field is missing"),
        ("cases: []\n", 1, "cases: Tuple should have at least 1 item"),
        ("cases:\n  - {name: a, record: zf, reply: x, decision: allow, codes: []}\n  - {name: a, record: zf, reply: y, decision: allow, codes: []}\n", 3, "cases.1.name: duplicate case name (用例名重复; first on line 4)"),
    ],
)
def test_bad_case_files_report_file_and_line(tmp_path: Path, text: str, line: int, message: str) -> None:
    path = tmp_path / "x.cases.yaml"
    path.write_text(("records:\n  zf: {customer_id: C1, name: 张飞, gender: male}\n" if "zf" in text else "") + text, encoding="utf-8")
    offset = 2 if "zf" in text else 0
    with pytest.raises(PolicyError) as info:
        load_cases(path)
    [problem] = [p for p in info.value.problems if message in str(p)]
    assert problem.line == line + offset


def test_case_file_for_another_policy_fails(tmp_path: Path) -> None:
    [(_name, ok, msg)] = _run(tmp_path, f"policy: other\n{RECORDS}cases:\n  - {{name: a, record: zf, reply: 您好。, decision: allow, codes: []}}\n")
    assert not ok and "not 'base'" in msg


def test_run_cases_reports_the_line_of_each_case(tmp_path: Path) -> None:
    write(tmp_path, {"p.yaml": BASE_POLICY.format(sentence_max=12), "c.cases.yaml": f"{RECORDS}cases:\n  - {{name: a, record: zf, reply: 您好。, decision: allow, codes: []}}\n"})
    cases, doc = load_cases(tmp_path / "c.cases.yaml")
    [result] = run_cases(load_policy_set(tmp_path).select(), cases, doc)
    assert result.line == 4 and result.passed


def test_every_shipped_policy_has_cases_and_they_all_pass() -> None:
    policies = load_policy_set(DEFAULT_POLICY_DIR)
    results, problems = run_policy_tests(policies)
    assert problems == []
    assert {r.policy for r in results} == set(policies.policies)
    failed = [(r.policy, r.case, r.message) for r in results if not r.passed]
    assert failed == []


def test_shipped_scenarios_and_segments_are_selected() -> None:
    policies = load_policy_set(DEFAULT_POLICY_DIR)
    assert policies.select().name == "outbound_marketing"
    assert policies.select(segment="first_loan").name == "marketing_first_loan"
    assert policies.select(segment="repeat_loan").name == "marketing_repeat_loan"
    assert policies.select(segment="no_balance").name == "marketing_no_balance"
    for scenario in ("customer_service", "collection", "asset_management"):
        assert policies.select(scenario, segment="repeat_loan").doc.scenario == scenario
