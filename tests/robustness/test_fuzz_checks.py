"""Fuzzing every check of every shipped policy: no exception, spans inside the text, bounded time.

Hypothesis drives arbitrary Unicode (plus characters the checks care about) through each check
directly — not through the engine, whose fail-closed wrapper would hide an exception — and
through `evaluate`, whose released text must pass its own policy.
"""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from guard.checks.base import Check, CheckInput
from guard.engine import evaluate, run_checks
from guard.policy.loader import load_policy_set
from guard.text.normalize import NormalizeOptions, Normalizer
from guard.text.sentences import split_sentences
from guard.types import Action, CustomerRecord, Decision

POLICIES = load_policy_set()
CHECKS: list[tuple[str, Check]] = [(f"{p.name}.{c.name}", c) for p in POLICIES.policies.values() for c in p.checks]
RECORDS = [
    CustomerRecord.model_validate(
        {
            "customer_id": "C1",
            "name": "张飞",
            "gender": "male",
            "age": 35,
            "credit_line": 4000,
            "coupons": [{"kind": "interest_free", "days": 30}, {"kind": "cash", "amount": 50}],
            "phone": "13812345678",
            "segment": "repeat_loan",
        }
    ),
    CustomerRecord.model_validate({"customer_id": "C2", "name": "A", "gender": "female", "credit_line": None}),
    CustomerRecord.model_validate({"customer_id": "C3", "name": "阿依古丽·买买提", "gender": "female"}),
]

INTERESTING = list(
    "张飞李王章先生女士小姐总您好额度可借元块万千百十亿零一二三四五六七八九两肆仟伍贰拾"
    "0123456789０１２３.,，。！？；…\n 　￥¥%折免息券岁周稳赚保本无风险百分通过"
    "\u200b\u200d\ufeff😀👍🏻@#*-+()（）“”"
)
TEXT = st.text(alphabet=st.one_of(st.sampled_from(INTERESTING), st.characters(codec="utf-8")), max_size=120)


@pytest.mark.parametrize(("label", "check"), CHECKS, ids=[c[0] for c in CHECKS])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=TEXT, which=st.integers(0, len(RECORDS) - 1))
def test_check_never_raises_and_spans_are_inside(label: str, check: Check, text: str, which: int) -> None:
    inp = CheckInput(text, RECORDS[which], split_sentences(text))
    for f in check.run(inp):
        assert 0 <= f.start <= f.end <= len(text), (label, f)
        assert f.code and f.detail


@settings(max_examples=150, deadline=None)
@given(text=TEXT, which=st.integers(0, len(RECORDS) - 1))
def test_released_text_passes_its_policy(text: str, which: int) -> None:
    record = RECORDS[which]
    policy = POLICIES.select(None, record.segment)
    verdict = evaluate(policy, record, text)
    assert "guard.check_error" not in verdict.codes
    if verdict.decision is not Decision.BLOCK and verdict.released is not None:
        leftover = run_checks(policy, record, verdict.released)
        assert all(f.action is Action.WARN for f in leftover), leftover


PATHOLOGICAL = [
    "好" * 100_000,
    "。" * 100_000,
    "！？" * 50_000,
    "1" * 100_000,
    "四" * 100_000,
    "张先生" * 30_000,
    "稳 " * 50_000,
    "\u200b" * 100_000,
    "额度" + "0" * 100_000 + "元",
    ("额度五千元，" * 10_000),
    "😀" * 100_000,
    "a@b." * 25_000,
    "1 3 8 " * 30_000,
]


@pytest.mark.parametrize("text", PATHOLOGICAL, ids=[f"{t[:6]!r}x{len(t)}" for t in PATHOLOGICAL])
def test_pathological_input_in_bounded_time(text: str) -> None:
    record = RECORDS[0]
    for policy in POLICIES.policies.values():
        t0 = time.perf_counter()
        verdict = evaluate(policy, record, text)
        elapsed = time.perf_counter() - t0
        assert elapsed < 5.0, (policy.name, elapsed)
        assert "guard.check_error" not in verdict.codes, policy.name


@settings(max_examples=200, deadline=None)
@given(text=TEXT)
def test_normaliser_never_raises(text: str) -> None:
    for options in (NormalizeOptions(), NormalizeOptions(t2s=True, junk=True, collapse_repeats=True)):
        n = Normalizer(options)
        nt = n.map(text)
        assert nt.text == n.fast(text)
