"""`guard policy …` end to end through `guard.cli.main`: output and exit status."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from guard.cli import main
from tests.policy.conftest import BASE_POLICY, FIXTURES, write

BROKEN = FIXTURES / "broken"
ZF = {"customer_id": "C1", "name": "张飞", "gender": "male"}


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(["policy", *argv])
    out, err = capsys.readouterr()
    return status, out, err


def test_validate_shipped_policies(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = _run(capsys, "validate")
    assert status == 0
    assert "OK outbound_marketing (default)" in out and "VALID" in out


@pytest.mark.parametrize("folder", ["yaml_syntax", "unknown_field", "wrong_type", "duplicate_keys", "duplicate_names"])
def test_validate_broken_exits_1_with_file_line(capsys: pytest.CaptureFixture[str], folder: str) -> None:
    status, out, _ = _run(capsys, "validate", str(BROKEN / folder))
    assert status == 1
    assert f"ERROR {BROKEN / folder}" in out and "INVALID" in out


def test_validate_reports_a_broken_case_file(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = _run(capsys, "validate", str(BROKEN / "bad_case_file"))
    assert status == 1
    assert f"{BROKEN / 'bad_case_file' / 'p.cases.yaml'}:5: cases.0.decison: unknown field" in out
    assert _run(capsys, "validate", "--no-cases", str(BROKEN / "bad_case_file"))[0] == 0


def test_test_shipped_policies_pass(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = _run(capsys, "test")
    assert status == 0
    assert out.count("PASS ") >= 7 and "FAIL" not in out and "0 失败 failed" in out


def test_test_json_and_failure(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    cases = "cases:\n  - {name: good, record: {customer_id: C1, name: 张飞, gender: male}, reply: 您好。, decision: allow, codes: []}\n" \
            "  - {name: bad, record: {customer_id: C1, name: 张飞, gender: male}, reply: 您好。, decision: block, codes: []}\n"
    write(tmp_path, {"p.yaml": BASE_POLICY.format(sentence_max=20) + "cases: p.cases.yaml\n", "p.cases.yaml": cases})
    status, out, _ = _run(capsys, "test", "--json", str(tmp_path))
    assert status == 1
    data = json.loads(out)
    assert [(r["case"], r["result"]) for r in data["results"]] == [("good", "PASS"), ("bad", "FAIL")]
    assert data["passed"] == 1 and data["failed"] == 1
    status, out, _ = _run(capsys, "test", str(tmp_path))
    assert status == 1 and "FAIL base: bad" in out and "期望 block，实际 allow" in out


def test_test_fails_when_no_test_ran(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    write(tmp_path, {"p.yaml": BASE_POLICY.format(sentence_max=20)})
    status, out, _ = _run(capsys, "test", str(tmp_path))
    assert status == 1 and "no test ran" in out


def test_test_fails_on_an_invalid_policy(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(capsys, "test", str(BROKEN / "wrong_type"))[0] == 1


def test_diff_command(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    old = write(tmp_path / "old", {"p.yaml": BASE_POLICY.format(sentence_max=20)})
    new = write(tmp_path / "new", {"p.yaml": BASE_POLICY.format(sentence_max=12)})
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text(json.dumps({"id": "b", "record": ZF, "reply": "您好。这一句一共有十五个字的长度吧。"}, ensure_ascii=False) + "\n", encoding="utf-8")
    status, out, _ = _run(capsys, "diff", str(old), str(new), "--corpus", str(corpus), "--json")
    assert status == 0
    assert json.loads(out)["changed"][0]["new"] == {"decision": "revise", "codes": ["length.sentence"]}
    corpus.write_text("oops\n", encoding="utf-8")
    assert _run(capsys, "diff", str(old), str(new), "--corpus", str(corpus))[0] == 2
    status, _, err = _run(capsys, "diff", str(old), str(BROKEN / "wrong_type"), "--corpus", str(corpus))
    assert status == 2 and "invalid policy" in err


def test_explain_command(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    record = tmp_path / "r.json"
    record.write_text(json.dumps({**ZF, "segment": "first_loan"}, ensure_ascii=False), encoding="utf-8")
    reply = "张先生您好。您第一次借款只需要在手机上填写基本信息并完成身份验证，审核通过后资金就会很快到账。"
    status, out, _ = _run(capsys, "explain", "--record", str(record), reply)
    assert status == 0
    assert "marketing_first_loan" in out and "length.sentence" in out and "sentence_max=40" in out
    status, out, _ = _run(capsys, "explain", "--record", str(record), "--policy-name", "outbound_marketing", "--json", reply)
    assert status == 0 and json.loads(out)["decision"] == "allow"
    status, _, err = _run(capsys, "explain", "--record", str(tmp_path / "missing.json"), reply)
    assert status == 2 and "cannot read" in err


def test_history_command(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    rows = tmp_path / "decisions.jsonl"
    rows.write_text(
        "\n".join(json.dumps({"timestamp": t, "policy": "p", "policy_version": v}) for t, v in [(1, "a"), (5, "a"), (9, "b")]),
        encoding="utf-8",
    )
    status, out, _ = _run(capsys, "history", "--json", str(rows))
    assert status == 0
    assert [(h["policy_version"], h["count"]) for h in json.loads(out)] == [("a", 2), ("b", 1)]
    rows.write_text("{}\n", encoding="utf-8")
    assert _run(capsys, "history", str(rows))[0] == 2
