"""Sensitive-word tiers that survive evasion (`lexicon.tierN`): file format, matcher, check."""

from __future__ import annotations

from guard.checks.lexicon.check import LEXICON, ExtraList, LexiconCheck, LexiconConfig, build_lexicon_check
from guard.checks.lexicon.lexicon_file import LexiconEntry, LexiconFileError, parse_lexicon, parse_plain_list
from guard.checks.lexicon.matcher import LexiconHit, LexiconMatcher

__all__ = [
    "LEXICON",
    "ExtraList",
    "LexiconCheck",
    "LexiconConfig",
    "LexiconEntry",
    "LexiconFileError",
    "LexiconHit",
    "LexiconMatcher",
    "build_lexicon_check",
    "parse_lexicon",
    "parse_plain_list",
]
