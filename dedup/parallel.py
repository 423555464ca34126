"""Array passes split over threads.

Why threads, not processes: grouping runs in one process after the cleaning workers have
finished, so a core idles while it makes its passes over tens of millions of candidate pairs.
numpy releases the GIL inside its loops, so threads share those passes without copying the
arrays into other processes; each part writes its own slice of the output, so the result does
not depend on how many threads ran. It pays where each call does much work (sketch agreement,
the compiled pair scoring of `newsclean.dedup.kernels`), not for many small numpy calls.
Timings: docs/tuning.md, threads.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise
from typing import TypeVar

T = TypeVar("T")


def thread_count(setting: int) -> int:
    """`setting` threads, or one per core for 0."""
    return setting if setting > 0 else (os.cpu_count() or 1)


def map_ranges(fn: Callable[[int, int], T], bounds: Sequence[int], threads: int) -> list[T]:
    """fn(bounds[k], bounds[k + 1]) for every k, in order, on up to `threads` threads."""
    ranges = [(lo, hi) for lo, hi in pairwise(bounds) if hi > lo]
    if threads <= 1 or len(ranges) <= 1:
        return [fn(lo, hi) for lo, hi in ranges]
    with ThreadPoolExecutor(max_workers=min(threads, len(ranges))) as pool:
        return list(pool.map(lambda r: fn(*r), ranges))
