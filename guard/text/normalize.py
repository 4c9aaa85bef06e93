"""Normalisation that remembers where every character came from.

Checks match on a normalised view of a reply (full-width folded, case folded, zero-width and
format characters removed, optionally traditional → simplified, junk removed, repeats collapsed)
but must report spans in the *original* reply. `Normalizer.map` returns a `NormalizedText` whose
`to_original(i, j)` turns a span of the normalised text back into the original code points it
came from, including any removed characters in between.

Tables are built once per option set and process (`Normalizer.for_options`); the per-reply work is
a `str.translate` (C speed). `Normalizer.fast` returns the normalised string without the offset
map, so a check can scan first and build the map only when something matched.
"""

from __future__ import annotations

import operator
import re
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

__all__ = ["NUMERAL_DIGITS", "NormalizeOptions", "NormalizedText", "Normalizer", "is_junk_char", "traditional_forms"]

# Code points for which tables are built. Characters outside map to themselves.
_TABLE_RANGES: tuple[tuple[int, int], ...] = (
    (0x0000, 0x10000),  # the Basic Multilingual Plane
    (0x1F000, 0x1FB00),  # emoji and pictographs
    (0x20000, 0x2A6E0),  # CJK extension B (rare traditional forms)
    (0xE0000, 0xE0080),  # tag characters (invisible)
)

_VARIATION_SELECTORS = range(0xFE00, 0xFE10)
_EMOJI_MODIFIERS = range(0x1F3FB, 0x1F400)


def is_junk_char(ch: str) -> bool:
    """Whitespace, punctuation, symbols (emoji included), controls and format characters."""
    cp = ord(ch)
    if cp in _VARIATION_SELECTORS or cp in _EMOJI_MODIFIERS or cp == 0x20E3:
        return True
    cat = unicodedata.category(ch)
    return cat[0] in "ZPSC"


def _is_format(ch: str) -> bool:
    # Zero-width and format characters (Cf: U+200B..U+200F, U+2060, U+FEFF, bidi controls, tags),
    # plus variation selectors and the combining grapheme joiner, which render as nothing.
    cp = ord(ch)
    return unicodedata.category(ch) == "Cf" or cp in _VARIATION_SELECTORS or cp == 0x034F


@dataclass(frozen=True, slots=True)
class NormalizeOptions:
    """Which foldings a normalised view applies."""

    width: bool = True  # NFKC: full-width → half-width, compatibility forms (① → 1)
    case: bool = True  # Unicode case folding
    format_chars: bool = True  # remove zero-width / format characters
    t2s: bool = False  # traditional → simplified Chinese (OpenCC t2s, character level)
    junk: bool = False  # remove whitespace, punctuation and symbols (emoji included)
    collapse_repeats: bool = False  # 稳稳稳赚 → 稳赚 (a run of one character becomes one)
    numerals: bool = False  # Chinese digit characters → ASCII digits (零/〇 → 0, 一/壹 → 1, 两 → 2, …)
    marks: bool = False  # remove combining marks (Mn, Me): 稳̶赚 (strike-through), 稳̲赚 (underline)


@dataclass(frozen=True, slots=True)
class NormalizedText:
    """A normalised view of `original` with a map back to it.

    `starts[k]`/`ends[k]` are the original code-point span that normalised character k came from.
    """

    original: str
    text: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Original span covering normalised characters [start, end) and everything between."""
        if not 0 <= start < end <= len(self.text):
            raise ValueError(f"span [{start}, {end}) outside normalised text of length {len(self.text)}")
        return self.starts[start], self.ends[end - 1]

    def __len__(self) -> int:
        return len(self.text)


# Digit characters only: positional characters (十百千万) have no one-character equivalent.
NUMERAL_DIGITS: dict[str, str] = {
    **dict.fromkeys("零〇", "0"),
    **{c: str(i) for i, c in enumerate("零一二三四五六七八九") if i},
    **{c: str(i) for i, c in enumerate("零壹贰叁肆伍陆柒捌玖") if i},
    "两": "2",
    "兩": "2",
    "貳": "2",
    "陸": "6",
}


def _t2s_map(codepoints: list[int]) -> dict[int, str]:
    """Character-level traditional → simplified map from OpenCC's t2s tables."""
    import opencc  # local import: only policies that ask for t2s pay for loading OpenCC

    converter = opencc.OpenCC("t2s")
    chars = [chr(cp) for cp in codepoints]
    converted = converter.convert("\n".join(chars)).split("\n")
    if len(converted) != len(chars):  # pragma: no cover - OpenCC never merges lines
        raise RuntimeError("OpenCC changed the number of lines while building the t2s table")
    return {ord(a): b for a, b in zip(chars, converted, strict=True) if a != b and b}


