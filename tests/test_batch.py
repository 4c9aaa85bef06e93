from __future__ import annotations

import io
import json
from typing import Any

import pytest

from guard.batch import run_batch
from guard.policy.loader import load_policy_set

RECORD = {"customer_id": "C1", "name": "张飞", "gender": "male", "credit_line": 4000}
LONG = "我们这次为老客户准备的专属活动非常划算而且手续简单方便快捷只需要在手机上动动手指填写几项信息就可以提交申请了。"


def _run(lines: list[str]) -> tuple[int, list[dict[str, Any]]]:
    out = io.StringIO()
    status = run_batch(lines, load_policy_set(), out)
    return status, [json.loads(line) for line in out.getvalue().splitlines()]


def _line(**kw: Any) -> str:
    return json.dumps(kw, ensure_ascii=False) + "\n"


def test_contract_shape() -> None:
    reply = "张先生您好，您的4000元额度已经审核通过了。"
    status, (out,) = _run([_line(id="case-1", record=RECORD, reply=reply)])
    assert status == 0
    assert out["id"] == "case-1"
    assert out["decision"] == "allow"
    assert out["violations"] == []
    assert out["released"] == reply


def test_violation_shape() -> None:
    status, (out,) = _run([_line(id=7, record=RECORD, reply="您好。" + LONG)])
    assert status == 0 and out["id"] == 7
    assert out["decision"] == "revise" and out["released"] == "您好。"
    (v,) = out["violations"]
    assert {"code", "start", "end", "detail"} <= set(v)
    assert v["code"] == "length.sentence" and v["start"] == 3 and v["end"] == 3 + len(LONG)


@pytest.mark.parametrize(
    ("line", "error"),
    [
        ("not json\n", "not valid JSON"),
        ("\n", "not valid JSON"),
        ("[1, 2]\n", "must be a JSON object"),
        (_line(id="x", reply="hi"), "record: required field is missing"),
        (_line(id="x", record=RECORD), "reply: required, must be a string"),
        (_line(id="x", record={**RECORD, "gender": "x"}, reply="hi"), "record.gender"),
        (_line(id="x", record=RECORD, reply="hi", policy="nope"), "policy: unknown policy 'nope'"),
        (_line(id="x", record=RECORD, reply="hi", policy=3), "policy: must be a policy name"),
    ],
)
def test_malformed_line_gives_an_error_line_and_the_run_goes_on(line: str, error: str) -> None:
    good = _line(id="ok", record=RECORD, reply="您好。")
    status, outs = _run([good, line, good])
    assert status == 2
    assert len(outs) == 3
    assert outs[0]["decision"] == outs[2]["decision"] == "allow"
    assert set(outs[1]) == {"id", "error"}
    assert error in outs[1]["error"]


def test_error_line_keeps_the_id() -> None:
    _, (out,) = _run([_line(id="keep-me", record={"name": "张飞"}, reply="x")])
    assert out["id"] == "keep-me"


def test_one_output_line_per_input_line_in_order() -> None:
    lines = [_line(id=i, record=RECORD, reply=f"第{i}句。") for i in range(50)]
    status, outs = _run(lines)
    assert status == 0 and [o["id"] for o in outs] == list(range(50))
