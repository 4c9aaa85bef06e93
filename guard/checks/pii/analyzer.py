"""Running the Chinese recognizers: cheap tests first, Presidio only where it can fire.

Presidio's full `AnalyzerEngine.analyze()` runs the spaCy pipeline and every recognizer on every
text (≈0.6–0.9 ms for a 45-character reply with its default recognizers, measured here).
`PiiAnalyzer.analyze` instead

1. folds full-width digits and letters to ASCII and drops zero-width characters (offsets kept);
   the numeric recognizers read a second view, with digits spelt in Chinese (一三八…) as ASCII
   digits;
2. runs one precompiled regex that says which kinds can occur at all (a run of 7+ digits, perhaps
   with separators between them — 138 1234 5678, 138.1234.5678, 138，1234，5678 —, an @,
   a number followed by 号/室/栋…; digits spelt in Chinese count, so the second view is made only
   for a run of digits); a reply with none of them skips every pattern recognizer;
3. for each recognizer that can fire, tries its own patterns with `re` (≈1 µs) and only then
   calls the Presidio recognizer (pattern matching, `validate_result` checksums, context rule);
4. runs the person recognizer (its own surname scan decides whether jieba's table is consulted),
   and, with `person_model: lac`, the trained tagger (`recognizers/lac.py`): its names above the
   policy's threshold join the rules' names, and a rules name where the tagger gives a name less
   than a 1 % chance to start is dropped;
5. resolves overlaps (an ID over a card over a phone …) and maps spans back to the reply.

`presidio_engine` builds the full Presidio engine on a blank spaCy `zh` pipeline (no model
download) with the same recognizers, once per process, for the optional full path and the
benchmark comparison; `default_presidio_engine` is Presidio with its own recognizers.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt

from guard.checks.pii.recognizers import ENTITY_CODES, RECOGNIZERS
from guard.checks.pii.recognizers._base import SEP_CHARS, ChinesePatternRecognizer
from guard.checks.pii.recognizers.email import AT_WORDS
from guard.checks.pii.recognizers.lac import LacTagger
from guard.checks.pii.recognizers.person import NAME_STARTS, ChinesePersonRecognizer, model_names, warm_up

__all__ = [
    "PiiAnalyzer",
    "PiiSpan",
    "combine_names",
    "default_presidio_engine",
    "presidio_engine",
    "resolve_overlaps",
]

# Priority when two recognizers claim the same characters (lower wins).
_PRIORITY = {
    "CN_ID_CARD": 0,
    "CN_BANK_CARD": 1,
    "CN_MOBILE": 2,
    "CN_LANDLINE": 3,
    "EMAIL_ADDRESS": 4,
    "CN_ADDRESS": 5,
    "CN_PERSON": 6,
}
_NUMERIC = ("CN_ID_CARD", "CN_BANK_CARD", "CN_MOBILE", "CN_LANDLINE")
# A digit, written as one (3) or spelt in Chinese (三, 幺 read aloud for 1): `_PREFILTER` reads the
# folded text itself, and matches what its plain form (with `[0-9]`) matches on the digit view
# (`_digit_view`), so that view is made only when a run of digits calls the numeric recognizers.
_D = "0-9〇零一二三四五六七八九幺"
# What may stand between two digits of one identifier: the recognizers' group separators
# (`GROUP_SEP`: up to four characters, 138 — 1234, 138，1234, 138.1234) and brackets ((010)).
PREFILTER_SEPS = "()（）" + SEP_CHARS
_PREFILTER = re.compile(
    rf"(?P<num>[{_D}](?:[{re.escape(PREFILTER_SEPS)}]{{0,5}}[{_D}]){{6,}})"
    rf"|(?P<at>@|{'|'.join(AT_WORDS)}|(?<=[ (（\[])at(?=[ )）\]]))"  # an e-mail address, also read out
    rf"|(?P<addr>[{_D}十](?:号|室|栋|幢|单元|号楼|座|层|弄))"
)

# What every `_PREFILTER` match starts with: most replies hold none of it and skip the scan.
_PREFILTER_START = re.compile(f"[{_D}@十{''.join(w[0] for w in AT_WORDS)}a]")


def _fold_table() -> dict[int, int | None]:
    """Full-width digits, letters and e-mail/phone symbols → ASCII; zero-width characters removed.

    Only what the recognizers read is folded, one character to one, so a reply keeps its offsets
    unless a zero-width character was removed. (The shared `Normalizer` also folds Chinese
    punctuation, which would force the offset map on nearly every Chinese reply.)
    """
    table: dict[int, int | None] = {cp: cp - 0xFEE0 for cp in range(0xFF10, 0xFF1A)}
    table.update({cp: cp - 0xFEE0 for cp in range(0xFF21, 0xFF3B)})
    table.update({cp: cp - 0xFEE0 for cp in range(0xFF41, 0xFF5B)})
    table.update({ord(c): ord(c) - 0xFEE0 for c in "＠＋－．＿％"})
    table[0x3000] = 0x20  # ideographic space
    table.update(
        {cp: None for cp in (0x00AD, 0x034F, 0x200B, 0x200C, 0x200D, 0x200E, 0x200F, 0x2060, 0xFEFF)}
    )
    return table


_FOLD = _fold_table()
# Digits written in Chinese (一三八……, 幺 for 1 when read aloud): identifiers spelt out for a voice
# reply are identifiers too. Only the numeric recognizers read this view.
_CN_DIGITS = str.maketrans("〇零一二三四五六七八九幺叉", "001234567891X")  # 叉: an ID's X read out
# Whether a reply holds anything either table changes: most hold nothing for `_FOLD` and many
# nothing for `_CN_DIGITS`, and a search is several times cheaper than a `str.translate`.
_FOLDABLE = re.compile("[" + "".join(re.escape(chr(cp)) for cp in sorted(_FOLD)) + "]")
_HAS_CN_DIGIT = re.compile("[〇零一二三四五六七八九幺叉]")


def _fold(text: str) -> str:
    """`text.translate(_FOLD)`."""
    return text.translate(_FOLD) if _FOLDABLE.search(text) else text


def _digit_view(norm: str) -> str:
    """`norm.translate(_CN_DIGITS)`."""
    return norm.translate(_CN_DIGITS) if _HAS_CN_DIGIT.search(norm) else norm


@dataclass(frozen=True, slots=True)
class PiiSpan:
    """One recognised value: entity, guard code, span in the original text, score."""

    entity: str
    code: str
    start: int
    end: int
    score: float
    value: str = ""  # the recognised text as the recognizer read it (width-folded, digits as digits)


class PiiAnalyzer:
    """The recognizers for the enabled entities, built once; `analyze` is the per-reply path."""

    def __init__(
        self, entities: Iterable[str], person_model: LacTagger | None = None, person_threshold: float = 0.93
    ) -> None:
        wanted = set(entities)
        unknown = wanted - set(ENTITY_CODES)
        if unknown:
            raise ValueError(f"unknown PII entities: {sorted(unknown)}")
        self.entities = frozenset(wanted)
        self._patterns: list[ChinesePatternRecognizer] = [
            r for r in _shared_recognizers() if isinstance(r, ChinesePatternRecognizer) and r.ENTITY in wanted
        ]
        self._person = (
            next((r for r in _shared_recognizers() if isinstance(r, ChinesePersonRecognizer)), None)
            if "CN_PERSON" in wanted
            else None
        )
        if self._person is not None:
            warm_up()
        self._model = person_model if self._person is not None else None
        self._threshold = person_threshold

    def analyze(self, text: str) -> list[PiiSpan]:
        """Every PII value in `text`, spans in `text`'s code points, overlaps resolved."""
        norm = _fold(text)
        starts: list[int] | None = None
        if len(norm) != len(text):  # zero-width characters were removed: keep a map back
            starts = [i for i, ch in enumerate(text) if _FOLD.get(ord(ch), 0) is not None]
        first = _PREFILTER_START.search(norm)
        kinds = set() if first is None else {m.lastgroup for m in _PREFILTER.finditer(norm, first.start())}
        # Digits spelt in Chinese as ASCII digits, one to one (offsets shared with `norm`): only
        # the numeric recognizers read it, and only after a run of digits.
        digits = _digit_view(norm) if "num" in kinds else norm
        spans: list[PiiSpan] = []
        for rec in self._patterns:
            view = norm
            if rec.ENTITY in _NUMERIC:
                if "num" not in kinds:
                    continue
                view = digits
            elif rec.ENTITY == "EMAIL_ADDRESS":
                if "at" not in kinds:
                    continue
            elif rec.ENTITY == "CN_ADDRESS" and "addr" not in kinds:
                continue
            if not rec.could_match(view):
                continue
            for res in rec.analyze(view, [rec.ENTITY]):
                spans.append(
                    PiiSpan(
                        rec.ENTITY, rec.CODE, res.start, res.end, float(res.score), view[res.start : res.end]
                    )
                )
        if self._person is not None:
            names = [
                (r.start, r.end, float(r.score)) for r in self._person.analyze(norm, [self._person.ENTITY])
            ]
            if self._model is not None:
                found = self._model.person_spans(norm, self._threshold, NAME_STARTS)
                names = combine_names(names, model_names(norm, found.spans), found.begin)
            for start, end, score in names:
                spans.append(
                    PiiSpan(self._person.ENTITY, self._person.CODE, start, end, score, norm[start:end])
                )
        kept = resolve_overlaps(spans)
        if "num" in kinds:
            kept = self._hidden_numbers(digits, spans, kept)
        if starts is None:
            return kept
        return [
            PiiSpan(s.entity, s.code, starts[s.start], starts[s.end - 1] + 1, s.score, s.value) for s in kept
        ]

    def _hidden_numbers(self, digits: str, spans: list[PiiSpan], kept: list[PiiSpan]) -> list[PiiSpan]:
        """`kept`, plus the numbers a dropped candidate hid.

        A recognizer's matches do not overlap one another, so a candidate that takes the digits
        of a stronger value can take the start of the next number with it: in `153 0669 9278，
        0898-86438167` the landline pattern reads `0669 9278，0898`, which gives way to the mobile,
        and the landline `0898-86438167` was never tried. When a numeric candidate gave way,
        the numeric recognizers read the text again with the kept values blanked out, until
        nothing new is found (rare: the common reply has no overlapping candidates).
        """
        dropped = sum(1 for s in spans if s.entity in _NUMERIC) - sum(1 for s in kept if s.entity in _NUMERIC)
        for _ in range(3):
            if dropped <= 0:
                return kept
            view = digits
            for s in kept:
                view = view[: s.start] + "＊" * (s.end - s.start) + view[s.end :]
            found = [
                PiiSpan(rec.ENTITY, rec.CODE, res.start, res.end, float(res.score), digits[res.start : res.end])
                for rec in self._patterns
                if rec.ENTITY in _NUMERIC and rec.could_match(view)
                for res in rec.analyze(view, [rec.ENTITY])
            ]
            if not found:
                return kept
            merged = resolve_overlaps(kept + found)
            dropped = len(found) - (len(merged) - len(kept))
            kept = merged
        return kept