@lru_cache(maxsize=1)
def _s2t() -> Any:
    import opencc  # local import, as for t2s: loaded once, by the first policy that asks

    return opencc.OpenCC("s2t")


@lru_cache(maxsize=256)
def traditional_forms(words: tuple[str, ...]) -> tuple[str, ...]:
    """The traditional-character forms of `words` (OpenCC s2t) that differ from them: 额度 → 額度.

    Cached by the word list: a policy reload with the same lists converts nothing again.
    """
    converter = _s2t()
    return tuple(t for t in (converter.convert(w) for w in words) if t not in words)


@lru_cache(maxsize=16)
def _build_table(options: NormalizeOptions) -> dict[int, str | None]:
    table: dict[int, str | None] = {}
    t2s: dict[int, str] = {}
    if options.t2s:
        cjk = [cp for lo, hi in ((0x3400, 0xA000), (0xF900, 0xFB00), (0x20000, 0x2A6E0)) for cp in range(lo, hi)]
        t2s = _t2s_map(cjk)
    for lo, hi in _TABLE_RANGES:
        for cp in range(lo, hi):
            if 0xD800 <= cp < 0xE000:
                continue  # surrogates never occur in a valid str from JSON
            ch = chr(cp)
            if options.format_chars and _is_format(ch):
                table[cp] = None
                continue
            out = ch
            if options.width:
                out = unicodedata.normalize("NFKC", out)
            if options.case:
                out = out.casefold()
            if t2s:
                out = "".join(t2s.get(ord(c), c) for c in out)
            if options.marks:
                out = "".join(c for c in out if unicodedata.category(c) not in ("Mn", "Me"))
            if options.numerals:
                out = "".join(NUMERAL_DIGITS.get(c, c) for c in out)
            if options.junk:
                out = "".join(c for c in out if not is_junk_char(c))
            elif options.format_chars:
                out = "".join(c for c in out if not _is_format(c))
            if out != ch:
                table[cp] = out if out else None
    return table


_REPEAT = re.compile(r"(.)\1+", re.DOTALL)
_FIRST_OF_RUN = operator.methodcaller("group", 1)  # a callable is faster than the template r"\1"


class Normalizer:
    """Applies one set of `NormalizeOptions`; build it once (tables are cached per process)."""

    __slots__ = ("_table", "options")

    def __init__(self, options: NormalizeOptions | None = None) -> None:
        self.options = options or NormalizeOptions()
        self._table = _build_table(self.options)

    @property
    def table(self) -> Mapping[int, str | None]:
        """The `str.translate` table (read-only use): code point → replacement, None = removed."""
        return self._table

    def fast(self, text: str) -> str:
        """The normalised string only (no offset map): for a first scan on the hot path."""
        out = text.translate(self._table)
        if self.options.collapse_repeats:
            # Most replies repeat no character: one search says so at half the cost of `sub`.
            # Matches never reach back before their start, so `sub` from the first one on
            # gives what `sub` over the whole string gives.
            first = _REPEAT.search(out)
            if first is not None:
                cut = first.start()
                out = out[:cut] + _REPEAT.sub(_FIRST_OF_RUN, out[cut:])
        return out

    def map(self, text: str) -> NormalizedText:
        """The normalised string with its map back to `text`."""
        table = self._table
        collapse = self.options.collapse_repeats
        out: list[str] = []
        starts: list[int] = []
        ends: list[int] = []
        for i, ch in enumerate(text):
            rep = table.get(ord(ch), ch)
            if rep is None:
                continue  # removed: covered by any match that spans it, never a match by itself
            for piece in rep:
                if collapse and out and out[-1] == piece:
                    ends[-1] = i + 1  # a repeat joins the previous character's span
                    continue
                out.append(piece)
                starts.append(i)
                ends.append(i + 1)
        return NormalizedText(text, "".join(out), tuple(starts), tuple(ends))

    def iter_pieces(self, text: str) -> Iterator[tuple[int, str]]:
        """(original index, normalised piece) for every original character that survives."""
        table = self._table
        for i, ch in enumerate(text):
            rep = table.get(ord(ch), ch)
            if rep:
                yield i, rep

