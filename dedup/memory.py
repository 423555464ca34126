"""Giving freed memory back to the operating system between the grouping's phases."""

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
        return libc if hasattr(libc, "malloc_trim") else None  # glibc only
    except OSError:
        return None


def release_freed_memory() -> bool:
    """Return the C heap's free pages to the OS (glibc's `malloc_trim(0)`); False where the C
    library has no such call (musl, macOS), which changes nothing but the process's size.

    Why: a run's 100k signatures arrive as 100k separate buffers of a few kilobytes, which
    malloc carves from its heap. Freed once the candidate search has taken what it needs, they
    leave holes that the process keeps: its size stayed at 1.6 GB with 0.85 GB in use, and
    every later phase's arrays (fresh mappings) came on top of that, up to 2.9 GB at 100k
    documents. Trimming after each phase that lets go of much hands those pages back."""
    libc = _libc()
    if libc is None:
        return False
    libc.malloc_trim(0)
    return True
