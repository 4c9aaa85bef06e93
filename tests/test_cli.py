from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from guard.cli import COMMANDS, main

REPO = Path(__file__).resolve().parent.parent
RECORD = {"customer_id": "C1", "name": "张飞", "gender": "male", "credit_line": 4000}


@pytest.fixture
def record_file(tmp_path: Path) -> Path:
    path = tmp_path / "r.json"
    path.write_text(json.dumps(RECORD, ensure_ascii=False), encoding="utf-8")
    return path


def test_check_one_reply_readable(record_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--record", str(record_file), "张先生您好。"]) == 0
    out = capsys.readouterr().out
    assert "决定 decision : allow" in out and "张先生您好。" in out


def test_check_one_reply_json(record_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    long = "好" * 60 + "。"
    assert main(["check", "--record", str(record_file), "--json", "您好。" + long]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["decision"] == "revise" and out["released"] == "您好。"
    assert out["violations"][0]["code"] == "length.sentence"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["check", "hello"], "--record FILE"),
        (["check", "--record", "/nonexistent.json", "x"], "cannot read record"),
        (["check", "--batch", "/nonexistent.jsonl"], "cannot read /nonexistent.jsonl"),
        (["check", "--policy", "/nonexistent-dir", "--batch", "-"], "no policy files found"),
    ],
)
def test_user_errors_are_one_line_exit_2(args: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_bad_record_names_the_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "r.json"
    path.write_text(json.dumps({**RECORD, "credit_line": "lots"}), encoding="utf-8")
    assert main(["check", "--record", str(path), "x"]) == 2
    assert "record.credit_line" in capsys.readouterr().err


def test_batch_as_a_real_process(tmp_path: Path) -> None:
    batch = tmp_path / "in.jsonl"
    batch.write_text(
        json.dumps({"id": "a", "record": RECORD, "reply": "您好。"}, ensure_ascii=False) + "\nbroken\n",
        encoding="utf-8",
    )
    proc = subprocess.run(
        [sys.executable, "-m", "guard.cli", "check", "--batch", str(batch)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    first, second = (json.loads(line) for line in proc.stdout.splitlines())
    assert first == {
        "id": "a",
        "decision": "allow",
        "violations": [],
        "released": "您好。",
        "policy": "outbound_marketing",
        "policy_version": first["policy_version"],
    }
    assert second["id"] is None and "not valid JSON" in second["error"]


def test_demo_prints_a_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--offline"]) == 0
    out = capsys.readouterr().out
    assert "模型原话" in out and "客户听到" in out and "length.sentence" in out


def test_every_command_is_documented_in_the_readme() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"`guard (\w+)", readme))
    assert set(COMMANDS) <= documented, set(COMMANDS) - documented
