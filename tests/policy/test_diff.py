"""`policy diff`: decision counts under OLD and NEW, and the lines whose outcome changed."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from guard.policy.diff import diff_corpus, render_diff
from guard.policy.loader import load_policy_set
from tests.policy.conftest import BASE_POLICY, write

ZF = {"customer_id": "C1", "name": "张飞", "gender": "male"}
SHORT = "您好。"
MEDIUM = "您好。这一句一共有十五个字的长度吧。"  # 15 characters in its second sentence
LONG = "这一句话的长度明显超过了二十个字的上限呀。"  # 21 characters, the first sentence


def _corpus() -> list[str]:
    rows = [
        {"id": "a", "record": ZF, "reply": SHORT},
        {"id": "b", "record": ZF, "reply": MEDIUM},
        {"id": "c", "record": ZF, "reply": LONG},
    ]
    return [json.dumps(r, ensure_ascii=False) for r in rows] + ["", "{not json", json.dumps({"record": ZF})]


def test_diff_counts_and_changed_lines(tmp_path: Path) -> None:
    old = load_policy_set(write(tmp_path / "old", {"p.yaml": BASE_POLICY.format(sentence_max=20)}))
    new = load_policy_set(write(tmp_path / "new", {"p.yaml": BASE_POLICY.format(sentence_max=12)}))
    report = diff_corpus(old, new, _corpus())
    assert report.total == 3
    assert report.old_counts == {"allow": 2, "block": 1}
    assert report.new_counts == {"allow": 1, "revise": 1, "block": 1}
    assert [(c.id, c.old_decision, c.new_decision, c.new_codes) for c in report.changes] == [
        ("b", "allow", "revise", ("length.sentence",))
    ]
    assert [e.line for e in report.errors] == [5, 6]
    text = render_diff(report)
    assert "line 2 id=b: allow [] → revise [length.sentence]" in text
    assert MEDIUM not in text  # reply texts are never printed
    assert report.to_json()["new"] == {"allow": 1, "revise": 1, "block": 1}


def test_identical_sets_change_nothing(tmp_path: Path) -> None:
    folder = write(tmp_path, {"p.yaml": BASE_POLICY.format(sentence_max=20)})
    report = diff_corpus(load_policy_set(folder), load_policy_set(folder), _corpus()[:3])
    assert report.changes == [] and report.old_counts == report.new_counts
    assert "no line changed" in render_diff(report)


def test_corpus_today_selects_campaigns(tmp_path: Path) -> None:
    campaign = "campaigns:\n  - {name: c, starts_on: 2026-11-01, ends_on: 2026-11-11, checks: {length: {sentence_max: 30}}}\n"
    old = load_policy_set(write(tmp_path / "old", {"p.yaml": BASE_POLICY.format(sentence_max=20)}))
    new = load_policy_set(write(tmp_path / "new", {"p.yaml": BASE_POLICY.format(sentence_max=20) + campaign}))
    line = json.dumps({"record": ZF, "reply": LONG, "today": "2026-11-05"}, ensure_ascii=False)
    assert [c.new_decision for c in diff_corpus(old, new, [line]).changes] == ["allow"]
    outside = diff_corpus(old, new, [json.dumps({"record": ZF, "reply": LONG}, ensure_ascii=False)], today=dt.date(2026, 12, 1))
    assert outside.changes == []
