"""Chinese PII recognizers in Presidio's style, one module per entity."""

from __future__ import annotations

from guard.checks.pii.recognizers.address import ChineseAddressRecognizer
from guard.checks.pii.recognizers.bank_card import BankCardRecognizer
from guard.checks.pii.recognizers.cn_id_card import ChineseIdCardRecognizer
from guard.checks.pii.recognizers.cn_landline import ChineseLandlineRecognizer
from guard.checks.pii.recognizers.cn_mobile import ChineseMobileRecognizer
from guard.checks.pii.recognizers.email import AsciiEmailRecognizer
from guard.checks.pii.recognizers.person import ChinesePersonRecognizer

__all__ = [
    "ENTITY_CODES",
    "RECOGNIZERS",
    "AsciiEmailRecognizer",
    "BankCardRecognizer",
    "ChineseAddressRecognizer",
    "ChineseIdCardRecognizer",
    "ChineseLandlineRecognizer",
    "ChineseMobileRecognizer",
    "ChinesePersonRecognizer",
]

RECOGNIZERS = (
    ChineseIdCardRecognizer,
    BankCardRecognizer,
    ChineseMobileRecognizer,
    ChineseLandlineRecognizer,
    AsciiEmailRecognizer,
    ChineseAddressRecognizer,
    ChinesePersonRecognizer,
)

# Presidio entity → guard violation code (contract §4).
ENTITY_CODES: dict[str, str] = {cls.ENTITY: cls.CODE for cls in RECOGNIZERS}
