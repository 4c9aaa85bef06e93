"""FolderPoll: the changes under a policy folder by comparing `stat`s (where inotify cannot see)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from guard.policy.polling import FolderPoll


def _save(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def test_nothing_changed_nothing_reported(tmp_path: Path) -> None:
    (tmp_path / "base.yaml").write_text("a: 1\n", encoding="utf-8")
    poll = FolderPoll(tmp_path)
    assert not poll.changed()
    assert not poll.changed()


def test_saves_within_one_second_are_each_seen(tmp_path: Path) -> None:
    """Same size, same second: what a poll by whole seconds misses."""
    f = tmp_path / "base.yaml"
    f.write_text("sentence_max: 20\n", encoding="utf-8")
    poll = FolderPoll(tmp_path)
    for limit in (30, 40, 50):
        _save(f, f"sentence_max: {limit}\n")  # a rename over it
        assert poll.changed()
        assert not poll.changed()  # reported once
    with f.open("r+", encoding="utf-8") as fh:  # written in place, same size
        fh.write("sentence_max: 60\n")
    assert poll.changed()


def test_a_file_added_removed_or_in_a_subfolder_is_seen(tmp_path: Path) -> None:
    (tmp_path / "lexicons").mkdir()
    (tmp_path / "lexicons" / "words.txt").write_text("稳赚\n", encoding="utf-8")
    poll = FolderPoll(tmp_path)
    (tmp_path / "lexicons" / "words.txt").write_text("稳赚\n保本\n", encoding="utf-8")
    assert poll.changed()
    (tmp_path / "new.yaml").write_text("x: 1\n", encoding="utf-8")
    assert poll.changed()
    (tmp_path / "new.yaml").unlink()
    assert poll.changed()
    os.chmod(tmp_path / "lexicons" / "words.txt", 0o600)  # its mode: whether it can be read
    assert poll.changed()


def test_irrelevant_files_are_not_a_change(tmp_path: Path) -> None:
    poll = FolderPoll(tmp_path, relevant=lambda path: not path.endswith(".swp"))
    (tmp_path / ".base.yaml.swp").write_text("swap", encoding="utf-8")
    assert not poll.changed()
    (tmp_path / "base.yaml").write_text("x", encoding="utf-8")
    assert poll.changed()


def test_the_folder_removed_and_back_and_a_replaced_link_are_changes(tmp_path: Path) -> None:
    v1, v2 = tmp_path / "v1", tmp_path / "v2"
    v1.mkdir()
    (v1 / "base.yaml").write_text("a", encoding="utf-8")
    shutil.copytree(v1, v2)
    link = tmp_path / "policies"
    link.symlink_to(v1, target_is_directory=True)
    poll = FolderPoll(link)
    new = tmp_path / "policies.new"
    new.symlink_to(v2, target_is_directory=True)
    os.replace(new, link)  # the same files in another release
    assert poll.changed()
    shutil.rmtree(v2)
    assert poll.changed()
    assert not poll.changed()  # still gone
    shutil.copytree(v1, v2)
    assert poll.changed()


def test_links_dangling_or_looping_do_not_break_a_look(tmp_path: Path) -> None:
    (tmp_path / "gone.yaml").symlink_to(tmp_path / "absent.yaml")
    (tmp_path / "loop").symlink_to(tmp_path, target_is_directory=True)
    poll = FolderPoll(tmp_path)
    assert not poll.changed()
    (tmp_path / "absent.yaml").write_text("x", encoding="utf-8")  # the link now resolves
    assert poll.changed()
