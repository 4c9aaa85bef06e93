from __future__ import annotations

from guard.checks.pii.recognizers._name_stats import count_name_stats

# A toy dictionary in jieba's (word, frequency, tag) form.
_ENTRIES = [
    ("王小明", 5, "nr"),
    ("李明华", 5, "nr"),
    ("张华", 5, "nr"),
    ("王国", 900, "n"),
    ("王朝", 500, "n"),
    ("的确", 9000, "d"),
    ("明白", 800, "v"),
    ("克里斯", 5, "nrt"),
    ("斯特恩", 5, "nrt"),
]


def test_given_name_characters_score_above_common_characters() -> None:
    stats = count_name_stats(_ENTRIES, frozenset("王李张"))
    assert stats.given_score("华") > stats.given_score("的")
    assert stats.given_score("小明") > stats.given_score("的确")
    assert stats.given_score("鑫") == stats.floor  # never seen in the dictionary


def test_surnames_that_start_other_words_score_lower() -> None:
    stats = count_name_stats(_ENTRIES, frozenset("王李张"))
    assert stats.surname["李"] > stats.surname["王"]  # 王 also starts 王国, 王朝


def test_transliteration_characters_look_foreign() -> None:
    stats = count_name_stats(_ENTRIES, frozenset("王李张"))
    assert stats.foreignness("斯") > 0
    assert stats.foreignness("华") < 0
