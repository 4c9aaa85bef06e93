"""`guard demo` without a server: the bundled samples through the policy, shown as a table."""

from __future__ import annotations

import json
import unicodedata
from importlib import resources
from typing import TextIO

from guard.engine import evaluate
from guard.policy.model import PolicySet
from guard.types import CustomerRecord

__all__ = ["display_width", "load_samples", "render_table", "run_offline_demo"]


def display_width(text: str) -> int:
    """Columns a terminal uses for `text` (CJK and full-width characters take two)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _fit(text: str, width: int) -> list[str]:
    """Wrap `text` into lines of at most `width` columns."""
    lines: list[str] = []
    for para in text.split("\n"):
        cur, cur_w = "", 0
        for ch in para:
            w = display_width(ch)
            if cur_w + w > width:
                lines.append(cur)
                cur, cur_w = "", 0
            cur += ch
            cur_w += w
        lines.append(cur)
    return lines


def render_table(headers: list[str], rows: list[list[str]], widths: list[int]) -> str:
    """A box table with wrapped cells, aligned for CJK text."""
    sep = "+" + "+".join("-" * (w + 2) for w in widths) + "+"

    def render_row(cells: list[str]) -> list[str]:
        wrapped = [_fit(c, w) for c, w in zip(cells, widths, strict=True)]
        height = max(len(c) for c in wrapped)
        out = []
        for i in range(height):
            parts = []
            for cell, w in zip(wrapped, widths, strict=True):
                piece = cell[i] if i < len(cell) else ""
                parts.append(" " + piece + " " * (w - display_width(piece)) + " ")
            out.append("|" + "|".join(parts) + "|")
        return out

    lines = [sep, *render_row(headers), sep.replace("-", "=")]
    for row in rows:
        lines.extend(render_row(row))
        lines.append(sep)
    return "\n".join(lines)


def load_samples() -> list[dict[str, object]]:
    text = resources.files("guard.demo").joinpath("samples.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def run_offline_demo(policies: PolicySet, out: TextIO) -> int:
    samples = load_samples()
    rows = []
    for case in samples:
        record = CustomerRecord.model_validate(case["record"])
        reply = str(case["reply"])
        policy = policies.select(None, record.segment)
        verdict = evaluate(policy, record, reply)
        why = "；".join(f"{f.code}（{f.action.value}）{f.detail}" for f in verdict.violations) or "—"
        released = verdict.released if verdict.released is not None else "（不放行）"
        rows.append([str(case["id"]), reply, released, f"{verdict.decision.value}\n{why}"])
    out.write(f"guard demo — {len(samples)} 条样例回复，策略 {policies.default}（版本 {policies.version}）\n")
    out.write(render_table(["样例", "模型原话", "客户听到", "决定与原因"], rows, [14, 34, 34, 34]) + "\n")
    return 0
