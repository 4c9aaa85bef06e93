"""Broken policy files are fixtures; each asserts the file:line: field: message a risk officer sees."""

from __future__ import annotations

from pathlib import Path

import pytest

from guard.policy.errors import PolicyError
from guard.policy.loader import load_policy_file, load_policy_set

BROKEN = Path(__file__).parent / "broken"


@pytest.mark.parametrize(
    ("fixture", "line", "field", "message"),
    [
        ("yaml_syntax.yaml", 5, "", "YAML syntax error"),
        ("unknown_field.yaml", 4, "checks.length.sentense_max", "unknown field (did you mean `sentence_max`?"),
        ("wrong_type.yaml", 4, "checks.length.sentence_max", "valid integer"),
        ("duplicate_key.yaml", 5, "checks.length", "duplicate key (first defined on line 3)"),
        ("unknown_check.yaml", 3, "checks.lenght", "unknown check (known checks: length"),
        ("bad_name.yaml", 1, "name", "should match pattern"),
        ("missing_name.yaml", 1, "name", "required field is missing"),
        ("fallback_too_long.yaml", 2, "fallback", "the fallback text itself violates length.sentence"),
        ("missing_cases.yaml", 2, "cases", "test case file not found: nowhere.cases.yaml"),
        ("not_mapping.yaml", 1, "", "a policy file must be a mapping"),
        ("bad_action.yaml", 4, "checks.length.action", "Input should be 'warn', 'truncate', 'regenerate' or 'block'"),
        ("too_many_regens.yaml", 2, "max_regenerations", "less than or equal to 5"),
    ],
)
def test_broken_policy_names_file_line_and_field(fixture: str, line: int, field: str, message: str) -> None:
    path = BROKEN / fixture
    with pytest.raises(PolicyError) as info:
        load_policy_file(path)
    problem = info.value.problems[0]
    assert problem.file == str(path)
    assert problem.line == line
    assert problem.field == field
    assert message in problem.message
    text = str(info.value)
    assert text.startswith(f"{path}:{line}: ")
    assert "Traceback" not in text


def test_a_set_reports_every_broken_file(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("name: a\ndefault: true\n", encoding="utf-8")
    (tmp_path / "b.yaml").write_text("name: b\nchecks:\n  nope: {}\n", encoding="utf-8")
    (tmp_path / "c.yaml").write_text("name: a\n", encoding="utf-8")
    with pytest.raises(PolicyError) as info:
        load_policy_set(tmp_path)
    messages = [str(p) for p in info.value.problems]
    assert any("b.yaml:3: checks.nope: unknown check" in m for m in messages)
    assert any("c.yaml: name: policy name 'a' is also used by" in m for m in messages)


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"a.yaml": "name: a\n", "b.yaml": "name: b\n"}, "exactly one policy must say `default: true` (found 0)"),
        ({"a.yaml": "name: a\ndefault: true\n", "b.yaml": "name: b\ndefault: true\n"}, "(found 2)"),
        ({}, "no policy files found"),
    ],
)
def test_set_level_problems(tmp_path: Path, files: dict[str, str], message: str) -> None:
    for name, body in files.items():
        (tmp_path / name).write_text(body, encoding="utf-8")
    with pytest.raises(PolicyError) as info:
        load_policy_set(tmp_path)
    assert message in str(info.value)


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "gbk.yaml"
    path.write_bytes("name: a\ntitle: 外呼\n".encode("gbk"))
    with pytest.raises(PolicyError, match="not UTF-8"):
        load_policy_file(path)


def test_version_is_a_content_hash(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("name: p\n", encoding="utf-8")
    v1 = load_policy_file(path).version
    assert load_policy_file(path).version == v1
    path.write_text("name: p\n# 注释也算内容\n", encoding="utf-8")
    assert load_policy_file(path).version != v1


def test_shipped_policies_load() -> None:
    policies = load_policy_set()
    assert policies.default == "outbound_marketing"
    assert policies.select().name == "outbound_marketing"
    with pytest.raises(KeyError, match="unknown policy 'nope'"):
        policies.get("nope")



@pytest.mark.parametrize("name", ["李娜13812345678", "Outbound", "a b", "x" * 65, "nope\n"])
def test_an_unknown_policy_name_is_quoted_only_when_it_has_a_policy_names_shape(name: str) -> None:
    # `guard.policy` is the caller's text: it could hold a customer's name or phone.
    with pytest.raises(KeyError) as caught:
        load_policy_set().get(name)
    assert "unknown policy (not a policy name) (known: " in str(caught.value) and name.strip() not in str(caught.value)


def test_the_root_is_a_folder_a_file_or_nothing(tmp_path: Path) -> None:
    """One `stat` says which: a link to the folder loads it; a missing path or one with a NUL is
    "no policy files found", as before the folder was listed."""
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "a.yaml").write_text("name: a\ndefault: true\n", encoding="utf-8")
    (folder / "a.cases.yaml").write_text("cases: []\n", encoding="utf-8")
    (tmp_path / "link").symlink_to(folder)
    assert set(load_policy_set(tmp_path / "link").policies) == {"a"}
    assert set(load_policy_set(folder / "a.yaml").policies) == {"a"}
    for missing in (tmp_path / "nowhere", tmp_path / "bad\x00name"):
        with pytest.raises(PolicyError, match="no policy files found"):
            load_policy_set(missing)


@pytest.mark.parametrize(
    ("key", "hint"),
    [("chnages", "did you mean `changes`? "), ("fallbak", "did you mean `fallback`? "), ("zzz_nothing_like", "")],
)
def test_an_unknown_field_names_the_nearest_known_one(tmp_path: Path, key: str, hint: str) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(f"name: p\nchecks:\n  facts:\n    credit_line:\n      {key}: [提升]\n", encoding="utf-8")
    with pytest.raises(PolicyError) as info:
        load_policy_file(path)
    (problem,) = info.value.problems
    assert (problem.line, problem.field) == (5, f"checks.facts.credit_line.{key}")
    assert problem.message.startswith(f"unknown field ({hint}check the spelling")
