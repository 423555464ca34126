"""Compiled inner loops (numba) for grouping's passes over millions of pairs.

Why compiled: scoring a candidate pair walks the shorter story's sparse row against the longer
one's, some 400 entries a pair and two billion at 100k perf documents. In numpy that walk is a
chain of whole-array passes per story (positions, gathers, products, a cumulative sum), each
allocating its temporary; it took 54 s of the 100k grouping, and neither threads nor larger
batches moved it (memory traffic, not Python, was the cost). One loop that reads each entry once
does the same work at a few nanoseconds an entry. The kernels hold no Python objects
(`nogil`), so `dedup.parallel` threads run them side by side, and they are cached on disk
(`cache=True`), so a process pays their compilation (about a second) only the first time.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

IndexArray = npt.NDArray[np.integer]
F64Array = npt.NDArray[np.float64]


@njit(cache=True, nogil=True)
def reduce_pair_runs(
    indptr: IndexArray,
    indices: IndexArray,
    data: F64Array,
    lefts: IndexArray,
    rights: IndexArray,
    starts: IndexArray,
    ends: IndexArray,
    minimum: bool,
    dense: F64Array,
    result: F64Array,
) -> None:  # pragma: no cover - compiled; tested through dedup.event_space
    """For each run r (pairs starts[r]:ends[r], which share the row lefts[starts[r]]): the
    sum over shared columns of the two rows' products, or of their minima (`minimum`), into
    `result` at the pair's position.

    The shared row is scattered into `dense` (all zeros, one entry per column, left all zeros
    again), so each pair costs one pass over the other row's entries, in their column order: the
    sum is taken in one fixed order, whichever thread runs it."""
    for run in range(len(starts)):
        lo = starts[run]
        hi = ends[run]
        a = lefts[lo]
        for k in range(indptr[a], indptr[a + 1]):
            dense[indices[k]] = data[k]
        for p in range(lo, hi):
            b = rights[p]
            total = 0.0
            if minimum:
                for k in range(indptr[b], indptr[b + 1]):
                    mine = dense[indices[k]]
                    theirs = data[k]
                    total += mine if mine < theirs else theirs
            else:
                for k in range(indptr[b], indptr[b + 1]):
                    total += dense[indices[k]] * data[k]
            result[p] = total
        for k in range(indptr[a], indptr[a + 1]):
            dense[indices[k]] = 0.0


@njit(cache=True, nogil=True)
def count_levels(
    codes: IndexArray, n_items: int, level: IndexArray, n_levels: int, histogram: IndexArray
) -> None:  # pragma: no cover - compiled; tested through dedup.grouping.top_candidates
    """For each pair (code `i * n_items + j`) at `level[k]`: one more candidate at that level
    for both of its ends, in `histogram[item * n_levels + level]`. In place: numpy's bincount
    made an int64 table of every (item, level) for each slice of pairs, 181 MB at 100k perf
    documents, at the grouping's peak."""
    for k in range(len(codes)):
        first = codes[k] // n_items
        second = codes[k] - first * n_items
        histogram[first * n_levels + level[k]] += 1
        histogram[second * n_levels + level[k]] += 1


@njit(cache=True, nogil=True)
def keep_above_cutoffs(
    codes: IndexArray,
    n_items: int,
    level: IndexArray,
    cutoff: IndexArray,
    all_fit: npt.NDArray[np.bool_],
    keep: npt.NDArray[np.bool_],
    tied_items: IndexArray,
    tied_edges: IndexArray,
) -> int:  # pragma: no cover - compiled; tested through dedup.grouping.top_candidates
    """Marks in `keep` each pair above either end's cut-off level, or at the cut-off of an end
    whose candidates there all fit its quota. Each (end, pair) at a cut-off that does not all
    fit goes into `tied_items` / `tied_edges` (when they are long enough; pass empty arrays to
    count first). Returns how many such ties there are."""
    tied = 0
    capacity = len(tied_items)
    for k in range(len(codes)):
        first = codes[k] // n_items
        second = codes[k] - first * n_items
        for end in (first, second):
            mine = cutoff[end]
            if level[k] > mine or (level[k] == mine and all_fit[end]):
                keep[k] = True
            elif level[k] == mine:
                if tied < capacity:
                    tied_items[tied] = end
                    tied_edges[tied] = k
                tied += 1
    return tied


@njit(cache=True, nogil=True)
def intersection_sizes(
    bounds: IndexArray, values: IndexArray, left: IndexArray, right: IndexArray
) -> IndexArray:  # pragma: no cover - compiled; tested through dedup.grouping
    """Per pair k, how many values the sorted, distinct sets left[k] and right[k] share (set s
    is values[bounds[s]:bounds[s + 1]]): one merge of the two, no intersection array made.
    The copy checks intersect shingle sets of hundreds of hashes for every plausible pair;
    one `np.intersect1d` each cost 15 us, mostly its own overhead."""
    out = np.zeros(len(left), dtype=np.int64)
    for k in range(len(left)):
        i, i_end = bounds[left[k]], bounds[left[k] + 1]
        j, j_end = bounds[right[k]], bounds[right[k] + 1]
        shared = 0
        while i < i_end and j < j_end:
            a = values[i]
            b = values[j]
            if a == b:
                shared += 1
                i += 1
                j += 1
            elif a < b:
                i += 1
            else:
                j += 1
        out[k] = shared
    return out