# Below this probability that a name starts at its first character (the tagger's view), a name
# found by the rules is dropped: on CLUENER train this dropped 29 of the rules' 114 false hits
# and 1 of their 1,242 true ones.
_VETO = 0.01
_RULES_FIRST = 0.5


def combine_names(
    rules: list[tuple[int, int, float]], tagged: list[tuple[int, int, float]], begin: npt.NDArray[np.float64]
) -> list[tuple[int, int, float]]:
    """The rules' names the tagger does not rule out, plus the tagger's names (start, end, score).

    `begin[i]` is the tagger's probability that a name starts at character i (NaN where it did not
    tag). A tagger's name gives
    way to an overlapping rules name of the check's default `min_score` (0.5) or more, and replaces
    weaker rules names (0.45: kept for lists, never reported at the default).
    """
    kept = [n for n in rules if not begin[n[0]] < _VETO]  # NaN (not tagged): kept
    for start, end, prob in tagged:
        overlapping = [n for n in kept if n[0] < end and start < n[1]]
        if any(score >= _RULES_FIRST for _, _, score in overlapping):
            continue
        kept = [n for n in kept if n not in overlapping]
        kept.append((start, end, prob))
    kept.sort()
    return kept


def resolve_overlaps(spans: list[PiiSpan]) -> list[PiiSpan]:
    """Drop spans overlapping a span of a stronger entity (ID over card, card over phone …)."""
    kept: list[PiiSpan] = []
    for s in sorted(spans, key=lambda s: (_PRIORITY[s.entity], -(s.end - s.start), s.start)):
        if all(s.end <= k.start or k.end <= s.start for k in kept):
            kept.append(s)
    kept.sort(key=lambda s: s.start)
    return kept


