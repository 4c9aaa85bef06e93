"""The explicit registry of checks a policy can configure (no discovery, no if-chains).

A policy's `checks:` mapping is keyed by these names; each value is validated by the check's own
config model. The order here is the order checks run and findings are reported.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from guard.checks.base import CheckSpec
from guard.checks.facts import FACTS
from guard.checks.length import LENGTH
from guard.checks.lexicon import LEXICON
from guard.checks.pii import PII

__all__ = ["REGISTRY"]

_SPECS: tuple[CheckSpec[Any], ...] = (LENGTH, FACTS, LEXICON, PII)

REGISTRY: Mapping[str, CheckSpec[Any]] = MappingProxyType({spec.name: spec for spec in _SPECS})
