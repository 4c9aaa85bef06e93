"""Campaigns: overrides in force only between their dates; the date is passed in (no clock)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from guard.engine import evaluate
from guard.policy.loader import load_policy_file, load_policy_set
from guard.policy.model import merge_checks
from guard.types import Decision
from tests.policy.conftest import RECORD, write

POLICY = """\
name: promo
default: true
fallback: 请稍后由专员和您确认。
checks:
  length:
    sentence_max: 50
  words:
    file: words.txt
campaigns:
  - name: coupon_week
    title: 免息券周
    starts_on: 2026-11-01
    ends_on: 2026-11-07
    checks:
      words:
        allow: [限时免息]
  - name: long_week
    starts_on: 2026-11-05
    ends_on: 2026-11-10
    checks:
      length:
        sentence_max: 80
"""
OFFER = "张先生您好，现在借款可以享受限时免息。"


@pytest.fixture
def promo(tmp_path: Path, words_check: None) -> Path:
    write(tmp_path, {"promo.yaml": POLICY, "words.txt": "# 禁用词\n限时免息\n稳赚\n"})
    return tmp_path / "promo.yaml"


@pytest.mark.parametrize(
    ("day", "campaign", "decision"),
    [
        (dt.date(2026, 10, 31), None, Decision.BLOCK),  # before: the offer wording is a banned word
        (dt.date(2026, 11, 1), "coupon_week", Decision.ALLOW),  # first day (inclusive)
        (dt.date(2026, 11, 5), "coupon_week+long_week", Decision.ALLOW),  # both active: overrides merge
        (dt.date(2026, 11, 7), "coupon_week+long_week", Decision.ALLOW),  # last day (inclusive)
        (dt.date(2026, 11, 8), "long_week", Decision.BLOCK),
        (dt.date(2026, 11, 11), None, Decision.BLOCK),  # after
    ],
)
def test_offer_wording_is_allowed_only_during_its_campaign(promo: Path, day: dt.date, campaign: str | None, decision: Decision) -> None:
    policy = load_policy_file(promo)
    assert policy.on(day).campaign == campaign
    verdict = evaluate(policy, RECORD, OFFER, today=day)
    assert verdict.decision is decision
    assert verdict.policy_version == policy.version  # one version: the file's content hash


def test_without_a_date_no_campaign_applies(promo: Path) -> None:
    policy = load_policy_file(promo)
    assert evaluate(policy, RECORD, OFFER).decision is Decision.BLOCK


def test_overlapping_campaigns_merge_both_overrides(promo: Path) -> None:
    policy = load_policy_file(promo).on(dt.date(2026, 11, 6))
    long_sentence = "张先生您好，" + "这是一句很长的介绍" * 7 + "。"  # 70 characters: over 50, within 80
    assert evaluate(policy, RECORD, long_sentence).decision is Decision.ALLOW
    assert evaluate(policy, RECORD, OFFER).decision is Decision.ALLOW


def test_select_with_today_returns_the_variant(promo: Path) -> None:
    policies = load_policy_set(promo.parent)
    assert policies.select(today=dt.date(2026, 11, 2)).campaign == "coupon_week"
    assert policies.select(today=dt.date(2026, 12, 2)).campaign is None


def test_a_campaign_fallback_must_pass_the_campaign_checks(tmp_path: Path) -> None:
    text = POLICY.replace("  words:\n    file: words.txt\n", "").replace(
        "      words:\n        allow: [限时免息]\n", "      length:\n        sentence_max: 5\n"
    )
    write(tmp_path, {"p.yaml": text})
    from guard.policy.errors import PolicyError

    with pytest.raises(PolicyError, match=r"during campaign coupon_week: the fallback text itself violates length.sentence"):
        load_policy_file(tmp_path / "p.yaml")


@given(
    base=st.dictionaries(st.sampled_from("abc"), st.integers() | st.dictionaries(st.sampled_from("xy"), st.integers())),
    over=st.dictionaries(st.sampled_from("abc"), st.integers() | st.dictionaries(st.sampled_from("xy"), st.integers())),
)
def test_merge_keeps_base_keys_and_override_wins(base: dict[str, object], over: dict[str, object]) -> None:
    merged = merge_checks(base, over)
    assert set(merged) == set(base) | set(over)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(base.get(k), dict):
            assert merged[k] == {**base[k], **v}  # type: ignore[dict-item]
        else:
            assert merged[k] == v


APPEND = """\
name: p
default: true
fallback: 请稍后由专员和您确认。
checks:
  words:
    file: words.txt
campaigns:
  - name: plus
    starts_on: 2026-11-01
    ends_on: 2026-11-07
    checks:
      words:
        allow+: [限时免息]
  - name: replace
    starts_on: 2026-12-01
    ends_on: 2026-12-07
    checks:
      words:
        allow: [限时免息]
"""


@pytest.mark.parametrize(
    ("day", "offer", "default_allowed"),
    [
        (dt.date(2026, 10, 1), Decision.BLOCK, Decision.ALLOW),  # base: the default allow-list only
        (dt.date(2026, 11, 2), Decision.ALLOW, Decision.ALLOW),  # `allow+` appends to the default list
        (dt.date(2026, 12, 2), Decision.ALLOW, Decision.BLOCK),  # `allow` replaces it
    ],
)
def test_append_key_extends_the_default_list(tmp_path: Path, words_check: None, day: dt.date, offer: Decision, default_allowed: Decision) -> None:
    write(tmp_path, {"p.yaml": APPEND, "words.txt": "限时免息\n保本理财\n"})
    policy = load_policy_file(tmp_path / "p.yaml")
    assert evaluate(policy, RECORD, OFFER, today=day).decision is offer
    assert evaluate(policy, RECORD, "这是保本理财。", today=day).decision is default_allowed


def test_append_over_nothing_is_a_plain_list() -> None:
    assert merge_checks({}, {"a": {"b+": [1]}}) == {"a": {"b": [1]}}
    assert merge_checks({"a": {"b": (1,)}}, {"a": {"b+": [2]}}) == {"a": {"b": [1, 2]}}