_build_lock = threading.Lock()


@lru_cache(maxsize=1)
def _shared_recognizers() -> tuple[Any, ...]:
    """One instance of each recognizer per process (their compiled patterns are shared)."""
    return tuple(cls() for cls in RECOGNIZERS)


def _blank_zh_nlp_engine() -> Any:
    import spacy
    from presidio_analyzer.nlp_engine import SpacyNlpEngine

    engine: Any = SpacyNlpEngine(models=[{"lang_code": "zh", "model_name": "blank:zh"}])
    engine.nlp = {"zh": spacy.blank("zh")}  # built in code: no model can be downloaded
    return engine


@lru_cache(maxsize=1)
def presidio_engine() -> Any:
    """Presidio's AnalyzerEngine on a blank spaCy zh pipeline with our Chinese recognizers."""
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry

    with _build_lock:
        registry = RecognizerRegistry(supported_languages=["zh"])
        for rec in _shared_recognizers():
            registry.add_recognizer(rec)
        return AnalyzerEngine(
            registry=registry, nlp_engine=_blank_zh_nlp_engine(), supported_languages=["zh"]
        )


@lru_cache(maxsize=1)
def default_presidio_engine() -> Any:
    """Presidio's own predefined recognizers (e-mail, phone, credit card …) on a blank zh pipeline."""
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry

    with _build_lock:
        registry = RecognizerRegistry(supported_languages=["en"])
        registry.load_predefined_recognizers(languages=["en"])
        for rec in registry.recognizers:
            rec.supported_language = "zh"  # its patterns are language-neutral; run them on Chinese text
        registry.supported_languages = ["zh"]
        return AnalyzerEngine(
            registry=registry, nlp_engine=_blank_zh_nlp_engine(), supported_languages=["zh"]
        )
