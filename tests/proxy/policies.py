"""Small test policies: YAML ones (length only, the one check every build has) and Python ones
with test checks (a banned word that blocks, a phone number that is masked)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import ClassVar

from guard.checks.base import CheckInput
from guard.policy.loader import load_policy_set
from guard.policy.model import Policy, PolicyDoc, PolicySet
from guard.types import Action, Finding

FALLBACK = "抱歉，稍后由专员和您确认。"

_YAML = {
    "strict.yaml": f"""
name: strict
default: true
fallback: {FALLBACK}
max_regenerations: 0
checks:
  length:
    sentence_max: 20
    action: block
""",
    "regen.yaml": f"""
name: regen
fallback: {FALLBACK}
max_regenerations: 2
checks:
  length:
    sentence_max: 20
    action: regenerate
""",
    "trunc.yaml": f"""
name: trunc
fallback: {FALLBACK}
checks:
  length:
    sentence_max: 20
    reply_max: 30
    action: truncate
""",
    "open.yaml": f"""
name: open
fallback: {FALLBACK}
checks:
  length:
    sentence_max: 20
    action: warn
""",
}


class BannedWords:
    """Test check: `lexicon.tier3` blocks each banned word."""

    name: ClassVar[str] = "lexicon"

    def __init__(self, words: list[str]) -> None:
        self.pattern = re.compile("|".join(map(re.escape, words)))

    def run(self, inp: CheckInput) -> list[Finding]:
        return [
            Finding("lexicon.tier3", m.start(), m.end(), "三级敏感词", Action.BLOCK, tier=3, correction="不要承诺收益。")
            for m in self.pattern.finditer(inp.reply)
        ]


class PhoneMask:
    """Test check: `pii.phone` masks mainland mobile numbers."""

    name: ClassVar[str] = "pii"
    pattern = re.compile(r"1[3-9]\d{9}")

    def run(self, inp: CheckInput) -> list[Finding]:
        return [
            Finding("pii.phone", m.start(), m.end(), "手机号", Action.MASK, replacement="*" * 11)
            for m in self.pattern.finditer(inp.reply)
        ]


def words_policy() -> Policy:
    doc = PolicyDoc(name="words", fallback=FALLBACK, max_regenerations=0)
    return Policy(name="words", version="words-v1", doc=doc, checks=(BannedWords(["稳赚不赔"]), PhoneMask()))


def write_yaml_policies(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in _YAML.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def make_policy_set(folder: Path) -> PolicySet:
    """Every YAML test policy plus the Python `words` policy; `strict` is the default."""
    loaded = load_policy_set(write_yaml_policies(folder))
    policies = {**loaded.policies, "words": words_policy()}
    return PolicySet(policies=policies, default=loaded.default, version=loaded.version + "+words")
