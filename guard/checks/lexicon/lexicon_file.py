"""Lexicon files: parse and validate the word lists risk officers edit (docs/policies.md).

Format (UTF-8, one entry a line)::

    # 注释：整行注释，或词条后空格加 # 的行尾注释
    [tier=3 | category=收益承诺 | reason=广告法第二十五条：不得承诺保本、保收益]
    稳赚
    保本      # 行尾注释
    [allow]
    确保本人

A `[tier=N | category=… | reason=…]` header opens a deny section (Chinese keys 等级/类别/原因 work
too); `[allow]` (or `[允许]`) opens an allow section. Every problem is reported as `file:line`.
Plain third-party lists (one word a line, stray trailing commas) are read by `parse_plain_list`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

__all__ = ["LexiconEntry", "LexiconFileError", "check_keys", "parse_lexicon", "parse_plain_list"]

_DEFAULT_REASON = "该说法可能误导客户或不符合合规要求"
_KEY_ALIASES = {
    "tier": "tier",
    "等级": "tier",
    "category": "category",
    "类别": "category",
    "reason": "reason",
    "原因": "reason",
}
_ALLOW_HEADERS = {"allow", "允许", "白名单"}
_INLINE_COMMENT = re.compile(r"\s#.*$")


@dataclass(frozen=True, slots=True)
class LexiconEntry:
    """One line of a lexicon: a denied word (`tier` set) or an allowed word (`tier` None)."""

    word: str
    tier: int | None
    category: str
    reason: str
    source: str  # "file:line", for error messages and audit

    @property
    def allowed(self) -> bool:
        return self.tier is None


class LexiconFileError(Exception):
    """One or more `file:line: message` problems found in lexicon files."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


def _strip_comment(line: str) -> str:
    if line.lstrip().startswith("#"):
        return ""
    return _INLINE_COMMENT.sub("", line).strip()


def _parse_header(
    body: str, where: str, known_tiers: Collection[int], problems: list[str]
) -> tuple[int | None, str, str] | None:
    """(tier, category, reason) of a deny header, (None, "", "") for allow, None when broken."""
    if body.strip().lower() in _ALLOW_HEADERS:
        return None, "", ""
    fields: dict[str, str] = {}
    for part in body.split("|"):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        key, value = key.strip(), value.strip()
        name = _KEY_ALIASES.get(key.lower())
        if not sep or name is None:
            problems.append(
                f"{where}: 无法识别的段落设置「{part.strip()}」，应为 tier=… | category=… | reason=…，或 [allow]"
            )
            return None
        if name in fields:
            problems.append(f"{where}: 段落设置 {name} 写了两次")
            return None
        fields[name] = value
    tier_text = fields.get("tier")
    if tier_text is None:
        problems.append(f"{where}: 段落缺少 tier（等级），例如 [tier=2 | category=收益承诺]")
        return None
    try:
        tier = int(tier_text)
    except ValueError:
        tier = -1
    if tier not in known_tiers:
        known = "、".join(str(t) for t in sorted(known_tiers))
        problems.append(f"{where}: 未知等级 tier={tier_text}（策略里配置的等级：{known}）")
        return None
    category = fields.get("category", "")
    if not category:
        problems.append(f"{where}: 段落缺少 category（类别），例如 category=收益承诺")
        return None
    return tier, category, fields.get("reason") or _DEFAULT_REASON


def parse_lexicon(text: str, label: str, known_tiers: Collection[int]) -> list[LexiconEntry]:
    """Parse one lexicon file; raise `LexiconFileError` listing every `label:line` problem."""
    problems: list[str] = []
    entries: list[LexiconEntry] = []
    section: tuple[int | None, str, str] | None = None
    broken_section = False
    seen: dict[tuple[str, bool], int] = {}
    for lineno, raw in enumerate(text.splitlines(), start=1):
        where = f"{label}:{lineno}"
        line = _strip_comment(raw)
        if not line:
            continue
        if line.startswith("[") and line.endswith("]"):
            section = _parse_header(line[1:-1], where, known_tiers, problems)
            broken_section = section is None
            continue
        if line.startswith("["):
            problems.append(f"{where}: 段落标题缺少右方括号 ]")
            section, broken_section = None, True
            continue
        if section is None:
            if not broken_section:
                problems.append(
                    f"{where}: 词条「{line}」前面没有段落标题，请先写 [tier=… | category=…] 或 [allow]"
                )
                broken_section = True  # one message per headless block is enough
            continue
        tier, category, reason = section
        dup_key = (line, tier is None)
        if dup_key in seen:
            problems.append(f"{where}: 重复词条「{line}」（第 {seen[dup_key]} 行已有）")
            continue
        seen[dup_key] = lineno
        entries.append(LexiconEntry(line, tier, category, reason, where))
    if problems:
        raise LexiconFileError(problems)
    return entries


def parse_plain_list(text: str, label: str, tier: int, category: str, reason: str = "") -> list[LexiconEntry]:
    """A third-party list: one word a line, `#` comments, stray trailing commas; repeats are merged."""
    entries: list[LexiconEntry] = []
    seen: set[str] = set()
    for lineno, raw in enumerate(text.splitlines(), start=1):
        word = raw.strip().rstrip(",，;；").strip()
        if not word or word.startswith("#") or word in seen:
            continue
        seen.add(word)
        entries.append(LexiconEntry(word, tier, category, reason or _DEFAULT_REASON, f"{label}:{lineno}"))
    return entries


def check_keys(
    entries: Sequence[LexiconEntry], key: Callable[[str], str], *, strict: Callable[[LexiconEntry], bool]
) -> tuple[dict[str, LexiconEntry], dict[str, LexiconEntry]]:
    """(deny, allow): each entry by its normalised key; report entries that are empty or collide.

    `strict(entry)` says whether a problem with that entry is an error (files risk officers own) or
    is silently skipped (third-party plain lists). When two entries collide the first one wins; a
    third-party word that one of our allow entries also names stays allowed.
    """
    problems: list[str] = []
    out: dict[str, LexiconEntry] = {}
    allow_keys: dict[str, LexiconEntry] = {}
    for e in entries:
        k = key(e.word)
        if not k:
            if strict(e):
                problems.append(f"{e.source}: 词条「{e.word}」规范化后为空（只有空格、标点或符号），无法匹配")
            continue
        table = allow_keys if e.allowed else out
        other = table.get(k)
        if other is not None:
            if strict(e):
                problems.append(
                    f"{e.source}: 词条「{e.word}」与 {other.source} 的「{other.word}」规范化后相同（重复）"
                )
            continue
        table[k] = e
    for k, e in allow_keys.items():
        deny = out.get(k)
        if deny is not None and strict(e) and strict(deny):
            problems.append(
                f"{e.source}: 允许词「{e.word}」同时是 {deny.source} 的禁用词「{deny.word}」，请删掉其中一个"
            )
    if problems:
        raise LexiconFileError(problems)
    return out, allow_keys
