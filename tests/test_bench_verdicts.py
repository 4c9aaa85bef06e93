"""`python -m bench.verdicts`: every verdict dumped, and two dumps compared."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.verdicts import RECORDS, TEXTS, compare, dump, main


@pytest.fixture
def data(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    (root / "cluener").mkdir(parents=True)
    (root / "afqmc").mkdir()
    (root / "cluener" / "dev.jsonl").write_text(
        "\n".join(json.dumps({"text": t}, ensure_ascii=False) for t in ("记者王小明报道。", "浙商银行企业信贷部叶老桂博士")) + "\n",
        encoding="utf-8",
    )
    (root / "afqmc" / "dev.csv").write_text("sentence1,sentence2,label\n花呗怎么还款,借呗额度,0\n", encoding="utf-8")
    return root


def test_a_dump_has_a_verdict_per_text_record_and_policy(tmp_path: Path, data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "v.jsonl"
    n = dump(out, data=data)
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    texts = len(TEXTS) + 2 + 2  # the fixed replies, two CLUENER texts, one AFQMC pair
    assert n == len(rows) == texts * len(RECORDS)
    assert "skipped" in capsys.readouterr().err  # no train.jsonl
    assert {r[3] for r in rows} == {"allow", "revise", "block"}
    by_text = {(r[0], r[1]): r for r in rows}
    valid = by_text[(TEXTS.index("身份证号110101199003077774，卡号6222021234567890128"), "B1")]
    assert {f[0] for f in valid[5]} == {"pii.id_card", "pii.bank_card"}
    decoys = by_text[(TEXTS.index("身份证号110101199003077777，卡号6222021234567890123"), "B1")]
    assert decoys[3] == "allow"  # numbers failing both checksums are not masked
    assert by_text[(TEXTS.index("稳 赚不赔，保本保息！"), "B2")][3] == "block"
    assert any(f[0] == "pii.person" for f in by_text[(len(TEXTS), "B1")][5])  # 记者王小明


def test_every_policy_on_request(tmp_path: Path, data: Path) -> None:
    out = tmp_path / "v.jsonl"
    n = dump(out, every_policy=True, limit=1, data=data)
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    policies = {r[2] for r in rows}
    assert len(policies) > 1 and n == (len(TEXTS) + 1 + 2) * len(RECORDS) * len(policies)


def test_compare_says_identical_or_shows_the_differences(tmp_path: Path, data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    dump(a, limit=1, data=data)
    dump(b, limit=1, data=data)
    assert compare(a, b) == 0
    assert "identical" in capsys.readouterr().out
    lines = b.read_text(encoding="utf-8").splitlines()
    row = json.loads(lines[3])
    row[3] = "allow" if row[3] != "allow" else "block"
    lines[3] = json.dumps(row, ensure_ascii=False)
    b.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert main(["compare", str(a), str(b)]) == 1
    out = capsys.readouterr().out
    assert f"1 of {len(lines)} verdicts differ" in out and "line 4:" in out
    b.write_text("\n".join(lines[:-1]) + "\n", encoding="utf-8")
    assert compare(a, b) == 1
    assert "different lengths" in capsys.readouterr().out


def test_without_the_shared_data_only_the_fixed_replies(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dump", str(tmp_path / "v.jsonl"), "--data", str(tmp_path / "absent")]) == 0
    assert f"wrote {len(TEXTS) * len(RECORDS)} verdicts" in capsys.readouterr().out
