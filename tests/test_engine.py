from __future__ import annotations

import time
from collections.abc import Callable
from typing import ClassVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from guard.checks.base import CheckInput
from guard.engine import apply_revisions, evaluate
from guard.policy.model import Policy
from guard.text.sentences import split_sentences
from guard.types import Action, CustomerRecord, Decision, Finding

LENGTH_POLICY = """
name: t
fallback: 稍后由专员联系您。
checks:
  length:
    sentence_max: 10
    reply_max: 25
    action: {action}
"""

MakePolicy = Callable[[str], Policy]


@pytest.mark.parametrize(
    ("action", "reply", "decision", "released", "codes"),
    [
        ("truncate", "您好。额度已批。", Decision.ALLOW, "您好。额度已批。", []),
        ("truncate", "", Decision.ALLOW, "", []),
        ("truncate", "   ", Decision.ALLOW, "   ", []),
        ("truncate", "您好。这一句话实在是太长太长了吧。再见。", Decision.REVISE, "您好。", ["length.sentence"]),
        ("truncate", "这一句话实在是太长太长了吧。再见。", Decision.BLOCK, "稍后由专员联系您。", ["length.sentence"]),
        (
            "truncate",
            "一二三四五。一二三四五。一二三四五。一二三四五。一二三四五。一二三。",
            Decision.REVISE,
            "一二三四五。一二三四五。一二三四五。一二三四五。",
            ["length.reply"],
        ),
        ("block", "您好。这一句话实在是太长太长了吧。", Decision.BLOCK, "稍后由专员联系您。", ["length.sentence"]),
        ("warn", "您好。这一句话实在是太长太长了吧。", Decision.ALLOW, "您好。这一句话实在是太长太长了吧。", ["length.sentence"]),
        ("regenerate", "这一句话实在是太长太长了吧。", Decision.BLOCK, "稍后由专员联系您。", ["length.sentence"]),
    ],
)
def test_length_decisions(
    make_policy: MakePolicy,
    record: CustomerRecord,
    action: str,
    reply: str,
    decision: Decision,
    released: str,
    codes: list[str],
) -> None:
    policy = make_policy(LENGTH_POLICY.format(action=action))
    verdict = evaluate(policy, record, reply)
    assert verdict.decision is decision
    assert verdict.released == released
    assert verdict.codes == codes
    assert verdict.policy == "t" and verdict.policy_version == policy.version
    assert not verdict.regenerate  # no model in the loop


def test_regenerate_with_a_model_in_the_loop(make_policy: MakePolicy, record: CustomerRecord) -> None:
    policy = make_policy(LENGTH_POLICY.format(action="regenerate"))
    verdict = evaluate(policy, record, "这一句话实在是太长太长了吧。", model_in_loop=True)
    assert verdict.decision is Decision.BLOCK and verdict.released == "稍后由专员联系您。"
    assert verdict.regenerate
    assert verdict.corrections and "10" in verdict.corrections[0]


def test_null_fallback_releases_nothing(make_policy: MakePolicy, record: CustomerRecord) -> None:
    policy = make_policy("name: t\nfallback: null\nchecks:\n  length:\n    sentence_max: 3\n    action: block\n")
    verdict = evaluate(policy, record, "这句太长了。")
    assert verdict.decision is Decision.BLOCK and verdict.released is None


def test_length_spans_point_at_the_sentence(make_policy: MakePolicy, record: CustomerRecord) -> None:
    policy = make_policy(LENGTH_POLICY.format(action="warn"))
    reply = "您好。这一句话实在是太长太长了吧。\n"
    (finding,) = evaluate(policy, record, reply).violations
    assert reply[finding.start : finding.end] == "这一句话实在是太长太长了吧。"


class _Exploding:
    name: ClassVar[str] = "exploding"

    def run(self, inp: CheckInput) -> list[Finding]:
        raise RuntimeError("boom")


