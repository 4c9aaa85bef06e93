"""guard.proxy.hugepages: which memory is a candidate, and a real collapse in a child process."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import textwrap
from typing import Any

import pytest

from guard.proxy.hugepages import HUGE_PAGE, Collapse, candidate_ranges, collapse_heap

MAPS = """\
00400000-00600000 r-xp 00000000 08:01 123  /usr/bin/python3.11
00a00000-01300000 rw-p 00000000 00:00 0    [heap]
7f0000100000-7f0000700000 rw-p 00000000 00:00 0
7f0000800000-7f0000900000 rw-p 00000000 00:00 0
7f0001000000-7f0001400000 rw-s 00000000 00:01 77   /dev/shm/x
7f0002000000-7f0002400000 rw-p 00000000 08:01 99   /var/lib/data.bin
7f0003000000-7f0003400000 r--p 00000000 00:00 0
7ffd00000000-7ffd00800000 rw-p 00000000 00:00 0    [stack]
"""


def test_candidates_are_the_private_writable_anonymous_mappings_clamped_to_2_mib() -> None:
    assert candidate_ranges(MAPS) == [
        (0x00A00000, 0x01200000),  # the brk heap, its tail past the last 2 MiB boundary left out
        (0x7F0000200000, 0x7F0000600000),  # an anonymous mapping, both ends clamped inward
        # 1 MiB anonymous (no whole 2 MiB range), shared, file-backed, read-only and the stack: none
    ]


def test_collapse_reports_rather_than_raises_off_linux(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "darwin")
    assert collapse_heap() == Collapse(reason="not Linux")


_CHILD = textwrap.dedent(
    """
    import json, mmap, sys
    from guard.proxy.hugepages import collapse_heap

    def rollup():
        fields = {}
        for line in open("/proc/self/smaps_rollup"):
            name, _, rest = line.partition(":")
            if name in ("Rss", "AnonHugePages"):
                fields[name] = int(rest.split()[0]) * 1024
        return fields

    size, step = int(sys.argv[1]), int(sys.argv[2])  # touch one page in `step`
    buffer = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    for i in range(0, size, step * mmap.PAGESIZE):
        buffer[i] = 1
    before = rollup()
    result = collapse_heap()
    print(json.dumps({"result": result.__dict__, "before": before, "after": rollup()}))
    """
)


def _collapse_in_child(size: int, step: int) -> dict[str, Any]:
    out = subprocess.run([sys.executable, "-c", _CHILD, str(size), str(step)], capture_output=True, text=True,
                         check=True, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    got: dict[str, Any] = json.loads(out.stdout)
    return got


def _kernel_has_collapse() -> bool:
    major, minor = (int(x) for x in platform.release().split(".")[:2])
    return (major, minor) >= (6, 1)


linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="MADV_COLLAPSE is Linux's")


@linux_only
def test_a_resident_mapping_goes_onto_huge_pages() -> None:
    size = 32 * HUGE_PAGE
    got = _collapse_in_child(size, 1)
    result, before, after = got["result"], got["before"], got["after"]
    if not _kernel_has_collapse():  # before 6.1: nothing is done, and the result says why
        assert result["collapsed"] == 0 and result["reason"]
        assert after["AnonHugePages"] == before["AnonHugePages"]
        return
    assert result["reason"] is None
    # Every whole 2 MiB range of the mapping (all but at most the two clamped ends) is collapsed.
    assert after["AnonHugePages"] - before["AnonHugePages"] >= size - 2 * HUGE_PAGE
    assert result["collapsed"] >= after["AnonHugePages"] - before["AnonHugePages"]


@linux_only
def test_a_sparse_mapping_is_left_alone_so_the_resident_memory_does_not_grow() -> None:
    size = 64 * HUGE_PAGE  # 128 MiB with one page in 16 resident: 8 MiB; collapsed it would be 128
    got = _collapse_in_child(size, 16)
    result, before, after = got["result"], got["before"], got["after"]
    assert result["sparse"] >= size - 2 * HUGE_PAGE
    assert after["Rss"] - before["Rss"] < 16 << 20
