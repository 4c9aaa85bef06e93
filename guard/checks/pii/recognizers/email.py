"""E-mail addresses with an ASCII local part and domain (RFC 5321 dot-atoms), written or read
out (zhangfei艾特qq点com, zhangfei at qq dot com: a voice reply spells the symbols).

Presidio's default pattern starts with `\\w`, which in Python matches Chinese characters, so it
reads 邮箱wang@example.com as one address and masks 邮箱 too. Here the local part is ASCII only.
"""

from __future__ import annotations

import re
from typing import ClassVar

from presidio_analyzer import Pattern

from guard.checks.pii.recognizers._base import ChinesePatternRecognizer

__all__ = ["AT_WORDS", "AsciiEmailRecognizer", "split_at"]

# An address read out (a voice reply): zhangfei艾特qq点com, zhangfei at qq dot com, wang(at)163.com.
AT_WORDS = ("艾特", "爱特")  # the at-sign said in Chinese; the analyzer's prefilter looks for them too
_SPOKEN_AT = rf"(?:@|[ ]?(?:{'|'.join(AT_WORDS)})[ ]?|[ ]at[ ]|[ ]?[(（\[]at[)）\]][ ]?)"
_SPOKEN_DOT = r"(?:\.|[ ]?点[ ]?|[ ]dot[ ]|[ ]?[(（\[]dot[)）\]][ ]?)"
_LOCAL = r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9](?:[A-Za-z0-9._%+\-]{0,63})"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?"
_TLD_END = r"[A-Za-z]{2,24}(?![A-Za-z0-9\-])"
_AT_RE = re.compile(_SPOKEN_AT)
_DOT_RE = re.compile(_SPOKEN_DOT)


class AsciiEmailRecognizer(ChinesePatternRecognizer):
    """邮箱: ASCII local part @ a dotted ASCII domain."""

    ENTITY: ClassVar[str] = "EMAIL_ADDRESS"
    CODE: ClassVar[str] = "pii.email"
    LABEL: ClassVar[str] = "邮箱"
    PATTERNS: ClassVar[tuple[Pattern, ...]] = (
        Pattern("email_ascii", rf"{_LOCAL}@(?:{_LABEL}\.)+{_TLD_END}", 0.9),
        Pattern("email_spoken", rf"{_LOCAL}{_SPOKEN_AT}(?:{_LABEL}{_SPOKEN_DOT})+{_TLD_END}", 0.9),
    )
    CONTEXT: ClassVar[tuple[str, ...]] = ("邮箱", "邮件", "电邮", "email", "e-mail")

    def validate_result(self, pattern_text: str) -> bool:
        local, _, domain = _written(pattern_text).partition("@")
        return ".." not in local and not local.endswith(".") and ".." not in domain


def split_at(address: str) -> tuple[str, str, str]:
    """(local part, the at-sign as written, domain as written); the at-sign '' when there is none."""
    m = _AT_RE.search(address)
    if m is None:
        return address, "", ""
    return address[: m.start()], m.group(), address[m.end() :]


def _written(address: str) -> str:
    """An address as written: its at-sign as @ and each dot of its domain as a dot."""
    local, at, domain = split_at(address)
    return f"{local}@{_DOT_RE.sub('.', domain)}" if at else address
