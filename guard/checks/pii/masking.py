"""Masks people recognise, one per entity, or a placeholder such as [手机号].

Partial masks keep just enough to confirm which item is meant and never the whole digit run:
138****5678, 0571-****8888, 110101********457X, ****0123, w***@example.com, 王**, and an address
kept to its province and city (浙江省杭州市****). A mask contains `*`, so masking masked text
finds nothing to mask again (idempotent).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Literal

from guard.checks.pii.recognizers._base import digits_only
from guard.checks.pii.recognizers.address import CITY_PREFIX
from guard.checks.pii.recognizers.email import split_at
from guard.checks.pii.recognizers.person import COMPOUND_SURNAMES

__all__ = ["MaskStyle", "mask"]

MaskStyle = Literal["partial", "placeholder"]

_PLACEHOLDERS: dict[str, str] = {
    "CN_MOBILE": "[手机号]",
    "CN_LANDLINE": "[电话]",
    "CN_ID_CARD": "[身份证号]",
    "CN_BANK_CARD": "[银行卡号]",
    "EMAIL_ADDRESS": "[邮箱]",
    "CN_PERSON": "[姓名]",
    "CN_ADDRESS": "[地址]",
}


def _mobile(text: str) -> str:
    d = digits_only(text)[-11:]
    return f"{d[:3]}****{d[-4:]}"


_EXTENSION = re.compile(r"(转|ext)([0-9]{1,5})$")


def _landline(text: str) -> str:
    ext = _EXTENSION.search(text)
    if ext is not None:  # 0571-88886666转123 → 0571-****6666转***, not the last four of all digits
        return _landline(text[: ext.start()]) + ext.group(1) + "*" * len(ext.group(2))
    d = digits_only(text)
    if d.startswith("86") and len(d) > 11:
        d = d[2:]
    if d.startswith("0"):
        area = 3 if d[1] in "12" else 4
        return f"{d[:area]}-****{d[-4:]}" if len(d) - area > 4 else f"{d[:area]}-****"
    return f"****{d[-4:]}" if len(d) > 6 else "****"


def _id_card(text: str) -> str:
    d = digits_only(text).upper()
    return d[:6] + "*" * (len(d) - 10) + d[-4:]


def _card(text: str) -> str:
    return "****" + digits_only(text)[-4:]


def _email(text: str) -> str:
    local, at, domain = split_at(text)  # zhangfei艾特qq点com → z***艾特qq点com
    return f"{local[:1]}***{at or '@'}{domain}"


def _person(text: str) -> str:
    keep = 2 if text[:2] in COMPOUND_SURNAMES else 1
    return text[:keep] + "*" * max(1, len(text) - keep)


def _address(text: str) -> str:
    m = CITY_PREFIX.match(text)
    return (m.group(0) if m else "") + "****"


_PARTIAL: dict[str, Callable[[str], str]] = {
    "CN_MOBILE": _mobile,
    "CN_LANDLINE": _landline,
    "CN_ID_CARD": _id_card,
    "CN_BANK_CARD": _card,
    "EMAIL_ADDRESS": _email,
    "CN_PERSON": _person,
    "CN_ADDRESS": _address,
}


def mask(entity: str, text: str, style: MaskStyle = "partial") -> str:
    """The masked form of `text`, a value of `entity` (e.g. CN_MOBILE)."""
    if style == "placeholder":
        return _PLACEHOLDERS[entity]
    return _PARTIAL[entity](text)
