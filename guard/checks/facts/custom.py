"""Policy-defined facts: `fact.<field>` for any record field a risk officer names in the policy.

Each fact has trigger words and a type. In a clause holding a trigger:
- `amount`: the money amount whose nearest keyword is the trigger equals the field (Decimal);
- `integer`: the number whose nearest keyword is the trigger equals the field;
- `date`: a date (2026年12月31日, 12月31号, 2026-12-31, 十二月三十一日) equals the field (the year
  only when the reply says one);
- `enum` / `text`: a word listed for another value is a wrong claim (`values` maps each record
  value to its words; for `text` the value itself is the word when none are listed).
A claim when the record lacks the field cannot be fixed: the fact's `fallback` applies.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from guard.checks.facts.common import ReplyView, finding, number_fix, record_value
from guard.checks.facts.config import CustomFact
from guard.checks.facts.credit_line import yuan
from guard.text.amounts import NumberStyle, fold_width, format_number, parse_number
from guard.types import CustomerRecord, Finding

__all__ = ["CustomFactChecker", "find_dates"]

_CN_SMALL = "一二三四五六七八九十"
_CN_YEAR = "〇零一二三四五六七八九"
_DATE = re.compile(
    rf"(?:(?P<y>\d{{4}}|[{_CN_YEAR}]{{4}})\s*年\s*)?(?P<m>\d{{1,2}}|[{_CN_SMALL}]{{1,3}})\s*月\s*"
    rf"(?P<d>\d{{1,2}}|[{_CN_SMALL}]{{1,3}})\s*(?P<s>[日号])"
    r"|(?P<iy>\d{4})(?P<sep>[-/.])(?P<im>\d{1,2})(?P=sep)(?P<id>\d{1,2})(?!\d)"
)


def _small(text: str) -> int | None:
    value = parse_number(text)
    if value is None or value != value.to_integral_value():
        return None
    return int(value)


_YEAR_DIGITS = {"〇": "0", "零": "0", "一": "1", "二": "2", "三": "3", "四": "4", "五": "5", "六": "6", "七": "7", "八": "8", "九": "9"}


def _year(text: str) -> int:
    return int(text) if text.isdigit() else int("".join(_YEAR_DIGITS[c] for c in text))


def find_dates(text: str) -> list[tuple[int, int, int | None, int, int, str]]:
    """(start, end, year or None, month, day, form) for each date; form 'iso:-', 'cn' or 'ar:日'."""
    out: list[tuple[int, int, int | None, int, int, str]] = []
    for m in _DATE.finditer(fold_width(text)):
        y: int | None
        if m.group("iy"):
            y, mo, d = int(m.group("iy")), int(m.group("im")), int(m.group("id"))
            form = "iso:" + m.group("sep")
        else:
            y = _year(m.group("y")) if m.group("y") else None
            mo_v, d_v = _small(m.group("m")), _small(m.group("d"))
            if mo_v is None or d_v is None:
                continue
            mo, d = mo_v, d_v
            form = ("ar:" if m.group("m").isdigit() else "cn:") + m.group("s")
        if 1 <= mo <= 12 and 1 <= d <= 31:
            out.append((m.start(), m.end(), y, mo, d, form))
    return out


def _render_date(value: dt.date, with_year: bool, form: str) -> str:
    kind, _, suffix = form.partition(":")
    if kind == "iso":
        return f"{value.year}{suffix}{value.month:02d}{suffix}{value.day:02d}"
    if kind == "cn":
        cn = NumberStyle(form="chinese")
        year = "".join("〇一二三四五六七八九"[int(c)] for c in str(value.year)) + "年" if with_year else ""
        return f"{year}{format_number(Decimal(value.month), cn)}月{format_number(Decimal(value.day), cn)}{suffix}"
    year = f"{value.year}年" if with_year else ""
    return f"{year}{value.month}月{value.day}{suffix}"


def _as_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip()[:10])
        except ValueError:
            return None
    return None


def _as_decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


class CustomFactChecker:
    """Checks one policy-defined fact."""

    def __init__(self, fact: CustomFact, claim_labels: frozenset[str]) -> None:
        self.fact = fact
        self.code = f"fact.{fact.field}"
        self.label = f"custom:{fact.field}"
        self.name = fact.label or fact.field
        self.claim_labels = claim_labels
        self.surfaces: dict[str, tuple[str, ...]] = {
            value: words or (value,) for value, words in fact.values.items()
        }

    def _f(self, span: tuple[int, int], detail: str, correction: str, replacement: str | None = None) -> Finding:
        return finding(
            self.code, span, detail, self.fact.action, self.fact.fallback, replacement=replacement, correction=correction
        )

    def _missing(self, span: tuple[int, int]) -> Finding:
        return self._f(
            span,
            f"客户记录没有“{self.name}”，回复却说了",
            f"客户记录里没有{self.name}的信息，请不要提及具体的{self.name}。",
        )

    def run(self, view: ReplyView, record: CustomerRecord) -> list[Finding]:
        triggers = [h for h in view.hits if self.label in h.labels]
        if not triggers:
            return []
        raw = record_value(record, self.fact.field)
        kind = self.fact.type
        if kind in ("amount", "integer"):
            return self._numbers(view, raw, money=kind == "amount")
        clauses = {view.clause(h.start) for h in triggers}
        if kind == "date":
            return self._dates(view, raw, clauses)
        return self._words(view, raw, clauses)

    def _numbers(self, view: ReplyView, raw: Any, money: bool) -> list[Finding]:
        want = _as_decimal(raw)
        out: list[Finding] = []
        for n in view.numbers:
            if money and not n.money:
                continue
            hit = view.nearest(n.full_start, n.full_end, self.claim_labels)
            if hit is None or self.label not in hit.labels:
                continue
            if want is None:
                out.append(self._missing((n.start, n.end)))
            elif n.value != want:
                unit = " 元" if money else ""
                out.append(
                    self._f(
                        (n.start, n.end),
                        f"{self.name}与客户记录不符：回复为 {yuan(n.value)}{unit}，记录为 {yuan(want)}{unit}",
                        f"回复里说的{self.name}（{yuan(n.value)}{unit}）不对；客户记录是 {yuan(want)}{unit}，请按记录说。",
                        number_fix(n, want) if want >= 0 else None,
                    )
                )
        return out

    def _dates(self, view: ReplyView, raw: Any, clauses: set[tuple[int, int]]) -> list[Finding]:
        want = _as_date(raw)
        out: list[Finding] = []
        for start, end, y, mo, d, form in find_dates(view.reply):
            if view.clause(start) not in clauses:
                continue
            if want is None:
                out.append(self._missing((start, end)))
                continue
            if (mo, d) == (want.month, want.day) and (y is None or y == want.year):
                continue
            shown = f"{y}年{mo}月{d}日" if y else f"{mo}月{d}日"
            right = want.isoformat()
            out.append(
                self._f(
                    (start, end),
                    f"{self.name}与客户记录不符：回复为 {shown}，记录为 {right}",
                    f"回复里说的{self.name}（{shown}）不对；客户记录是 {right}，请按记录说。",
                    _render_date(want, y is not None or form.startswith("iso"), form),
                )
            )
        return out

    def _words(self, view: ReplyView, raw: Any, clauses: set[tuple[int, int]]) -> list[Finding]:
        want = None if raw is None else str(raw.value if hasattr(raw, "value") else raw)
        out: list[Finding] = []
        reply = view.reply
        right_words = self.surfaces.get(want, ()) if want is not None else ()
        for c_start, c_end in sorted(clauses):
            clause = reply[c_start:c_end]
            for value, words in self.surfaces.items():
                if value == want:
                    continue
                for w in words:
                    if w in right_words:
                        continue
                    pos = clause.find(w)
                    if pos < 0:
                        continue
                    span = (c_start + pos, c_start + pos + len(w))
                    if want is None:
                        out.append(self._missing(span))
                        continue
                    rep = right_words[0] if right_words else None
                    out.append(
                        self._f(
                            span,
                            f"{self.name}与客户记录不符",
                            f"回复里说的{self.name}不对；客户记录的{self.name}是“{right_words[0] if right_words else want}”，请按记录说。",
                            rep,
                        )
                    )
        return out
