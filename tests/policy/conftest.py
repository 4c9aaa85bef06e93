"""Shared helpers for policy tests: a file-reading test check, policy folders written on the fly."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar, Literal

import pytest

from guard.checks.base import CheckConfig, CheckInput, CheckSpec, ConfigError, PolicyContext
from guard.checks.registry import REGISTRY
from guard.types import Action, CustomerRecord, Finding

FIXTURES = Path(__file__).parent / "fixtures"

RECORD = CustomerRecord(customer_id="C1", name="张飞", gender="male", credit_line=4000)


class WordsConfig(CheckConfig):
    """A test-only check that reads a word file (like a lexicon) and allows some words."""

    file: str | None = None
    allow: tuple[str, ...] = ("保本理财",)  # a default list, to test appending to defaults
    action: Literal["warn", "block"] = "block"


class WordsCheck:
    name: ClassVar[str] = "words"

    def __init__(self, words: list[str], cfg: WordsConfig) -> None:
        self.words = [w for w in words if w not in cfg.allow]
        self.action = Action(cfg.action)

    def run(self, inp: CheckInput) -> list[Finding]:
        out = []
        for w in self.words:
            i = inp.reply.find(w)
            if i >= 0:
                out.append(Finding("words.hit", i, i + len(w), f"命中词表中的词（{len(w)} 字）", self.action))
        return out


def _build_words(cfg: WordsConfig, ctx: PolicyContext) -> WordsCheck:
    words: list[str] = []
    if cfg.file is not None:
        text = ctx.read_text(cfg.file, ("file",))
        words = [w.strip() for w in text.splitlines() if w.strip() and not w.startswith("#")]
        if not words:
            raise ConfigError(f"{cfg.file} has no words", ("file",))
    return WordsCheck(words, cfg)


WORDS: CheckSpec[WordsConfig] = CheckSpec("words", WordsConfig, _build_words, "test words")


@pytest.fixture
def words_check(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Make the test-only `words` check available to the policy loader."""
    extended: dict[str, Any] = {**REGISTRY, "words": WORDS}
    monkeypatch.setattr("guard.policy.loader.REGISTRY", MappingProxyType(extended))
    yield


def write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


BASE_POLICY = """\
name: base
default: true
fallback: 请稍后由专员和您确认。
checks:
  length:
    sentence_max: {sentence_max}
    action: truncate
"""
