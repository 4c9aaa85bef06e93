from __future__ import annotations

import random
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from guard.checks.base import CheckInput
from guard.checks.pii import PiiCheck, PiiConfig, samples
from guard.checks.pii.masking import mask
from guard.engine import apply_revisions
from guard.text.sentences import split_sentences
from guard.types import CustomerRecord


@pytest.mark.parametrize(
    ("entity", "value", "masked"),
    [
        ("CN_MOBILE", "13812345678", "138****5678"),
        ("CN_MOBILE", "+86 138-1234-5678", "138****5678"),
        ("CN_LANDLINE", "0571-88886666", "0571-****6666"),
        ("CN_LANDLINE", "(010)66554433", "010-****4433"),
        ("CN_LANDLINE", "0571-88886666转123", "0571-****6666转***"),
        ("CN_LANDLINE", "0571 8888 6666转123", "0571-****6666转***"),
        ("CN_ID_CARD", "11010519491231002X", "110105********002X"),
        ("CN_ID_CARD", "110105491231002", "110105*****1002"),
        ("CN_BANK_CARD", "6222 0212 3456 7890 128", "****0128"),
        ("EMAIL_ADDRESS", "wang@example.com", "w***@example.com"),
        ("EMAIL_ADDRESS", "wang艾特example点com", "w***艾特example点com"),
        ("EMAIL_ADDRESS", "wang at example dot com", "w*** at example dot com"),
        ("CN_PERSON", "王小明", "王**"),
        ("CN_PERSON", "欧阳修远", "欧阳**"),
        ("CN_ADDRESS", "浙江省杭州市西湖区文三路90号", "浙江省杭州市****"),
        ("CN_ADDRESS", "阳光小区5栋2单元301室", "****"),
    ],
)
def test_partial_masks(entity: str, value: str, masked: str) -> None:
    assert mask(entity, value) == masked


def test_spelt_out_digits_are_masked_as_digits() -> None:
    assert _mask_text(_CHECK, "手机号幺三八一二三四五六七八") == "手机号138****5678"


def test_placeholders() -> None:
    assert mask("CN_MOBILE", "13812345678", "placeholder") == "[手机号]"
    assert mask("CN_PERSON", "王小明", "placeholder") == "[姓名]"


_RECORD = CustomerRecord(customer_id="c1", name="张飞", gender="male")
_CHECK = PiiCheck(PiiConfig())
_PLACEHOLDER_CHECK = PiiCheck(PiiConfig(style="placeholder"))
_FILLER_TEXTS = (
    "您好，",
    "您的额度4000元，",
    "请于2026-12-31前还款。",
    "利率0.05%，",
    "尾号5678",
    "验证码123456。",
    "谢谢！",
    " ",
    "张先生",
    "50,000元",
    "20261231",
)
_FILLER = st.sampled_from(_FILLER_TEXTS)


def _identifier(seed: int) -> str:
    rng = random.Random(seed)
    kind = rng.randrange(8)
    if kind == 6:
        return rng.choice(("联系人李建国", "您的朋友王小明", "经理刘德华"))
    if kind == 7:
        return rng.choice(("寄到浙江省杭州市西湖区文三路90号", "住在阳光小区5栋2单元301室"))
    if kind == 0:
        return samples.mobile(rng, rng.choice(("plain", "spaced", "dashed", "plus86")))
    if kind == 1:
        return samples.id_card(rng)
    if kind == 2:
        return samples.bank_card(rng)
    if kind == 3:
        return samples.email(rng)
    if kind == 4:
        return samples.landline(rng)
    return samples.id_card_15(rng)


def _mask_text(check: PiiCheck, text: str) -> str:
    findings = check.run(CheckInput(text, _RECORD, split_sentences(text)))
    return apply_revisions(text, findings)


_texts = st.lists(st.one_of(_FILLER, st.integers(0, 10**9).map(_identifier)), min_size=1, max_size=8)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_texts)
def test_masking_hides_every_identifier_and_is_idempotent(parts: list[str]) -> None:
    text = "，".join(parts)
    for check in (_CHECK, _PLACEHOLDER_CHECK):
        once = _mask_text(check, text)
        assert _mask_text(check, once) == once  # masking masked text changes nothing
        runs = [re.sub(r"\D", "", r) for r in re.findall(r"[0-9][0-9 +\-]*", once)]
        for part in parts:
            if "@" in part:
                assert part not in once
            elif part not in _FILLER_TEXTS:
                digits = re.sub(r"\D", "", part)
                if len(digits) >= 7:
                    assert not any(digits in run for run in runs), (
                        "an identifier's digit run survived masking"
                    )
                for name in ("李建国", "王小明", "刘德华", "文三路90号", "301室"):
                    assert name not in once


@settings(max_examples=150, deadline=None)
@given(st.lists(_FILLER, min_size=1, max_size=8))
def test_decoys_are_never_masked(parts: list[str]) -> None:
    text = "".join(parts)
    assert _mask_text(_CHECK, text) == text


@settings(max_examples=150, deadline=None)
@given(_texts)
def test_masking_changes_nothing_outside_the_spans(parts: list[str]) -> None:
    text = "，".join(parts)
    findings = sorted(_CHECK.run(CheckInput(text, _RECORD, split_sentences(text))), key=lambda f: f.start)
    out = apply_revisions(text, findings)
    # Rebuild the output from the untouched pieces and the replacements: they must agree exactly.
    pos = 0
    rebuilt = []
    for f in findings:
        rebuilt.append(text[pos : f.start])
        rebuilt.append(f.replacement or "")
        pos = f.end
    rebuilt.append(text[pos:])
    assert out == "".join(rebuilt)
    for f in findings:
        assert f.evidence == f.replacement
        assert text[f.start : f.end] not in (f.detail or "")


_ANY_TEXT = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8"),
        st.sampled_from("0123456789０１２３４５６７８９一二三四五六七八九〇幺 -+@.号室路王李张\u200b，。"),
    ),
    max_size=80,
)


@settings(max_examples=300, deadline=None)
@given(_ANY_TEXT)
def test_check_never_raises_and_spans_are_sane(text: str) -> None:
    for check in (_CHECK, _PLACEHOLDER_CHECK):
        findings = check.run(CheckInput(text, _RECORD, split_sentences(text)))
        for f in findings:
            assert 0 <= f.start < f.end <= len(text)
            assert f.replacement
        once = apply_revisions(text, findings)
        assert _mask_text(check, once) == once
