"""The policy file schema and the loaded, ready-to-run `Policy`.

A policy file is YAML that a risk officer edits. `PolicyDoc` is its schema (unknown keys are
errors); `Policy` is what the engine runs: checks already built (automata compiled, tables
loaded) and a version that is the content hash of the file and every file it references.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from guard.checks.base import Check

__all__ = ["Campaign", "Policy", "PolicyDoc", "PolicySet", "has_append", "merge_checks"]

Segment = Literal["first_loan", "repeat_loan", "no_balance"]
_NAME = r"^[a-z0-9][a-z0-9_\-]*$"


class Campaign(BaseModel):
    """营销活动：在 starts_on 至 ends_on（含两端）期间，用 `checks` 覆盖本策略的检查配置。"""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=_NAME, description="活动名（英文小写、数字、下划线）")
    title: str = Field(default="", description="中文名称")
    description: str = ""
    starts_on: dt.date = Field(description="开始日期（含）")
    ends_on: dt.date = Field(description="结束日期（含）")
    checks: dict[str, Any] = Field(default_factory=dict, description="活动期间覆盖的检查配置（逐字段合并）")

    @model_validator(mode="after")
    def _dates_in_order(self) -> Campaign:
        if self.ends_on < self.starts_on:
            raise ValueError("ends_on must be on or after starts_on (结束日期不能早于开始日期)")
        return self

    def active_on(self, day: dt.date) -> bool:
        return self.starts_on <= day <= self.ends_on


def merge_checks(base: Any, override: Any) -> Any:
    """Merge a check-config override into a base: mappings merge key by key, anything else replaces.

    A key written `name+` with a list appends to the base's list `name` instead of replacing it.
    """
    if isinstance(base, dict) and isinstance(override, dict):
        out = dict(base)
        for key, value in override.items():
            if isinstance(key, str) and key.endswith("+") and isinstance(value, list):
                prev = out.get(key[:-1])
                out[key[:-1]] = [*(prev if isinstance(prev, list | tuple) else ()), *value]
            else:
                out[key] = merge_checks(base.get(key), value)
        return out
    if isinstance(override, dict):
        return merge_checks({}, override)  # `+` keys over nothing are plain lists
    return override


def has_append(value: Any) -> bool:
    """Whether a config override uses a `name+` (append) key anywhere."""
    if isinstance(value, dict):
        return any((isinstance(k, str) and k.endswith("+")) or has_append(v) for k, v in value.items())
    return False


class PolicyDoc(BaseModel):
    """策略文件的结构（YAML）。每个字段的中文说明见 docs/policies.md。"""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=_NAME, description="策略名（英文小写、数字、下划线）")
    title: str = Field(default="", description="中文名称")
    description: str = ""
    default: bool = Field(default=False, description="没有指定策略、也没有匹配的客群时使用这个策略")
    scenario: str | None = Field(default=None, description="业务场景，如 outbound_marketing / collection")
    segments: tuple[Segment, ...] = Field(default=(), description="按客群自动选用：first_loan/repeat_loan/no_balance")
    fallback: str | None = Field(
        default="不好意思，刚才的信息可能不准确，稍后由专员和您确认，感谢您的耐心。",
        description="拦截时对客户说的兜底话术；null 表示不放行任何文字",
    )
    fallback_file: str | None = Field(
        default=None, description="兜底话术放在单独的文本文件里（相对本文件）；与 fallback 二选一"
    )
    max_regenerations: int = Field(default=2, ge=0, le=5, description="违规时最多让模型重写几次")
    checks: dict[str, Any] = Field(default_factory=dict, description="各项检查的配置，键是检查名")
    cases: str | None = Field(default=None, description="策略测试用例文件（相对本文件）")
    extends: str | None = Field(default=None, description="继承另一个策略文件（相对本文件）的检查、兜底话术等")
    campaigns: tuple[Campaign, ...] = Field(default=(), description="限时营销活动，在活动日期内覆盖检查配置")

    @model_validator(mode="after")
    def _unique_campaigns(self) -> PolicyDoc:
        names = [c.name for c in self.campaigns]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"campaign names must be unique (重复的活动名): {', '.join(dup)}")
        return self


@dataclass(frozen=True)
class Policy:
    """A loaded policy: built checks, fallback and its content-hash version.

    `variants` holds, for every set of campaigns that is active together on some day, the policy
    with those campaigns' overrides already built (keyed by the campaigns' names in file order);
    `on(day)` picks one. `campaign` names the active campaigns of a variant ("a+b"), else None.
    """

    name: str
    version: str
    doc: PolicyDoc
    checks: tuple[Check, ...]
    source: Path | None = None
    files: Mapping[str, bytes] = field(default_factory=dict)
    campaign: str | None = None
    variants: Mapping[tuple[str, ...], Policy] = field(default_factory=dict)

    def on(self, day: dt.date) -> Policy:
        """The policy in force on `day`: the variant for the campaigns active then, else this policy."""
        if not self.variants:
            return self
        active = tuple(c.name for c in self.doc.campaigns if c.active_on(day))
        return self.variants.get(active, self) if active else self

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
            # The name is the caller's text: quoted back only when it has a policy name's shape
            # (a request's `guard.policy` could hold anything, a customer's name or phone too).
            shown = repr(name) if len(name) <= 64 and re.fullmatch(_NAME, name) else "(not a policy name)"
            raise KeyError(f"unknown policy {shown} (known: {known})") from None

    def select(self, name: str | None = None, segment: str | None = None, today: dt.date | None = None) -> Policy:
        """The policy a request asked for by name, else the one for its segment, else the default.

        With `today`, the campaign variant in force on that day is returned (see `Policy.on`).
        """
        policy = self._pick(name, segment)
        return policy.on(today) if today is not None else policy

    def _pick(self, name: str | None, segment: str | None) -> Policy:
        if name:
            return self.get(name)
        if segment:
            for policy in self.policies.values():
                if segment in policy.doc.segments:
                    return policy
        return self.policies[self.default]
