"""Versions: the content hash of a policy and every file it uses — never of its test cases."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from guard.policy import yamlsrc
from guard.policy.loader import _hash, load_policy_set

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


FALLBACK_FILE = "name: p\ndefault: true\nfallback_file: fallback.txt\nchecks:\n  length: {sentence_max: 20}\n"


def test_a_fallback_file_is_read_hashed_and_inherited(tmp_path: Path) -> None:
    files = {"p.yaml": FALLBACK_FILE, "fallback.txt": "请稍后由专员和您确认。\n", "d.yaml": "name: d\nextends: p.yaml\n"}
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    before = load_policy_set(tmp_path)
    assert before.policies["p"].fallback == "请稍后由专员和您确认。"
    assert before.policies["d"].fallback == "请稍后由专员和您确认。"
    (tmp_path / "fallback.txt").write_text("请稍后由专员与您联系。\n", encoding="utf-8")
    after = load_policy_set(tmp_path)
    assert after.policies["p"].fallback == "请稍后由专员与您联系。"
    assert after.policies["p"].version != before.policies["p"].version
    assert after.policies["d"].version != before.policies["d"].version


@pytest.mark.parametrize(
    ("policy", "fallback", "message"),
    [
        (FALLBACK_FILE.replace("fallback_file: fallback.txt", "fallback_file: missing.txt"), None, "p.yaml:3: fallback_file: file not found: missing.txt"),
        (FALLBACK_FILE + "fallback: 您好。\n", "您好。", "p.yaml:3: fallback_file: write either fallback or fallback_file, not both"),
        (FALLBACK_FILE, "\n", "p.yaml:3: fallback_file: fallback.txt is empty"),
        (FALLBACK_FILE, "这一句兜底话术的长度明显超过了二十个字的上限。", "p.yaml:3: fallback_file: the fallback text itself violates length.sentence"),
    ],
)
def test_fallback_file_problems(tmp_path: Path, policy: str, fallback: str | None, message: str) -> None:
    from guard.policy.errors import PolicyError

    (tmp_path / "p.yaml").write_text(policy, encoding="utf-8")
    if fallback is not None:
        (tmp_path / "fallback.txt").write_text(fallback, encoding="utf-8")
    with pytest.raises(PolicyError) as info:
        load_policy_set(tmp_path)
    assert any(str(p).endswith(message) or message in str(p) for p in info.value.problems), str(info.value)


@given(
    main=st.binary(max_size=5000),
    files=st.dictionaries(st.text(min_size=1, max_size=12), st.binary(max_size=5000), max_size=6),
)
def test_the_version_hash_is_the_same_as_one_update_a_part(main: bytes, files: dict[str, bytes]) -> None:
    # `_hash` joins the parts and hashes them in one update (fewer GIL hand-offs in a reload under
    # load); the versions already in ledgers were made one update a part, and must not change.
    h = hashlib.sha256()
    h.update(main)
    for name in sorted(files):
        h.update(b"\0" + name.encode() + b"\0")
        h.update(files[name])
    assert _hash(main, files) == h.hexdigest()[:16]


def test_policy_files_are_parsed_by_libyaml_where_pyyaml_has_it() -> None:
    assert yamlsrc.SafeLoader is getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    if yaml.__with_libyaml__:  # the wheels on the supported platforms have it
        assert yamlsrc.SafeLoader is yaml.CSafeLoader
