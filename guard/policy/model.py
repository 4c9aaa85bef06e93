"""The policy file schema and the loaded, ready-to-run `Policy`.

A policy file is YAML that a risk officer edits. `PolicyDoc` is its schema (unknown keys are
errors); `Policy` is what the engine runs: checks already built (automata compiled, tables
loaded) and a version that is the content hash of the file and every file it references.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from guard.checks.base import Check

__all__ = ["Policy", "PolicyDoc", "PolicySet"]

Segment = Literal["first_loan", "repeat_loan", "no_balance"]


class PolicyDoc(BaseModel):
    """策略文件的结构（YAML）。每个字段的中文说明见 docs/policies.md。"""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_\-]*$", description="策略名（英文小写、数字、下划线）")
    title: str = Field(default="", description="中文名称")
    description: str = ""
    default: bool = Field(default=False, description="没有指定策略、也没有匹配的客群时使用这个策略")
    scenario: str | None = Field(default=None, description="业务场景，如 outbound_marketing / collection")
    segments: tuple[Segment, ...] = Field(default=(), description="按客群自动选用：first_loan/repeat_loan/no_balance")
    fallback: str | None = Field(
        default="不好意思，刚才的信息可能不准确，稍后由专员和您确认，感谢您的耐心。",
        description="拦截时对客户说的兜底话术；null 表示不放行任何文字",
    )
    max_regenerations: int = Field(default=2, ge=0, le=5, description="违规时最多让模型重写几次")
    checks: dict[str, Any] = Field(default_factory=dict, description="各项检查的配置，键是检查名")
    cases: str | None = Field(default=None, description="策略测试用例文件（相对本文件）")


@dataclass(frozen=True)
class Policy:
    """A loaded policy: built checks, fallback and its content-hash version."""

    name: str
    version: str
    doc: PolicyDoc
    checks: tuple[Check, ...]
    source: Path | None = None
    files: Mapping[str, bytes] = field(default_factory=dict)

    @property
    def fallback(self) -> str | None:
        return self.doc.fallback

    @property
    def max_regenerations(self) -> int:
        return self.doc.max_regenerations


@dataclass(frozen=True)
class PolicySet:
    """Every policy of one folder, validated together; `version` changes when any file does."""

    policies: Mapping[str, Policy]
    default: str
    version: str
    source: Path | None = None

    def get(self, name: str) -> Policy:
        try:
            return self.policies[name]
        except KeyError:
            known = ", ".join(sorted(self.policies))
            raise KeyError(f"unknown policy {name!r} (known: {known})") from None

    def select(self, name: str | None = None, segment: str | None = None) -> Policy:
        """The policy a request asked for by name, else the one for its segment, else the default."""
        if name:
            return self.get(name)
        if segment:
            for policy in self.policies.values():
                if segment in policy.doc.segments:
                    return policy
        return self.policies[self.default]
