"""Evasion-tolerant lexicon matching: one Aho-Corasick automaton over normalised text.

Both the entries and the reply are normalised the same way: NFKC (full-width → half-width),
case folding, zero-width / format characters removed, traditional → simplified (OpenCC, per
character), Chinese digit characters → ASCII digits, whitespace / punctuation / symbols / emoji
and combining marks (strike-through, underline) removed, runs of one character collapsed. Each
entry also gets alternative keys for phrase-level traditional spellings (OpenCC s2t/s2tw/s2hk/
s2twp) and for the "100%" family (百分百 / 百分之百 / 百分之一百 / 100%), so all spellings hit
the same entry.

The hot path scans `Normalizer.fast(text)` (one `str.translate`, no offset map). Only when
something matched is the offset map built, and each hit verified:

- gap: at most `max_gap` removed characters between two consecutive characters of the entry
  (zero-width characters, variation selectors, skin-tone modifiers and keycaps do not count);
- whole word: an entry that starts (ends) with a Latin letter or digit does not match when a
  Latin letter or digit touches it on that side (`av` must not match `have`);
- allow-list: a denied hit that overlaps an allowed hit is dropped (allow 风险提示, deny 无风险);
  an allowed phrase must not be split by clause punctuation (，。！？；…), so "不保证，百分百通过"
  is not read as the allowed 不保证百分百;
- overlap: of overlapping denied hits the highest tier, then the longest, is kept.

Every hit spans exactly the original characters of the word and any junk between them.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import groupby
from typing import Any

import ahocorasick_rs

from guard.checks.lexicon.lexicon_file import LexiconEntry
from guard.text.normalize import NormalizedText, NormalizeOptions, Normalizer

__all__ = ["DEFAULT_MAX_GAP", "MATCH_OPTIONS", "LexiconHit", "LexiconMatcher"]

DEFAULT_MAX_GAP = 10

MATCH_OPTIONS = NormalizeOptions(
    width=True,
    case=True,
    format_chars=True,
    t2s=True,
    junk=True,
    collapse_repeats=True,
    numerals=True,
    marks=True,
)

# Spellings of "one hundred percent" an entry may use; each is expanded to all the others.
_PERCENT_FAMILY = ("百分之一百", "百分之100", "百分之百", "百分百", "100%", "100％")

_OPENCC_VARIANTS = ("s2t", "s2tw", "s2hk", "s2twp")


@lru_cache(maxsize=1)
def _s2t_converters() -> tuple[Any, ...]:
    import opencc

    return tuple(opencc.OpenCC(name) for name in _OPENCC_VARIANTS)


def _is_ascii_alnum(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


def _invisible(ch: str) -> bool:
    """Characters that render as nothing or only modify their neighbour: never counted as a gap."""
    cp = ord(ch)
    return (
        unicodedata.category(ch) in ("Cf", "Mn", "Me")
        or 0xFE00 <= cp <= 0xFE0F
        or 0x1F3FB <= cp <= 0x1F3FF
        or cp in (0x034F, 0x20E3)
        or 0xE0000 <= cp <= 0xE007F
    )


def _percent_follows(nt: NormalizedText, k: int) -> bool:
    """Whether a percent sign sits between normalised character k and the next one."""
    if k + 1 >= len(nt.text):
        return False
    gap = nt.original[nt.ends[k] : nt.starts[k + 1]]
    return "%" in gap or "％" in gap or "﹪" in gap


# An allowed phrase must be written as one phrase: "不保证，百分百通过！" must not pass as 不保证百分百.
_CLAUSE_BREAKS = frozenset("，。！？；：、,.!?;:\n\r…")


def _has_clause_break(nt: NormalizedText, s: int, e: int) -> bool:
    """Whether clause punctuation sits between normalised characters s..e-1."""
    gap = nt.original[nt.ends[s] : nt.starts[e - 1]] if e - s > 1 else ""
    return any(ch in _CLAUSE_BREAKS for ch in gap)


def _visible_count(s: str) -> int:
    return sum(1 for ch in s if not _invisible(ch))


@dataclass(frozen=True, slots=True)
class LexiconHit:
    """A verified match: the entry and its span of original code points."""

    entry: LexiconEntry
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class _Pattern:
    entry: LexiconEntry
    latin_left: bool
    latin_right: bool
    percent_at: int = -1  # key index after which the original text must hold a % sign (100%)
    doubled: tuple[int, ...] = ()  # key indices the entry writes twice (人人可贷): the text must too


class LexiconMatcher:
    """Matches denied and allowed entries in a reply; build once per policy load."""

    __slots__ = ("_ac", "_norm", "_patterns", "max_gap")

    def __init__(
        self,
        deny: Mapping[str, LexiconEntry],
        allow: Mapping[str, LexiconEntry],
        *,
        max_gap: int = DEFAULT_MAX_GAP,
        normalizer: Normalizer | None = None,
    ) -> None:
        self._norm = normalizer or Normalizer(MATCH_OPTIONS)
        self.max_gap = max_gap
        keys: dict[str, _Pattern] = {}
        # Primary keys first, so an alternative spelling never steals another entry's own key.
        for table in (allow, deny):
            for key, entry in table.items():
                _, percent_at, doubled = self._key_info(entry.word)
                keys.setdefault(key, self._pattern(key, entry, percent_at, doubled))
        for table in (allow, deny):
            for entry in table.values():
                for alt, (percent_at, doubled) in self.alternative_keys(entry.word).items():
                    keys.setdefault(alt, self._pattern(alt, entry, percent_at, doubled))
        self._patterns = list(keys.values())
        self._ac = ahocorasick_rs.AhoCorasick(list(keys)) if keys else None

    @staticmethod
    def _pattern(key: str, entry: LexiconEntry, percent_at: int, doubled: tuple[int, ...]) -> _Pattern:
        return _Pattern(entry, _is_ascii_alnum(key[0]), _is_ascii_alnum(key[-1]), percent_at, doubled)

    def _doubled(self, word: str) -> tuple[int, ...]:
        """Indices of the collapsed key whose character the entry itself repeats (人人, 扣扣).

        Collapsing repeats would turn 扣扣 into 扣 and match every 扣款; requiring the repeat in the
        reply too keeps 扣扣 / 扣 扣 / 扣扣扣 and drops the plain 扣.
        """
        uncollapsed = word.translate(self._norm.table)
        return tuple(k for k, (_, run) in enumerate(groupby(uncollapsed)) if len(list(run)) > 1)

    def __len__(self) -> int:
        return len(self._patterns)

    def entries(self) -> list[LexiconEntry]:
        """Every entry (denied and allowed) the automaton holds, once each."""
        seen: dict[str, LexiconEntry] = {}
        for p in self._patterns:
            seen.setdefault(p.entry.source, p.entry)
        return list(seen.values())

    def key(self, word: str) -> str:
        """The normalised form an entry is matched by."""
        return self._norm.fast(word)

    def alternative_keys(self, word: str) -> dict[str, tuple[int, tuple[int, ...]]]:
        """Keys of other spellings of `word` (phrase-level traditional forms, the 100% family).

        Each maps to (percent_at, doubled). `percent_at` is -1, or for a "100%" spelling the key
        index of the last digit: the % sign is removed with the other symbols, so the matcher
        checks the original text for it instead. `doubled`: see `_doubled`.
        """
        spellings = {word}
        for member in _PERCENT_FAMILY:
            if member in word:
                spellings.update(word.replace(member, other) for other in _PERCENT_FAMILY)
        for conv in _s2t_converters():
            spellings.update([conv.convert(s) for s in spellings])
        keys: dict[str, tuple[int, tuple[int, ...]]] = {}
        for spelling in sorted(spellings):
            key, percent_at, doubled = self._key_info(spelling)
            if key:
                keys.setdefault(key, (percent_at, doubled))
        return keys

    def _key_info(self, spelling: str) -> tuple[str, int, tuple[int, ...]]:
        """(key, percent_at, doubled) of one spelling of an entry."""
        key = self.key(spelling)
        for sign in ("100%", "100％"):
            if sign in spelling:
                # The digits of 100 are not a doubled character; the % sign must follow them.
                return key, len(self.key(spelling[: spelling.index(sign) + 3])) - 1, ()
        return key, -1, self._doubled(spelling)

    def find(self, text: str) -> list[LexiconHit]:
        """Verified denied hits in `text`, in order of position."""
        if self._ac is None:
            return []
        norm = self._norm.fast(text)
        raw = self._ac.find_matches_as_indexes(norm, overlapping=True)
        if not raw:
            return []
        patterns = self._patterns
        if all(patterns[i].entry.allowed for i, _, _ in raw):
            return []
        nt = self._map_prefix(text, max(e for _, _, e in raw))
        if not norm.startswith(nt.text):  # pragma: no cover - fast() and the map share one table
            nt = self._norm.map(text)
            raw = self._ac.find_matches_as_indexes(nt.text, overlapping=True)
        return self._verify(nt, raw)

    def _map_prefix(self, text: str, limit: int) -> NormalizedText:
        """`Normalizer.map(text)` cut after normalised character `limit` (hot path: hits only).

        The map costs most of a hit's time; stopping after the last hit (plus one character, for
        the whole-word check) saves the tail. Spans up to `limit` equal the full map's.
        """
        if not self._norm.options.collapse_repeats:
            return self._norm.map(text)
        get = self._norm.table.get
        out: list[str] = []
        starts: list[int] = []
        ends: list[int] = []
        last = ""
        for i, ch in enumerate(text):
            rep = get(ord(ch), ch)
            if not rep:
                continue
            for piece in rep:
                if piece == last:
                    ends[-1] = i + 1  # a repeat joins the previous character's span
                    continue
                if len(out) > limit:
                    return NormalizedText(text, "".join(out), tuple(starts), tuple(ends))
                out.append(piece)
                starts.append(i)
                ends.append(i + 1)
                last = piece
        return NormalizedText(text, "".join(out), tuple(starts), tuple(ends))

    def _verify(self, nt: NormalizedText, raw: Sequence[tuple[int, int, int]]) -> list[LexiconHit]:
        patterns = self._patterns
        allowed: list[tuple[int, int]] = []
        denied: list[tuple[int, int, LexiconEntry]] = []
        for idx, s, e in raw:
            p = patterns[idx]
            if e - s > 1 and not self._gaps_ok(nt, s, e):
                continue
            if (p.latin_left or p.latin_right) and not self._word_bounds_ok(nt, s, e, p):
                continue
            if p.percent_at >= 0 and not _percent_follows(nt, s + p.percent_at):
                continue
            if p.doubled and not self._repeats_kept(nt, s, p.doubled):
                continue
            if p.entry.tier is None:
                if not _has_clause_break(nt, s, e):
                    allowed.append((s, e))
            else:
                denied.append((s, e, p.entry))
        if allowed:
            denied = [d for d in denied if not any(a_s < d[1] and d[0] < a_e for a_s, a_e in allowed)]
        if len(denied) > 1:
            denied.sort(key=lambda d: (-(d[2].tier or 0), d[0] - d[1], d[0]))
            kept: list[tuple[int, int, LexiconEntry]] = []
            for d in denied:
                if not any(k[0] < d[1] and d[0] < k[1] for k in kept):
                    kept.append(d)
            kept.sort(key=lambda d: d[0])
            denied = kept
        starts, ends = nt.starts, nt.ends
        return [LexiconHit(entry, starts[s], ends[e - 1]) for s, e, entry in denied]

    def _repeats_kept(self, nt: NormalizedText, s: int, doubled: tuple[int, ...]) -> bool:
        table = self._norm.table
        for k in doubled:
            i = s + k
            if nt.original[nt.starts[i] : nt.ends[i]].translate(table).count(nt.text[i]) < 2:
                return False
        return True

    def _gaps_ok(self, nt: NormalizedText, s: int, e: int) -> bool:
        starts, ends, original = nt.starts, nt.ends, nt.original
        for k in range(s, e - 1):
            a, b = ends[k], starts[k + 1]
            if b - a > self.max_gap and _visible_count(original[a:b]) > self.max_gap:
                return False
        return True

    @staticmethod
    def _word_bounds_ok(nt: NormalizedText, s: int, e: int, p: _Pattern) -> bool:
        text, starts, ends, original = nt.text, nt.starts, nt.ends, nt.original
        # A neighbour only counts when nothing visible separates it from the word.
        if (
            p.latin_left
            and s > 0
            and _is_ascii_alnum(text[s - 1])
            and _visible_count(original[ends[s - 1] : starts[s]]) == 0
        ):
            return False
        return not (
            p.latin_right
            and e < len(text)
            and _is_ascii_alnum(text[e])
            and _visible_count(original[ends[e - 1] : starts[e]]) == 0
        )