def test_a_failing_check_blocks(make_policy: MakePolicy, record: CustomerRecord) -> None:
    base = make_policy(LENGTH_POLICY.format(action="warn"))
    policy = Policy(base.name, base.version, base.doc, (*base.checks, _Exploding()))
    verdict = evaluate(policy, record, "您好。")
    assert verdict.decision is Decision.BLOCK
    assert verdict.released == "稍后由专员联系您。"
    assert verdict.codes == ["guard.check_error"]
    assert "boom" not in verdict.violations[0].detail


def _f(start: int, end: int, rep: str, action: Action = Action.MASK) -> Finding:
    return Finding("pii.phone", start, end, "d", action, replacement=rep)


@pytest.mark.parametrize(
    ("reply", "findings", "cut", "expected"),
    [
        ("abcdef", [_f(1, 3, "**")], None, "a**def"),
        ("abcdef", [_f(1, 3, "**"), _f(4, 5, "#")], None, "a**d#f"),
        ("abcdef", [_f(1, 3, "xx"), _f(2, 5, "yyy")], None, "a****f"),  # overlap: mask the union
        ("abcdef", [_f(1, 3, "**", Action.WARN)], None, "abcdef"),
        ("ab。cd。", [_f(4, 5, "*")], 3, "ab。"),
        ("ab。cd。", [_f(1, 2, "*")], 3, "a*。"),
    ],
)
def test_apply_revisions(reply: str, findings: list[Finding], cut: int | None, expected: str) -> None:
    assert apply_revisions(reply, findings, cut) == expected


REPLIES = st.text(alphabet=st.sampled_from(list("一二三四五六七八九十。！？，\n ")), max_size=120)


@settings(max_examples=200)
@given(reply=REPLIES, limit=st.integers(1, 12), reply_max=st.integers(1, 40))
def test_truncated_release_respects_every_limit(reply: str, limit: int, reply_max: int) -> None:
    from guard.checks.length import LengthCheck, LengthConfig
    from guard.policy.model import PolicyDoc

    check = LengthCheck(LengthConfig(sentence_max=limit, reply_max=reply_max, action="truncate"))
    policy = Policy("p", "v", PolicyDoc(name="p", fallback=None), (check,))
    record = CustomerRecord(customer_id="c", name="张飞", gender="male")
    verdict = evaluate(policy, record, reply)
    assert verdict == evaluate(policy, record, reply)  # deterministic
    if verdict.released is not None:
        parts = split_sentences(verdict.released)
        assert all(s.length <= limit for s in parts)
        assert sum(s.length for s in parts) <= reply_max
        assert reply.startswith(verdict.released)
        inp = CheckInput(verdict.released, record, parts)
        assert check.run(inp) == []


def test_huge_reply_is_bounded(make_policy: MakePolicy, record: CustomerRecord) -> None:
    policy = make_policy(LENGTH_POLICY.format(action="truncate"))
    reply = "您好。" + "好" * 100_000
    t0 = time.perf_counter()
    verdict = evaluate(policy, record, reply)
    assert time.perf_counter() - t0 < 2.0
    assert verdict.decision is Decision.REVISE and verdict.released == "您好。"


class _Slow:
    """A check that takes a known minimum time and finds nothing."""

    name = "slow"

    def run(self, inp: CheckInput) -> list[Finding]:
        time.sleep(0.002)
        return []


def test_timings_add_each_checks_run_time_and_change_nothing(make_policy: MakePolicy, record: CustomerRecord) -> None:
    base = make_policy(LENGTH_POLICY.format(action="truncate"))
    policy = Policy(base.name, base.version, base.doc, (*base.checks, _Slow()))
    reply = "您好。这一句话实在是太长太长了吧。"  # truncated: the revision is checked again
    timings: dict[str, float] = {}
    verdict = evaluate(policy, record, reply, timings=timings)
    assert verdict == evaluate(policy, record, reply)  # measuring never changes the verdict
    assert verdict.decision is Decision.REVISE
    assert set(timings) == {"length", "slow"}
    assert timings["slow"] >= 2 * 2.0  # two runs of 2 ms: the reply and its revision, added up
    assert timings["length"] >= 0
    again = dict(timings)
    evaluate(policy, record, "您好。", timings=timings)  # one dict across evaluations: added to
    assert timings["slow"] >= again["slow"] + 2.0
