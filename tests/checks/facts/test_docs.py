from __future__ import annotations

import re
from pathlib import Path

import yaml

from guard.checks.facts import FactsConfig
from guard.checks.facts.config import AgeRule, CouponRule, CreditLineRule, CustomFact, GenderRule, NameRule

DOC = Path(__file__).resolve().parents[3] / "docs" / "policies.md"


def _section() -> str:
    text = DOC.read_text(encoding="utf-8")
    return text[text.index("### `facts`") :]


def test_example_in_docs_is_a_valid_config() -> None:
    block = re.search(r"```yaml\n(.*?)```", _section(), re.DOTALL)
    assert block is not None
    cfg = FactsConfig.model_validate(yaml.safe_load(block.group(1))["checks"]["facts"])
    assert [c.field for c in cfg.custom] == ["due_date", "calls_last_7d", "segment"]


def test_every_field_is_documented() -> None:
    section = _section()
    for prefix, model in (
        ("name", NameRule),
        ("gender", GenderRule),
        ("credit_line", CreditLineRule),
        ("coupon", CouponRule),
        ("age", AgeRule),
    ):
        for field in model.model_fields:
            assert f"`{prefix}.{field}`" in section or f"`{prefix}.{field}` /" in section or f"/ `{prefix}.{field}`" in section, (
                prefix,
                field,
            )
    for field in CustomFact.model_fields:
        assert f"`{field}`" in section, field
