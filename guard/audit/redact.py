"""Last-line PII scrubbing for everything the audit trail keeps or exports.

Callers are expected to hand over masked text already (`DecisionRecord.original_masked`); this
module masks again, defensively, before anything reaches the ledger, a span or a metric: Chinese
mobile numbers, 18-digit resident ID numbers (GB 11643), bank card numbers, e-mail addresses,
the spans of `pii.*` violations, and any value the caller names as sensitive (e.g. the
customer's name). Masks keep the length in code points, so violation offsets stay valid.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = ["MASK", "Redactor", "mask_spans"]

MASK = "*"

_PATTERNS = (
    re.compile(r"(?<![0-9A-Za-z])[1-9]\d{16}[0-9Xx](?![0-9A-Za-z])"),  # resident ID (GB 11643)
    re.compile(r"(?<!\d)\d{15,19}(?!\d)"),  # bank card / long account numbers
    re.compile(r"(?<!\d)(?:\+?86[- ]?)?1[3-9]\d(?:[- ]?\d{4}){2}(?!\d)"),  # mobile
    re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}"),  # e-mail
)


# Every pattern above needs a digit (`\d`, any script's digits, as they use) or an "@": a text
# with neither is left as it is without running them (most replies; property-tested equal).
_MAY_MATCH = re.compile(r"[\d@]")


def _stars(m: re.Match[str]) -> str:
    return MASK * len(m.group(0))


def mask_spans(text: str, spans: Iterable[tuple[int, int]]) -> str:
    """Replace each [start, end) code-point span with as many mask characters."""
    chars = list(text)
    n = len(chars)
    for start, end in spans:
        for i in range(max(0, start), min(n, end)):
            chars[i] = MASK
    return "".join(chars)


class Redactor:
    """Masks PII in strings and nested JSON-like values (built once; patterns precompiled)."""

    def text(self, s: str, values: Sequence[str] = ()) -> str:
        """`s` with every known value and every PII pattern masked."""
        for v in sorted((v for v in values if v), key=len, reverse=True):
            s = s.replace(v, MASK * len(v))
        if _MAY_MATCH.search(s) is None:
            return s
        for p in _PATTERNS:
            s = p.sub(_stars, s)
        return s

    def value(self, v: Any, values: Sequence[str] = ()) -> Any:
        """Masks every string inside dicts, lists and tuples (keys are kept)."""
        if isinstance(v, str):
            return self.text(v, values)
        if isinstance(v, Mapping):
            return {k: self.value(x, values) for k, x in v.items()}
        if isinstance(v, list | tuple):
            return [self.value(x, values) for x in v]
        return v

    def reply(
        self,
        text: str | None,
        violations: Iterable[Mapping[str, Any]],
        values: Sequence[str] = (),
        *,
        done: tuple[str, str] | None = None,
    ) -> str | None:
        """A reply with the spans of its `pii.*` violations masked, then `text()` applied.

        `done`: a string already passed through `text()` with the same `values`, and the result;
        when the reply with its spans masked is that string, the result is reused (most replies
        are released as they came, so the record holds the same text twice)."""
        if text is None:
            return None
        spans = [
            (int(v["start"]), int(v["end"]))
            for v in violations
            if str(v.get("code", "")).startswith("pii.")
            and isinstance(v.get("start"), int)
            and isinstance(v.get("end"), int)
        ]
        source = mask_spans(text, spans) if spans else text
        if done is not None and source == done[0]:
            return done[1]
        return self.text(source, values)
