"""FolderWatch: the changes under a policy folder, from one inotify descriptor (Linux)."""

from __future__ import annotations

import os
import select
import shutil
import struct
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from guard.policy.inotify import IN_ISDIR, IN_Q_OVERFLOW, FolderEvent, FolderWatch, parse_events

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="inotify is Linux's")


def _events(w: FolderWatch, until: object, timeout: float = 3.0) -> list[FolderEvent]:
    """Everything `w` reports until `until(events)` holds (or the time runs out)."""
    got: list[FolderEvent] = []
    end = time.monotonic() + timeout
    while time.monotonic() < end and not until(got):  # type: ignore[operator]
        ready, _, _ = select.select([w], [], [], max(0.0, end - time.monotonic()))
        if ready:
            got += w.read()
    return got


def _has(path: Path, kind: str | None = None) -> object:
    return lambda evs: any(e.path == str(path) and (kind is None or e.kind == kind) for e in evs)


def test_nothing_to_read_when_nothing_changed(tmp_path: Path) -> None:
    with FolderWatch(tmp_path) as w:
        assert w.read() == []
        assert select.select([w], [], [], 0.05)[0] == []
        assert not w.lost


def test_a_write_a_rename_over_and_a_delete_are_seen(tmp_path: Path) -> None:
    (tmp_path / "base.yaml").write_text("a", encoding="utf-8")
    with FolderWatch(tmp_path) as w:
        (tmp_path / "base.yaml").write_text("b", encoding="utf-8")
        assert _has(tmp_path / "base.yaml", "modified")(_events(w, _has(tmp_path / "base.yaml", "modified")))
        tmp = tmp_path / ".base.yaml.tmp"
        tmp.write_text("c", encoding="utf-8")
        os.replace(tmp, tmp_path / "base.yaml")  # how editors save
        assert _events(w, _has(tmp_path / "base.yaml", "added"))
        (tmp_path / "base.yaml").unlink()
        assert _events(w, _has(tmp_path / "base.yaml", "deleted"))
        os.chmod(tmp_path, 0o755)  # the folder's own mode: a change of the root
        assert _events(w, _has(tmp_path))
        assert not w.lost


def test_subfolders_are_watched_including_ones_made_later(tmp_path: Path) -> None:
    (tmp_path / "lexicons").mkdir()
    with FolderWatch(tmp_path) as w:
        (tmp_path / "lexicons" / "conduct.txt").write_text("稳赚\n", encoding="utf-8")
        assert _events(w, _has(tmp_path / "lexicons" / "conduct.txt"))
        (tmp_path / "new" / "deeper").mkdir(parents=True)
        _events(w, _has(tmp_path / "new"))
        # a folder made after the watch began is watched once it is seen (and what is under it)
        _events(w, lambda _: False, timeout=0.1)
        (tmp_path / "new" / "deeper" / "x.yaml").write_text("x", encoding="utf-8")
        assert _events(w, _has(tmp_path / "new" / "deeper" / "x.yaml"))


def test_a_link_to_a_folder_inside_is_followed_and_a_loop_ends(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "policies"
    root.mkdir()
    (root / "shared").symlink_to(outside, target_is_directory=True)
    (root / "loop").symlink_to(root, target_is_directory=True)
    with FolderWatch(root) as w:
        (outside / "lexicon.txt").write_text("保本\n", encoding="utf-8")
        got = _events(w, lambda evs: any(e.path.endswith("lexicon.txt") for e in evs))
        assert any(e.path == str(root / "shared" / "lexicon.txt") for e in got)


def test_the_root_removed_is_lost(tmp_path: Path) -> None:
    root = tmp_path / "policies"
    root.mkdir()
    with FolderWatch(root) as w:
        shutil.rmtree(root)
        _events(w, lambda _: w.lost)
        assert w.lost


def test_the_root_moved_away_is_lost(tmp_path: Path) -> None:
    root = tmp_path / "policies"
    root.mkdir()
    with FolderWatch(root) as w:
        root.rename(tmp_path / "elsewhere")
        _events(w, lambda _: w.lost)
        assert w.lost


def test_a_linked_root_is_lost_when_the_link_is_replaced(tmp_path: Path) -> None:
    v1, v2 = tmp_path / "v1", tmp_path / "v2"
    v1.mkdir()
    v2.mkdir()
    link = tmp_path / "policies"
    link.symlink_to(v1, target_is_directory=True)
    with FolderWatch(link) as w:
        (tmp_path / "unrelated").write_text("x", encoding="utf-8")  # the parent's other entries: ignored
        assert _events(w, lambda _: False, timeout=0.2) == []
        assert not w.lost
        tmp = tmp_path / "policies.new"
        tmp.symlink_to(v2, target_is_directory=True)
        os.replace(tmp, link)  # a release swapped in
        _events(w, lambda _: w.lost)
        assert w.lost


def test_a_missing_folder_raises_oserror(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        FolderWatch(tmp_path / "absent")
    (tmp_path / "file.yaml").write_text("x", encoding="utf-8")
    with pytest.raises(OSError):
        FolderWatch(tmp_path / "file.yaml")  # a folder only


def test_closing_twice_is_harmless(tmp_path: Path) -> None:
    w = FolderWatch(tmp_path)
    w.close()
    w.close()
    assert w.fileno() == -1


def _event(wd: int, mask: int, name: bytes) -> bytes:
    padded = name + b"\0" * ((-len(name) - 1) % 16 + 1) if name else b""
    return struct.pack("iIII", wd, mask, 0, len(padded)) + padded


@given(
    st.lists(
        st.tuples(
            st.integers(1, 2**31 - 1),
            st.integers(0, 2**32 - 1),
            st.text(st.characters(blacklist_characters="\0/", blacklist_categories=("Cs",)), max_size=40),
        ),
        max_size=20,
    )
)
def test_parse_events_reads_back_what_the_kernel_writes(events: list[tuple[int, int, str]]) -> None:
    buf = b"".join(_event(wd, mask, os.fsencode(name)) for wd, mask, name in events)
    assert parse_events(buf) == events


def test_an_overflow_is_a_change_of_the_root(tmp_path: Path) -> None:
    with FolderWatch(tmp_path) as w:
        out: list[FolderEvent] = []
        w._one(-1, IN_Q_OVERFLOW, "", out)
        assert out == [FolderEvent(str(tmp_path), "modified")]
        w._one(12345, IN_ISDIR, "x", out)  # a descriptor it does not know: nothing
        assert len(out) == 1
