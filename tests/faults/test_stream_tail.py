"""A stream stopped with text held back: that tail was never checked, so it is not part of what
the verdict's findings describe (and must not reach the ledger's `original_masked`)."""

from __future__ import annotations

from guard.proxy.service import masked_original
from guard.stream import StreamGuard
from guard.types import CustomerRecord
from tests.proxy.policies import words_policy

RECORD = CustomerRecord.model_validate({"customer_id": "C1", "name": "张飞", "gender": "male"})


def test_blocked_stream_reports_only_the_checked_text() -> None:
    policy = words_policy()
    sg = StreamGuard(policy, RECORD)
    sg.feed("张先生您好。这款产品稳赚不赔。有事请拨打13912345678")  # block + an unchecked tail
    assert sg.done and sg.blocked
    assert sg.evaluated_source == "张先生您好。这款产品稳赚不赔。"
    assert sg.verdict is not None
    kept = masked_original(policy, RECORD, sg.evaluated_source, sg.verdict.violations)
    assert kept is not None and "13912345678" not in kept


def test_failed_stream_reports_only_the_checked_text() -> None:
    sg = StreamGuard(words_policy(), RECORD)
    assert sg.feed("张先生您好。有事请拨打1391234") == "张先生您好。"
    sg.feed("5678")
    sg.fail("upstream_truncated")
    assert sg.evaluated_source == "张先生您好。"
