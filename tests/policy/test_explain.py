"""`policy explain`: spans marked in the reply, the rule (file:line, settings) and the reason."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from guard.policy.explain import explain, mark_spans, render_explanation
from guard.policy.loader import load_policy_file
from guard.types import Action, Finding
from tests.policy.conftest import RECORD, write


@pytest.mark.parametrize(
    ("reply", "spans", "marked"),
    [
        ("abcdef", [], "abcdef"),
        ("abcdef", [(1, 3)], "a【bc】[1]def"),
        ("abcdef", [(1, 4), (3, 5)], "a【bc】[1]【d】[1][2]【e】[2]f"),
        ("abc", [(0, 3), (0, 3)], "【abc】[1][2]"),
    ],
)
def test_mark_spans(reply: str, spans: list[tuple[int, int]], marked: str) -> None:
    findings = tuple(Finding("x.y", s, e, "", Action.WARN) for s, e in spans)
    assert mark_spans(reply, findings) == marked


POLICY = """\
name: p
default: true
fallback: 请稍后由专员和您确认。
checks:
  length:
    sentence_max: 12
  words:
    file: words.txt
campaigns:
  - name: promo
    starts_on: 2026-11-01
    ends_on: 2026-11-11
    checks:
      words:
        allow: [限时免息]
"""


@pytest.fixture
def policy_path(tmp_path: Path, words_check: None) -> Path:
    write(tmp_path, {"p.yaml": POLICY, "words.txt": "限时免息\n"})
    return tmp_path / "p.yaml"


def test_explain_names_rule_characters_and_reason(policy_path: Path) -> None:
    reply = "您好。现在借款可以享受限时免息优惠活动哦。"
    ex = explain(load_policy_file(policy_path), RECORD, reply, today=dt.date(2026, 12, 1))
    data = ex.to_json()
    assert data["decision"] == "block" and data["campaign"] is None
    by_code = {f["code"]: f for f in data["findings"]}
    assert by_code["words.hit"]["text"] == "限时免息"
    assert by_code["words.hit"]["rule"] == {"check": "words", "file": str(policy_path), "line": 7, "config": {"file": "words.txt"}}
    assert by_code["length.sentence"]["rule"]["line"] == 5
    assert by_code["length.sentence"]["rule"]["config"] == {"sentence_max": 12}
    assert "【限时免息】[1][2]" in data["marked"]
    text = render_explanation(ex)
    assert f"checks.words ({policy_path}:7) file=words.txt" in text
    assert "句子 18 字，超过上限 12 字" in text


def test_explain_during_a_campaign_points_at_the_campaign_block(policy_path: Path) -> None:
    ex = explain(load_policy_file(policy_path), RECORD, "享受限时免息。", today=dt.date(2026, 11, 3))
    assert ex.policy.campaign == "promo" and ex.verdict.violations == ()
    assert "活动 campaign: promo" in render_explanation(ex)
    assert "no rule fired" in render_explanation(ex)


LONG_REPLY = "关先生您好。" + "这次给您来电是想告诉您，您的借款额度已经恢复，可以随时在手机上申请哦。" * 7


@pytest.mark.parametrize(
    ("day", "file", "key"),
    [
        (dt.date(2026, 11, 20), "outbound_marketing.yaml", "  length:"),  # inherited: the base file's block
        (dt.date(2026, 11, 5), "marketing_repeat_loan.yaml", "      length:"),  # the campaign's override
    ],
)
def test_rule_location_follows_extends_and_campaigns(day: dt.date, file: str, key: str) -> None:
    from guard.policy.loader import DEFAULT_POLICY_DIR, load_policy_set

    policy = load_policy_set(DEFAULT_POLICY_DIR).get("marketing_repeat_loan")
    ex = explain(policy, RECORD, LONG_REPLY, today=day)
    rules = {r.check: r for r in ex.rules if r is not None}
    rule = rules["length"]
    path = DEFAULT_POLICY_DIR / file
    assert rule.file == str(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert rule.line is not None and lines[rule.line - 1].startswith(key)
