"""The Chinese text layer: normalisation with offset maps, sentences, lengths, amounts."""

from guard.text.normalize import NormalizedText, NormalizeOptions, Normalizer, is_junk_char
from guard.text.sentences import Sentence, split_sentences, text_length

__all__ = [
    "NormalizeOptions",
    "NormalizedText",
    "Normalizer",
    "Sentence",
    "is_junk_char",
    "split_sentences",
    "text_length",
]
