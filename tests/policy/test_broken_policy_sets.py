"""Broken policy folders: each is rejected with the file, line and message a risk officer needs."""

from __future__ import annotations

import pytest

from guard.policy.errors import PolicyError
from guard.policy.loader import load_policy_set
from tests.policy.conftest import FIXTURES

BROKEN = FIXTURES / "broken"

# folder, file, line, text the message must contain
CASES = [
    ("yaml_syntax", "p.yaml", 6, "YAML syntax error"),
    ("unknown_field", "p.yaml", 5, "checks.length.sentense_max: unknown field"),
    ("wrong_type", "p.yaml", 6, "checks.length.sentence_max: Input should be a valid integer"),
    ("missing_cases", "p.yaml", 3, "cases: test case file not found: p.cases.yaml"),
    ("missing_lexicon", "p.yaml", 6, "checks.words.file: file not found: lexicons/missing.txt"),
    ("missing_base", "p.yaml", 3, "extends: base policy file not found: nowhere.yaml"),
    ("duplicate_keys", "p.yaml", 7, "checks.length.sentence_max: duplicate key (first defined on line 5)"),
    ("duplicate_names", "b.yaml", None, "policy name 'same' is also used by"),
    ("two_defaults", "", None, "exactly one policy must say `default: true` (found 2)"),
    ("campaign_dates", "p.yaml", 4, "ends_on must be on or after starts_on"),
    ("campaign_bad_value", "p.yaml", 12, "campaigns.0.checks.length.sentence_max: Input should be greater than or equal to 1"),
    ("campaign_duplicate", "p.yaml", 1, "campaign names must be unique (重复的活动名): c1"),
    ("extends_loop", "b.yaml", 2, "extends loops back to a.yaml"),
    ("unknown_check", "p.yaml", 5, "checks.lenght: unknown check (known checks: length"),
    ("broken_base", "b.yaml", None, "extends: not loaded because a.yaml has errors"),
]


@pytest.mark.parametrize(("folder", "file", "line", "text"), CASES, ids=[c[0] for c in CASES])
@pytest.mark.usefixtures("words_check")
def test_broken_policy_is_rejected_with_file_line_and_message(folder: str, file: str, line: int | None, text: str) -> None:
    with pytest.raises(PolicyError) as info:
        load_policy_set(BROKEN / folder)
    expected_file = str(BROKEN / folder / file) if file else str(BROKEN / folder)
    matching = [p for p in info.value.problems if text in str(p)]
    assert matching, f"no problem mentions {text!r}: {info.value}"
    problem = matching[0]
    assert problem.file == expected_file
    assert problem.line == line
    assert str(problem).startswith(f"{expected_file}:{line}:" if line is not None else f"{expected_file}:")


def test_every_broken_fixture_is_in_the_table() -> None:
    assert {c[0] for c in CASES} | {"bad_case_file"} == {p.name for p in BROKEN.iterdir() if p.is_dir()}


def test_a_broken_case_file_does_not_stop_the_policy_from_loading() -> None:
    # Test cases never serve; `guard policy validate` and `test` report them (see test_commands).
    policies = load_policy_set(BROKEN / "bad_case_file")
    assert list(policies.policies) == ["p"]


def test_a_broken_base_is_reported_once_at_its_own_line() -> None:
    with pytest.raises(PolicyError) as info:
        load_policy_set(BROKEN / "broken_base")
    assert [str(p) for p in info.value.problems] == [
        f"{BROKEN / 'broken_base' / 'a.yaml'}:5: checks.length.sentence_max: Input should be a valid integer, unable to parse string as an integer",
        f"{BROKEN / 'broken_base' / 'b.yaml'}: extends: not loaded because a.yaml has errors",
    ]
