"""E-mail addresses with an ASCII local part and domain (RFC 5321 dot-atoms).

Presidio's default pattern starts with `\\w`, which in Python matches Chinese characters, so it
reads 邮箱wang@example.com as one address and masks 邮箱 too. Here the local part is ASCII only.
"""

from __future__ import annotations

from typing import ClassVar

from presidio_analyzer import Pattern

from guard.checks.pii.recognizers._base import ChinesePatternRecognizer

__all__ = ["AsciiEmailRecognizer"]


class AsciiEmailRecognizer(ChinesePatternRecognizer):
    """邮箱: ASCII local part @ a dotted ASCII domain."""

    ENTITY: ClassVar[str] = "EMAIL_ADDRESS"
    CODE: ClassVar[str] = "pii.email"
    LABEL: ClassVar[str] = "邮箱"
    PATTERNS: ClassVar[tuple[Pattern, ...]] = (
        Pattern(
            "email_ascii",
            r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9](?:[A-Za-z0-9._%+\-]{0,63})@"
            r"(?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![A-Za-z0-9\-])",
            0.9,
        ),
    )
    CONTEXT: ClassVar[tuple[str, ...]] = ("邮箱", "邮件", "电邮", "email", "e-mail")

    def validate_result(self, pattern_text: str) -> bool:
        local, _, domain = pattern_text.partition("@")
        return ".." not in local and not local.endswith(".") and ".." not in domain
