"""One load, one read of each file (`guard.policy.snapshot`)."""

from __future__ import annotations

import collections
import shutil
from pathlib import Path

import pytest

from guard.policy import snapshot
from guard.policy.loader import DEFAULT_POLICY_DIR, load_policy_set


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> collections.Counter[str]:
    counted: collections.Counter[str] = collections.Counter()
    original = Path.read_bytes

    def read_bytes(self: Path) -> bytes:
        counted[self.name] += 1
        return original(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
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
