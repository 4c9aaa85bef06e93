"""2 MiB pages for the serving process's start-up heap (Linux 6.1+, `madvise(MADV_COLLAPSE)`).

Everything `guard serve` loads before it serves — jieba's dictionary, the name statistics, the
lexicon's automata, the policies, the libraries — lives in some 250 MB of anonymous memory that
every reply reads from, scattered over 4 KiB pages. On a VM each TLB miss is a two-level page walk.
`collapse_heap` asks the kernel to back that memory with 2 MiB pages, once, at start-up (about
0.2 s for 250 MB), as `gc.freeze()` keeps it out of the cyclic GC. Measured in
docs/benchmarks.md ("Proxy → twenty-second round").

Only 2 MiB ranges that are already almost all resident are collapsed (`min_resident`): a
collapse fills the missing pages with zeros, so a sparse mapping would grow the resident memory.
Where the kernel cannot do it (not Linux, a kernel before 6.1, memory marked no-huge-page such as
thread stacks), nothing changes and `Collapse.reason` says why. Nothing else depends on it.
"""

from __future__ import annotations

import ctypes
import errno
import os
import sys
from dataclasses import dataclass

__all__ = ["HUGE_PAGE", "Collapse", "candidate_ranges", "collapse_heap"]

HUGE_PAGE = 2 << 20
_MADV_COLLAPSE = 25  # <linux/mman.h>, since Linux 6.1
_PRESENT = 1 << 63  # /proc/pid/pagemap: the page is in RAM (readable without privileges)


@dataclass(frozen=True)
class Collapse:
    """What `collapse_heap` did."""

    collapsed: int = 0  # bytes now backed by 2 MiB pages
    sparse: int = 0  # bytes of candidate ranges left alone: not resident enough
    refused: int = 0  # bytes the kernel would not collapse (no-huge-page memory, no free huge page)
    reason: str | None = None  # why nothing was collapsed, when nothing was


def candidate_ranges(maps: str) -> list[tuple[int, int]]:
    """The 2 MiB-aligned (start, end) inside each private, writable, anonymous mapping of a
    `/proc/pid/maps` text (the brk heap included; stacks, shared and file mappings left out)."""
    out: list[tuple[int, int]] = []
    for line in maps.splitlines():
        parts = line.split(maxsplit=5)
        if len(parts) < 5:
            continue
        span, perms = parts[0], parts[1]
        path = parts[5].strip() if len(parts) == 6 else ""
        if perms[:2] != "rw" or perms[3:4] != "p" or path not in ("", "[heap]"):
            continue
        lo_text, _, hi_text = span.partition("-")
        lo, hi = int(lo_text, 16), int(hi_text, 16)
        start = -(-lo // HUGE_PAGE) * HUGE_PAGE
        end = hi // HUGE_PAGE * HUGE_PAGE
        if end > start:
            out.append((start, end))
    return out


def _resident_share(pagemap: int, start: int, page: int) -> float:
    """The share of the 4 KiB pages of the 2 MiB range at `start` that are in RAM."""
    count = HUGE_PAGE // page
    entries = memoryview(os.pread(pagemap, count * 8, start // page * 8)).cast("Q")  # native order, as written
    return sum(1 for entry in entries if entry & _PRESENT) / count


def collapse_heap(min_resident: float = 0.9) -> Collapse:
    """Back this process's resident anonymous memory with 2 MiB pages where the kernel can.

    A 2 MiB range is collapsed when at least `min_resident` of its pages are in RAM. Never raises
    for what the platform cannot do: the result says what was done and, if nothing, why.
    """
    if not sys.platform.startswith("linux"):
        return Collapse(reason="not Linux")
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        madvise = libc.madvise
        madvise.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
        madvise.restype = ctypes.c_int
        with open("/proc/self/maps", encoding="ascii") as fh:
            ranges = candidate_ranges(fh.read())
        pagemap = os.open("/proc/self/pagemap", os.O_RDONLY)
    except (OSError, AttributeError) as exc:
        return Collapse(reason=f"cannot inspect or advise the memory: {type(exc).__name__}: {exc}")
    page = os.sysconf("SC_PAGE_SIZE")
    collapsed = sparse = refused = 0
    errors: set[int] = set()
    try:
        for start, end in ranges:
            for lo in range(start, end, HUGE_PAGE):
                try:
                    dense = _resident_share(pagemap, lo, page) >= min_resident
                except OSError:
                    dense = False  # unmapped since the maps were read
                if not dense:
                    sparse += HUGE_PAGE
                elif madvise(lo, HUGE_PAGE, _MADV_COLLAPSE) == 0:
                    collapsed += HUGE_PAGE
                else:
                    refused += HUGE_PAGE
                    errors.add(ctypes.get_errno())
    finally:
        os.close(pagemap)
    reason = None
    if not collapsed:
        if errors and errors <= {errno.EINVAL}:
            reason = "the kernel refused MADV_COLLAPSE (Linux before 6.1, or huge pages disabled)"
        elif errors:
            reason = "the kernel refused MADV_COLLAPSE: " + ", ".join(sorted(errno.errorcode.get(e, str(e)) for e in errors))
        else:
            reason = "no resident anonymous memory in whole 2 MiB ranges"
    return Collapse(collapsed=collapsed, sparse=sparse, refused=refused, reason=reason)
