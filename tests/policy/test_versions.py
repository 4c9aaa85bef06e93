"""Versions: the content hash of a policy and every file it uses — never of its test cases."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from guard.policy.loader import load_policy_set

POLICY = """\
name: p
default: true
fallback: 请稍后由专员和您确认。
cases: p.cases.yaml
checks:
  words:
    file: words.txt
"""
DERIVED = "name: d\nextends: p.yaml\nsegments: [first_loan]\n"
CASES = "cases:\n  - {name: one, record: {customer_id: C1, name: 张飞, gender: male}, reply: 您好。, decision: allow, codes: []}\n"


def _edit(name: str, old: str, new: str) -> Callable[[Path], None]:
    def run(folder: Path) -> None:
        path = folder / name
        path.write_text(path.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")

    return run


@pytest.fixture
def folder(tmp_path: Path, words_check: None) -> Path:
    for name, text in {"p.yaml": POLICY, "d.yaml": DERIVED, "words.txt": "稳赚\n", "p.cases.yaml": CASES}.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize(
    ("edit", "p_changes", "d_changes"),
    [
        (_edit("words.txt", "稳赚", "稳赚\n保本"), True, True),  # a lexicon file
        (_edit("p.yaml", "请稍后由专员和您确认", "请稍后由专员与您核对"), True, True),  # the fallback text
        (_edit("d.yaml", "first_loan", "no_balance"), False, True),  # only the derived file
        (_edit("p.cases.yaml", "您好。", "您好，再见。"), False, False),  # test cases never change a version
    ],
    ids=["lexicon", "fallback", "derived", "cases"],
)
def test_version_changes_exactly_when_a_served_file_does(
    folder: Path, edit: Callable[[Path], None], p_changes: bool, d_changes: bool
) -> None:
    before = load_policy_set(folder)
    edit(folder)
    after = load_policy_set(folder)
    assert (before.policies["p"].version != after.policies["p"].version) is p_changes
    assert (before.policies["d"].version != after.policies["d"].version) is d_changes
    assert (before.version != after.version) is (p_changes or d_changes)


def test_derived_policy_inherits_checks_and_fallback(folder: Path) -> None:
    policies = load_policy_set(folder)
    d = policies.policies["d"]
    assert d.fallback == policies.policies["p"].fallback
    assert d.doc.checks == {"words": {"file": "words.txt"}}
    assert d.doc.cases is None and not d.doc.default
    assert policies.select(segment="first_loan") is d
    assert policies.select("p", segment="first_loan").name == "p"  # a request can pin by name
