"""docs/policies.md documents every field a risk officer can write and every `guard policy` command."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from pydantic import BaseModel

from guard.cli import build_parser
from guard.policy.cases import CasesFile, PolicyCase
from guard.policy.model import Campaign, PolicyDoc

DOC = (Path(__file__).resolve().parents[2] / "docs" / "policies.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("model", [PolicyDoc, Campaign, PolicyCase, CasesFile], ids=lambda m: m.__name__)
def test_every_field_is_documented(model: type[BaseModel]) -> None:
    prefix = "cases[]." if model is PolicyCase else ""
    missing = [name for name in model.model_fields if f"`{prefix}{name}`" not in DOC]
    assert missing == []


def test_every_policy_subcommand_is_documented() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    policy = sub.choices["policy"]
    psub = next(a for a in policy._actions if isinstance(a, argparse._SubParsersAction))
    assert set(psub.choices) == {"validate", "test", "diff", "explain", "history"}
    for name in psub.choices:
        assert f"guard policy {name}" in DOC
