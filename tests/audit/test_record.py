"""`DecisionRecord`: a plain (compiled) class with the dataclass's values, defaults and copy."""

from __future__ import annotations

import pytest

from guard.audit.api import DecisionRecord
from guard.native import status
from tests.audit.records import NAME, PHONE, make_record


def test_defaults_and_values() -> None:
    rec = make_record("t1", decision="block", codes=("pii.phone",))
    assert (rec.regenerations, rec.stream, rec.latency_ms, rec.error) == (0, False, None, None)
    assert rec.extra == {} and rec.check_ms == {} and rec.sensitive_values == ()
    assert rec.extra is not make_record("t1").extra  # a dict of its own, as default_factory gave
    assert rec.codes == ("pii.phone",) and rec.violations[0]["code"] == "pii.phone"


def test_compared_and_printed_by_value() -> None:
    a = make_record("t1", timestamp=1.0)
    assert a == make_record("t1", timestamp=1.0) and a is not make_record("t1", timestamp=1.0)
    assert a != make_record("t2", timestamp=1.0)
    assert a != make_record("t1", timestamp=1.0, check_ms={"pii": 0.1})
    assert repr(a).startswith("DecisionRecord(trace_id='t1', timestamp=1.0, caller='svc-outbound', ")
    assert repr(a).endswith("check_ms={}, sensitive_values=())")
    with pytest.raises(TypeError):
        hash(a)  # it holds dicts


def test_the_values_to_mask_are_never_printed() -> None:
    rec = make_record("t1", sensitive_values=(NAME, PHONE))
    assert NAME not in repr(rec) and PHONE not in repr(rec)
    assert repr(rec).endswith("sensitive_values=<2 masked>)")


def test_replace_copies_with_changes_and_rejects_unknown_fields() -> None:
    a = make_record("t1", sensitive_values=("王小明",))
    b = a.replace(sensitive_values=(), decision="block")
    assert (b.sensitive_values, b.decision) == ((), "block")
    assert (a.sensitive_values, a.decision) == (("王小明",), "allow")
    assert b.replace(sensitive_values=("王小明",), decision="allow") == a
    with pytest.raises(TypeError, match="no field"):
        a.replace(colour="red")


def test_positional_arguments_in_the_dataclass_order() -> None:
    rec = DecisionRecord("t", 1.0, "svc", "C1", "m", "p", "v1", "allow", (), (), None, "好的", 2, True)
    assert (rec.trace_id, rec.policy_version, rec.released, rec.regenerations, rec.stream) == (
        "t", "v1", "好的", 2, True,
    )


def test_fields_are_read_only_when_compiled() -> None:
    rec = make_record("t1")
    if not status().active:
        pytest.skip("pure Python: mypy's Final is the guard there")  # make test runs compiled (require)
    with pytest.raises(AttributeError):
        rec.decision = "block"  # type: ignore[misc]
