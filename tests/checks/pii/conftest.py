from __future__ import annotations

import pytest

from guard.checks.pii.analyzer import PiiAnalyzer
from guard.checks.pii.recognizers import ENTITY_CODES


@pytest.fixture(scope="session")
def analyzer() -> PiiAnalyzer:
    return PiiAnalyzer(ENTITY_CODES)


def found(analyzer: PiiAnalyzer, text: str, entity: str) -> list[str]:
    """The text of every span of `entity` the analyzer finds in `text`."""
    return [text[s.start : s.end] for s in analyzer.analyze(text) if s.entity == entity]
