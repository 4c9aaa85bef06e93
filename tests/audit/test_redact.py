"""The audit's last-line PII masking."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from guard.audit.redact import Redactor, mask_spans
from tests.audit.records import EMAIL, ID_CARD, NAME, PHONE

R = Redactor()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"请拨打{PHONE}。", "请拨打***********。"),
        ("电话+86 139 1234 5678", "电话" + "*" * 17),
        (f"身份证{ID_CARD}号", "身份证" + "*" * 18 + "号"),
        ("身份证11010519491231002x号", "身份证" + "*" * 18 + "号"),
        (f"邮箱{EMAIL}谢谢", "邮箱" + "*" * len(EMAIL) + "谢谢"),
        ("卡号6222021234567890123", "卡号" + "*" * 19),
        ("您的4000元额度，30天免息", "您的4000元额度，30天免息"),  # amounts and days stay
        ("订单号1391234567890", "订单号1391234567890"),  # 13 digits: not a mobile, not a card
        ("C20261124001", "C20261124001"),
        ("卡号" + "６" * 16, "卡号" + "*" * 16),  # full-width digits are digits to the patterns too
    ],
)
def test_patterns(text: str, expected: str) -> None:
    assert R.text(text) == expected


def test_named_values_and_pii_spans() -> None:
    reply = f"{NAME}您好"
    assert R.text(reply, (NAME,)) == "***您好"
    assert R.reply(reply, [{"code": "pii.person", "start": 0, "end": 3}]) == "***您好"
    assert R.reply(reply, [{"code": "fact.name", "start": 0, "end": 3}]) == reply  # only pii.* spans
    assert R.reply(None, []) is None


def test_nested_values_keep_keys_and_numbers() -> None:
    assert R.value({"phone": PHONE, "n": 3, "l": [EMAIL, 1.5]}) == {
        "phone": "*" * 11,
        "n": 3,
        "l": ["*" * len(EMAIL), 1.5],
    }


@given(st.text(max_size=60), st.lists(st.tuples(st.integers(-5, 70), st.integers(-5, 70)), max_size=4))
def test_masking_keeps_length(text: str, spans: list[tuple[int, int]]) -> None:
    assert len(mask_spans(text, spans)) == len(text)
    assert len(R.text(text)) == len(text)


@given(st.text(alphabet="您好请拨打电话，。 abc", max_size=20), st.text(alphabet="您好，。 xyz", max_size=20))
def test_planted_phone_never_survives(prefix: str, suffix: str) -> None:
    assert PHONE not in R.text(prefix + PHONE + suffix)


def _every_pattern(s: str) -> str:
    """`Redactor.text` without its shortcut: every pattern run on every text."""
    from guard.audit import redact

    for p in redact._PATTERNS:
        s = p.sub(redact._stars, s)
    return s


# Digits of several scripts (ASCII, full-width, Arabic-Indic, Devanagari), "@", e-mail letters, Chinese.
_MIXED = st.text(alphabet="0123456789０１２３٣٤४५@.+-_xXab您好卡号电话 ", max_size=40)


@given(st.one_of(st.text(max_size=40), _MIXED))
def test_the_shortcut_changes_nothing(text: str) -> None:
    assert R.text(text) == _every_pattern(text)


_VIOLATION = st.fixed_dictionaries(
    {
        "code": st.sampled_from(["pii.phone", "pii.person", "fact.name", "length.sentence"]),
        "start": st.integers(-2, 45),
        "end": st.integers(-2, 45),
    }
)


@given(
    _MIXED,
    st.lists(_VIOLATION, max_size=3),
    st.one_of(st.none(), _MIXED),
    st.lists(st.sampled_from(["您好", "12", "ab"]), max_size=2),
)
def test_reply_reuses_a_done_text_only_when_it_is_the_same_text(
    text: str, violations: list[dict[str, object]], other: str | None, values: list[str]
) -> None:
    # `done` is what build_entry passes: the released text and its `text()`; the released text is
    # often the reply itself, so try that as well as another text.
    for released in (text, other):
        if released is None:
            continue
        done = (released, R.text(released, values))
        assert R.reply(text, violations, values, done=done) == R.reply(text, violations, values)
