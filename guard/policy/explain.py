"""`guard policy explain`: which rule fired on a reply, on which characters, and why.

For a risk officer at a terminal: the reply is shown with every flagged span in 【】 followed by
the numbers of the findings covering it; each finding names its code, characters, action, reason,
and the policy block (file:line and effective settings, campaign overrides included) behind it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from guard.engine import evaluate
from guard.policy.loader import merge_check_blocks
from guard.policy.model import Policy
from guard.policy.yamlsrc import parse_yaml
from guard.types import CustomerRecord, Finding, Verdict

__all__ = ["Explanation", "explain", "mark_spans", "render_explanation"]


@dataclass(frozen=True, slots=True)
class Rule:
    """The policy block behind a finding: check name, where it is written, effective settings."""

    check: str
    file: str | None
    line: int | None
    config: Any


@dataclass(frozen=True, slots=True)
class Explanation:
    """A verdict with, for each finding, the text it covers and the rule that produced it."""

    policy: Policy
    verdict: Verdict
    reply: str
    rules: tuple[Rule | None, ...]

    def to_json(self) -> dict[str, Any]:
        findings = []
        for i, (f, rule) in enumerate(zip(self.verdict.violations, self.rules, strict=True), start=1):
            item: dict[str, Any] = {**f.to_json(), "n": i, "text": self.reply[f.start : f.end]}
            if rule is not None:
                item["rule"] = {"check": rule.check, "file": rule.file, "line": rule.line, "config": rule.config}
            findings.append(item)
        return {
            "policy": self.policy.name,
            "policy_version": self.policy.version,
            "campaign": self.policy.campaign,
            "decision": self.verdict.decision.value,
            "released": self.verdict.released,
            "marked": mark_spans(self.reply, self.verdict.violations),
            "findings": findings,
        }


def _check_name(policy: Policy, code: str) -> str | None:
    family = code.split(".", 1)[0]
    names = {c.name for c in policy.checks}
    for candidate in (family, family + "s"):
        if candidate in names:
            return candidate
    return None


def _rule(policy: Policy, code: str) -> Rule | None:
    name = _check_name(policy, code)
    if name is None:
        return None
    config: Any = policy.doc.checks.get(name)
    path: tuple[str | int, ...] = ("checks", name)
    if policy.campaign:
        active = policy.campaign.split("+")
        for i, c in enumerate(policy.doc.campaigns):
            if c.name in active and name in c.checks:
                config = merge_check_blocks({name: config}, {name: c.checks[name]})[name]
                path = ("campaigns", i, "checks", name)
    file, line = _locate(policy.source, path) if policy.source is not None else (None, None)
    return Rule(name, file, line, config)


def _has(data: Any, path: tuple[str | int, ...]) -> bool:
    node = data
    for part in path:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return False
    return True


def _locate(source: Path, path: tuple[str | int, ...]) -> tuple[str | None, int | None]:
    """The file and line where `path` is written: this policy file, else up its `extends` chain."""
    seen: set[Path] = set()
    current: Path | None = source
    while current is not None and current not in seen:
        seen.add(current)
        try:
            doc = parse_yaml(str(current), current.read_text(encoding="utf-8-sig"))
        except Exception:  # the file changed since load: the rule is still named, just without a line
            return str(current), None
        if _has(doc.data, path):
            return str(current), doc.line_of(path)
        base = doc.data.get("extends") if isinstance(doc.data, dict) else None
        current = current.parent / base if isinstance(base, str) else None
    return str(source), None


def mark_spans(reply: str, findings: tuple[Finding, ...]) -> str:
    """The reply with each flagged run of characters in 【】 and the covering finding numbers after it."""
    cover: list[tuple[int, ...]] = [()] * len(reply)
    for n, f in enumerate(findings, start=1):
        for i in range(max(0, f.start), min(len(reply), f.end)):
            cover[i] = (*cover[i], n)
    out: list[str] = []
    i = 0
    while i < len(reply):
        j = i
        while j < len(reply) and cover[j] == cover[i]:
            j += 1
        if cover[i]:
            out.append(f"【{reply[i:j]}】{''.join(f'[{n}]' for n in cover[i])}")
        else:
            out.append(reply[i:j])
        i = j
    return "".join(out)


def explain(policy: Policy, record: CustomerRecord, reply: str, *, today: dt.date | None = None) -> Explanation:
    """Evaluate `reply` and attach to each finding the rule (policy block) that produced it."""
    effective = policy.on(today) if today is not None else policy
    verdict = evaluate(effective, record, reply)
    return Explanation(effective, verdict, reply, tuple(_rule(effective, f.code) for f in verdict.violations))


def _settings(config: Any) -> str:
    if isinstance(config, dict):
        return ", ".join(f"{k}={v}" for k, v in config.items())
    return "默认设置 defaults" if config is None else str(config)


def render_explanation(ex: Explanation) -> str:
    """A readable, Chinese-first explanation."""
    p, v = ex.policy, ex.verdict
    lines = [
        f"策略 policy   : {p.name} ({p.version})" + (f"  活动 campaign: {p.campaign}" if p.campaign else ""),
        f"决定 decision : {v.decision.value}",
        f"放行 released : {v.released if v.released is not None else '（不放行任何文字）'}",
        "",
        "标注 marked   : " + mark_spans(ex.reply, v.violations),
    ]
    if not v.violations:
        lines.append("没有规则命中 / no rule fired")
    for n, (f, rule) in enumerate(zip(v.violations, ex.rules, strict=True), start=1):
        tier = f" tier{f.tier}" if f.tier is not None else ""
        lines += [
            "",
            f"[{n}] {f.code}{tier}  字符 chars {f.start}–{f.end}：「{ex.reply[f.start:f.end]}」",
            f"    动作 action : {f.action.value}",
            f"    原因 why    : {f.detail}",
        ]
        if rule is not None:
            where = f"{rule.file}:{rule.line}" if rule.line is not None else (rule.file or "")
            lines.append(f"    规则 rule   : checks.{rule.check} ({where}) {_settings(rule.config)}")
        elif f.code == "guard.check_error":
            lines.append("    规则 rule   : 检查出错时一律拦截（失败关闭）/ a failing check blocks (fail closed)")
    return "\n".join(lines)
