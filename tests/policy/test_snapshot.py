"""One load, one read of each file (`guard.policy.snapshot`)."""

from __future__ import annotations

import collections
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from guard.policy import snapshot
from guard.policy.loader import DEFAULT_POLICY_DIR, load_policy_set


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> collections.Counter[str]:
    counted: collections.Counter[str] = collections.Counter()
    original = snapshot._read_file

    def read_file(path: Path) -> bytes:
        counted[path.name] += 1
        return original(path)

    monkeypatch.setattr(snapshot, "_read_file", read_file)
    return counted


def test_loading_the_default_folder_reads_each_file_once(tmp_path: Path, reads: collections.Counter[str]) -> None:
    folder = tmp_path / "policies"
    shutil.copytree(DEFAULT_POLICY_DIR, folder)
    loaded = load_policy_set(folder)
    assert len(loaded.policies) > 1
    used = {name.rsplit("/", 1)[-1].removeprefix("extends:") for p in loaded.policies.values() for name in p.files}
    assert used and used <= set(reads)  # every lexicon and base file came through the counted read
    assert reads and max(reads.values()) == 1, reads  # outbound_marketing.yaml was read 9 times before
    # The same version as a load without the snapshot, file by file.
    again = load_policy_set(folder)
    assert again.version == loaded.version


def test_outside_a_load_reads_see_the_file_as_it_is_now(tmp_path: Path) -> None:
    f = tmp_path / "a.txt"
    f.write_bytes(b"one")
    assert snapshot.read_bytes(f) == b"one"
    f.write_bytes(b"two")
    assert snapshot.read_bytes(f) == b"two"
    with snapshot.snapshot() as snap:
        assert snapshot.read_bytes(f) == b"two"
        f.write_bytes(b"three")
        assert snapshot.read_bytes(f) == b"two"  # one view for the whole load
        with snapshot.snapshot() as inner:
            assert inner is snap and snapshot.read_bytes(f) == b"two"
        assert snapshot.is_file(f) and not snapshot.is_file(tmp_path / "missing.txt")
        assert snapshot.resolve(tmp_path / "." / "a.txt") == f.resolve()
    assert snapshot.read_bytes(f) == b"three"


def test_a_read_that_fails_is_not_kept(tmp_path: Path) -> None:
    f = tmp_path / "late.txt"
    with snapshot.snapshot():
        with pytest.raises(FileNotFoundError):
            snapshot.read_bytes(f)
        f.write_bytes(b"here")
        assert snapshot.read_bytes(f) == b"here"


def test_a_read_gives_the_bytes_and_the_errors_of_read_bytes(tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(bytes(range(256)) * 1000)  # past one read's 64 KiB
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    assert snapshot._read_file(big) == big.read_bytes()
    assert snapshot._read_file(empty) == b""
    for path, error in ((tmp_path / "missing", FileNotFoundError), (tmp_path, IsADirectoryError)):
        with pytest.raises(error) as ours:
            snapshot._read_file(path)
        with pytest.raises(error) as theirs:
            path.read_bytes()
        assert ours.value.strerror == theirs.value.strerror


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Folders, files and links of every kind: to a folder, to a file, chained, dangling, a loop."""
    root = tmp_path_factory.mktemp("tree")
    (root / "a" / "b").mkdir(parents=True)
    (root / "a" / "b" / "f.yaml").write_text("x")
    (root / "a" / "g.txt").write_text("y")
    (root / "dir_link").symlink_to(root / "a")
    (root / "a" / "up").symlink_to("..")
    (root / "a" / "rel_file").symlink_to("b/f.yaml")
    (root / "chain").symlink_to("dir_link/b")
    (root / "dangling").symlink_to(root / "nowhere" / "x")
    (root / "loop1").symlink_to("loop2")
    (root / "loop2").symlink_to("loop1")
    return root


_PARTS = ("a", "b", "f.yaml", "g.txt", "dir_link", "up", "rel_file", "chain", "dangling", "loop1", "missing", ".", "..")


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    parts=st.lists(st.sampled_from(_PARTS), min_size=1, max_size=5),
    double_slash=st.booleans(),
    listed=st.lists(st.sampled_from(["", "a", "a/b", "dir_link", "chain", "a/up"]), max_size=3),
)
def test_resolve_matches_path_resolve(tree: Path, parts: list[str], double_slash: bool, listed: list[str]) -> None:
    """With or without the folders listed first (a listed entry that is no link skips its `lstat`)."""
    path = tree.joinpath(*parts)
    if double_slash:  # POSIX keeps a leading "//" in a path; resolving drops it
        path = Path("/" + str(path))
    expected: Path | RuntimeError
    try:
        expected = Path(os.path.abspath(path)).resolve()  # what the snapshot resolved before: the normalised path's
    except RuntimeError as exc:  # a symbolic link loop (Python 3.11 raises; 3.13 does not)
        expected = exc
    with snapshot.snapshot():
        for folder in listed:
            snapshot.list_folder(Path(("/" if double_slash else "") + str(tree / folder)))
        if isinstance(expected, RuntimeError):
            with pytest.raises(RuntimeError):
                snapshot.resolve(path)
        else:
            assert snapshot.resolve(path) == expected
            assert snapshot.resolve(path) == expected  # and from the memo


def test_a_listed_entry_is_a_file_as_path_is_file_says(tree: Path) -> None:
    """Files, folders, links to either, dangling links and loops, listed through a link too."""
    for folder in (tree, tree / "a", tree / "dir_link"):
        with snapshot.snapshot():
            names = snapshot.list_folder(folder)
            assert sorted(names) == sorted(os.listdir(folder))
            for name in names:
                assert snapshot.is_file(folder / name) is (folder / name).is_file(), name
                assert _outcome(snapshot.resolve, folder / name) == _outcome(Path.resolve, folder / name), name


def _outcome(resolve: Callable[[Path], Path], path: Path) -> Path | type[BaseException]:
    try:
        return resolve(path)
    except RuntimeError as exc:  # a symbolic link loop (Python 3.11)
        return type(exc)


def test_a_load_asks_nothing_more_of_the_listed_policy_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The listing says which entries are regular files and no links: no `stat` or `lstat` of
    a policy or test-case file (the policy folder is listed on every reload)."""
    folder = tmp_path / "policies"
    shutil.copytree(DEFAULT_POLICY_DIR, folder)
    asked: list[str] = []
    for name in ("stat", "lstat"):
        original = getattr(os, name)

        def counted(path: Any, *args: Any, _original: Any = original, **kw: Any) -> Any:
            if os.path.dirname(os.fspath(path)) == str(folder):
                asked.append(os.fspath(path))
            return _original(path, *args, **kw)

        monkeypatch.setattr(os, name, counted)
    loaded = load_policy_set(folder)
    monkeypatch.undo()
    assert len(loaded.policies) > 1 and any(p.doc.cases for p in loaded.policies.values())
    assert asked == [], asked
