"""Keeping the grouping's process no larger than what it holds: freed memory goes back to the
operating system."""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import lru_cache
from typing import Any


@lru_cache(maxsize=1)
def _libc() -> Any:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
        return libc if hasattr(libc, "malloc_trim") and hasattr(libc, "mallopt") else None  # glibc only
    except OSError:
        return None


def release_freed_memory() -> bool:
    """Return the C heap's free pages to the OS (glibc's `malloc_trim(0)`); False where the C
    library has no such call (musl, macOS), which changes nothing but the process's size.

    Why: a run's signatures arrive as many separate buffers of a few kilobytes, which malloc
    carves from its heap; freed, they leave holes that the process keeps, and every later
    phase's arrays come on top of them. Trimming after each phase that lets go of much hands
    those pages back (figures: docs/tuning.md)."""
    libc = _libc()
    if libc is None:
        return False
    libc.malloc_trim(0)
    return True


_M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter


def map_large_blocks_apart(threshold: int) -> bool:
    """Serve every allocation of at least `threshold` bytes from a mapping of its own, returned
    to the OS when freed (glibc's `mallopt(M_MMAP_THRESHOLD)`); False where the C library has
    no such call, or when `threshold` is 0 (the library's default is kept).

    Why: glibc raises that threshold by itself each time a mapped block is freed, up to 32 MB,
    so after the first large arrays go, the grouping's many temporaries of a few megabytes
    (a slice of pairs, a story's gathered rows) come from the heap instead, and their holes stay
    in the process. A fixed threshold lowers the group stage's peak with the same assignments
    (docs/tuning.md, large_block_bytes). Process-wide, so it is the pipeline's group stage that
    sets it."""
    libc = _libc()
    if libc is None or threshold <= 0:
        return False
    return bool(libc.mallopt(_M_MMAP_THRESHOLD, int(threshold)))
