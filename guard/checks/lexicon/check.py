"""The lexicon check: sensitive words by tier, matched through evasion (contract §4 `lexicon.tierN`).

Tier → action comes from the policy (default: 1 warn, 2 regenerate, 3 block; the engine turns
`regenerate` into `block` when no model is in the loop). The matcher is built once per policy load
from the policy's lexicon files (and optional third-party plain lists); `run` only scans.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from types import MappingProxyType
from typing import ClassVar, Literal

from pydantic import Field

from guard.checks.base import CheckConfig, CheckInput, CheckSpec, ConfigError, PolicyContext
from guard.checks.lexicon.lexicon_file import (
    LexiconEntry,
    LexiconFileError,
    check_keys,
    parse_lexicon,
    parse_plain_list,
)
from guard.checks.lexicon.matcher import DEFAULT_MAX_GAP, LexiconMatcher
from guard.types import Action, Finding

__all__ = ["ExtraList", "LexiconCheck", "LexiconConfig", "build_lexicon_check"]

TierAction = Literal["warn", "mask", "regenerate", "block"]


def _default_actions() -> dict[int, TierAction]:
    return {1: "warn", 2: "regenerate", 3: "block"}


class ExtraList(CheckConfig):
    """第三方纯词表（一行一个词），整体作为一个等级加入。"""

    file: str = Field(description="词表文件（相对策略文件）")
    tier: int = Field(description="这个词表的等级（必须在 actions 里）")
    category: str = Field(default="外部词表", description="类别名称")
    reason: str = Field(default="", description="纠正说明里给模型的原因")


class LexiconConfig(CheckConfig):
    """敏感词分级配置。"""

    files: tuple[str, ...] = Field(default=(), description="词库文件（相对策略文件）")
    extra: tuple[ExtraList, ...] = Field(default=(), description="第三方纯词表（可选）")
    actions: dict[int, TierAction] = Field(default_factory=_default_actions, description="等级 → 处理动作")
    max_gap: int = Field(
        default=DEFAULT_MAX_GAP, ge=0, le=50, description="词条两个字之间最多允许夹杂几个符号"
    )


class LexiconCheck:
    """Reports every denied lexicon word in a reply as `lexicon.tierN`."""

    name: ClassVar[str] = "lexicon"

    def __init__(self, matcher: LexiconMatcher, actions: dict[int, Action]) -> None:
        self.matcher = matcher
        self.actions = MappingProxyType(dict(actions))
        # Everything but the span is fixed per entry: build it once, not per reply.
        self._templates = {e.source: self._template(e) for e in matcher.entries() if e.tier is not None}

    def _template(self, e: LexiconEntry) -> tuple[str, int, str, Action, str]:
        tier = e.tier or 1
        action = self.actions.get(tier, Action.BLOCK)  # a tier the policy forgot fails closed
        detail = f"{tier}级敏感词「{e.word}」（{e.category}）"
        correction = f"请不要使用「{e.word}」或类似说法（{e.category}）：{e.reason}。请换成客观、合规的表述。"
        return f"lexicon.tier{tier}", tier, detail, action, correction

    def run(self, inp: CheckInput) -> list[Finding]:
        out: list[Finding] = []
        for hit in self.matcher.find(inp.reply):
            t = self._templates.get(hit.entry.source) or self._template(hit.entry)
            code, tier, detail, action, correction = t
            out.append(
                Finding(
                    code=code,
                    start=hit.start,
                    end=hit.end,
                    detail=detail,
                    action=action,
                    tier=tier,
                    replacement="*" * (hit.end - hit.start) if action is Action.MASK else None,
                    correction=correction,
                )
            )
        return out


def _entries(cfg: LexiconConfig, ctx: PolicyContext) -> tuple[list[LexiconEntry], set[str]]:
    """All entries of the configured files and the sources whose problems are errors."""
    known = set(cfg.actions)
    entries: list[LexiconEntry] = []
    for i, rel in enumerate(cfg.files):
        text = ctx.read_text(rel, ("files", i))
        try:
            entries.extend(parse_lexicon(text, rel, known))
        except LexiconFileError as exc:
            raise ConfigError("\n".join(exc.problems), ("files", i)) from None
    strict_sources = {e.source for e in entries}
    for i, extra in enumerate(cfg.extra):
        if extra.tier not in known:
            raise ConfigError(f"等级 {extra.tier} 没有在 actions 里配置处理动作", ("extra", i, "tier"))
        text = ctx.read_text(extra.file, ("extra", i, "file"))
        entries.extend(parse_plain_list(text, extra.file, extra.tier, extra.category, extra.reason))
    return entries, strict_sources


def build_lexicon_check(cfg: LexiconConfig, ctx: PolicyContext) -> LexiconCheck:
    """Read, validate and compile the lexicons of one policy (once, at policy load)."""
    bad = [t for t in cfg.actions if t < 1]
    if bad:
        raise ConfigError(f"等级必须是正整数（1、2、3 …），不能是 {bad[0]}", ("actions",))
    if not cfg.files and not cfg.extra:
        raise ConfigError("至少配置一个词库文件（files）", ("files",))
    entries, strict_sources = _entries(cfg, ctx)
    actions = {t: Action(a) for t, a in cfg.actions.items()}
    # The policies of a folder that inherit one lexicon block build the same check, and a reload
    # builds it again for every edit of any file: compiling the automaton (spelling variants
    # through OpenCC, then Aho-Corasick) is most of a reload's time. What it is built from fixes
    # it entirely, so an identical build is shared (checks are immutable once built).
    key = (tuple(entries), frozenset(strict_sources), cfg.max_gap, tuple(sorted(actions.items())))
    with _BUILT_LOCK:
        built = _BUILT.get(key)
        if built is not None:
            _BUILT.move_to_end(key)
            return built
    probe = LexiconMatcher({}, {}, max_gap=cfg.max_gap)
    try:
        deny, allow = check_keys(entries, probe.key, strict=lambda e: e.source in strict_sources)
    except LexiconFileError as exc:
        raise ConfigError("\n".join(exc.problems), ("files",)) from None
    check = LexiconCheck(LexiconMatcher(deny, allow, max_gap=cfg.max_gap), actions)
    with _BUILT_LOCK:
        _BUILT[key] = check
        while len(_BUILT) > _BUILT_MAX:
            _BUILT.popitem(last=False)
    return check


_BUILT: OrderedDict[tuple[object, ...], LexiconCheck] = OrderedDict()
_BUILT_MAX = 16  # distinct builds kept, least recently used dropped (the default lexicons: 0.3 MB of objects)
_BUILT_LOCK = threading.Lock()


LEXICON: CheckSpec[LexiconConfig] = CheckSpec(
    "lexicon", LexiconConfig, build_lexicon_check, "敏感词分级（防变形）"
)
