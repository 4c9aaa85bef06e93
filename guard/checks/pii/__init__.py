"""PII masking: Chinese recognizers in Presidio's style, a prefiltered analyzer, masks, the check."""

from __future__ import annotations

from guard.checks.base import CheckSpec
from guard.checks.pii.check import PiiCheck, PiiConfig, build_pii_check

__all__ = ["PII", "PiiCheck", "PiiConfig"]

PII: CheckSpec[PiiConfig] = CheckSpec(
    "pii", PiiConfig, build_pii_check, "个人信息遮盖（手机号、身份证、银行卡、邮箱、他人姓名、地址）"
)
