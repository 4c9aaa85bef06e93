"""How name-like a string of characters is, from jieba's bundled dictionary (MIT licence) only.

jieba's dict.txt lists 349k words with a frequency and a part-of-speech tag; about 30k of them
are people (`nr`) and 9k transliterated foreign names (`nrt`). From it, once per process:

- `given[c]`: log-likelihood ratio of character `c` in the given names of Chinese `nr` entries
  against its frequency-weighted share of all dictionary text (明, 华, 伟 high; 的, 是, 场 low);
- `surname[c]`: log of how often `c` starts a person's name rather than another word (王 starts
  王国, 王朝 …; 詹 rarely starts anything but a name);
- `foreign[c]`: log-likelihood ratio of `c` in transliterated names against Chinese given names
  (斯, 尔, 克 high): a Chinese-looking candidate made of such characters is a foreign word.

No data set is involved: everything here is counted from jieba's own dictionary file.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["NameStats", "count_name_stats"]


@dataclass(frozen=True, slots=True)
class NameStats:
    """Per-character log ratios; a character not in a table scores `floor`."""

    given: dict[str, float]
    surname: dict[str, float]
    foreign: dict[str, float]
    floor: float

    def given_score(self, chars: str) -> float:
        """Sum of the given-name ratios of `chars`."""
        return sum(self.given.get(c, self.floor) for c in chars)

    def foreignness(self, chars: str) -> float:
        """Sum of the transliteration ratios of `chars` (positive: looks transliterated)."""
        return sum(self.foreign.get(c, 0.0) for c in chars)


def count_name_stats(entries: Iterable[tuple[str, int, str]], surnames: frozenset[str]) -> NameStats:
    """Count the tables from (word, frequency, tag) entries of jieba's dictionary."""
    text: Counter[str] = Counter()
    given: Counter[str] = Counter()
    translit: Counter[str] = Counter()
    names_from: Counter[str] = Counter()
    words_from: Counter[str] = Counter()
    for word, freq, tag in entries:
        for c in word:
            text[c] += max(freq, 1)
        if len(word) >= 2 and word[0] in surnames:
            words_from[word[0]] += 1
        if tag == "nr" and len(word) in (2, 3) and word[0] in surnames:
            given.update(word[1:])
            names_from[word[0]] += 1
        elif tag == "nrt" and len(word) >= 2:
            translit.update(word)
    n_text, n_given, n_translit = sum(text.values()), sum(given.values()), sum(translit.values())
    given_llr = {c: math.log((given[c] + 0.1) / n_given) - math.log((text[c] + 1) / n_text) for c in text}
    floor = math.log(0.1 / n_given) - math.log(1 / n_text)
    surname_llr = {c: math.log((names_from[c] + 1) / (words_from[c] + 1)) for c in surnames}
    foreign_llr = {
        c: math.log((translit[c] + 0.5) / n_translit) - math.log((given[c] + 0.5) / n_given)
        for c in set(translit) | set(given)
    }
    return NameStats(given_llr, surname_llr, foreign_llr, floor)
