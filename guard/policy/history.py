"""`guard policy history`: which policy versions served, when first and last seen, how often.

`version_history` takes any iterable of `(timestamp, policy, policy_version)` rows — the audit
ledger's decision records, or an export of them — so it is independent of how they are stored.
A stream leaves two records (its open record, decision "open", and its final one): the rows
given are one per call, the final record's, or the open record's for a stream that never ended.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TextIO

from guard.audit.record import OPEN_DECISION

__all__ = ["VersionSeen", "read_jsonl_rows", "render_history", "version_history"]


@dataclass(frozen=True, slots=True)
class VersionSeen:
    """One policy version as the ledger saw it."""

    policy: str
    version: str
    first_seen: float
    last_seen: float
    count: int

    def to_json(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "policy_version": self.version,
            "first_seen": _iso(self.first_seen),
            "last_seen": _iso(self.last_seen),
            "count": self.count,
        }


def _seconds(ts: float | dt.datetime | str) -> float:
    if isinstance(ts, dt.datetime):
        return (ts if ts.tzinfo else ts.replace(tzinfo=dt.UTC)).timestamp()
    if isinstance(ts, str):
        return _seconds(dt.datetime.fromisoformat(ts))
    return float(ts)


def _iso(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).isoformat(timespec="seconds")


def version_history(rows: Iterable[tuple[float | dt.datetime | str, str, str]]) -> list[VersionSeen]:
    """First-seen, last-seen and count per (policy, version), ordered by policy then first seen."""
    seen: dict[tuple[str, str], list[float]] = {}
    for ts, policy, version in rows:
        t = _seconds(ts)
        acc = seen.get((policy, version))
        if acc is None:
            seen[(policy, version)] = [t, t, 1]
        else:
            acc[0], acc[1], acc[2] = min(acc[0], t), max(acc[1], t), acc[2] + 1
    out = [VersionSeen(p, v, a[0], a[1], int(a[2])) for (p, v), a in seen.items()]
    out.sort(key=lambda s: (s.policy, s.first_seen, s.version))
    return out


def read_jsonl_rows(lines: Iterable[str]) -> Iterator[tuple[float | str, str, str]]:
    """Rows from JSON Lines of decision records that carry `timestamp`, `policy`, `policy_version`.

    One row per call: a stream's open record (`decision` "open") counts only when no other record
    of its `trace_id` does (a stream that never ended); its rows come last."""
    opened: dict[str, tuple[float | str, str, str]] = {}
    closed: set[str] = set()
    for ts, policy, version, decision, trace_id in _records(lines):
        if decision == OPEN_DECISION and trace_id is not None:
            opened.setdefault(trace_id, (ts, policy, version))
            continue
        if trace_id is not None:
            closed.add(trace_id)
        yield ts, policy, version
    for trace_id, row in opened.items():
        if trace_id not in closed:
            yield row


def _records(lines: Iterable[str]) -> Iterator[tuple[float | str, str, str, Any, str | None]]:
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            ts, policy, version = rec["timestamp"], rec["policy"], rec["policy_version"]
        except (json.JSONDecodeError, KeyError, TypeError):
            raise ValueError(f"line {lineno}: expected a JSON object with timestamp, policy, policy_version") from None
        if not isinstance(ts, int | float | str) or not isinstance(policy, str) or not isinstance(version, str):
            raise ValueError(f"line {lineno}: timestamp must be a number or ISO time; policy and policy_version strings")
        trace_id = rec.get("trace_id")
        yield ts, policy, version, rec.get("decision"), trace_id if isinstance(trace_id, str) else None


def render_history(history: list[VersionSeen], out: TextIO) -> None:
    """A table: policy, version, first seen, last seen, decisions."""
    out.write(f"{'策略 policy':<24}{'版本 version':<20}{'首次 first seen (UTC)':<28}{'最近 last seen (UTC)':<28}{'次数 count':>10}\n")
    for s in history:
        out.write(f"{s.policy:<26}{s.version:<22}{_iso(s.first_seen):<30}{_iso(s.last_seen):<30}{s.count:>10}\n")
