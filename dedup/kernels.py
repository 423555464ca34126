"""Compiled inner loops (numba) for grouping's passes over millions of pairs.

Why compiled: scoring a candidate pair walks the shorter story's sparse row against the longer
one's, billions of entries in a large corpus. In numpy that walk is a chain of whole-array
passes per story, each allocating its temporary, and memory traffic, not Python, was the cost;
one loop that reads each entry once does the same work far faster (figures: docs/tuning.md).
The kernels hold no Python objects (`nogil`), so `newsclean.dedup.parallel` threads run them
side by side, and they are cached on disk (`cache=True`), so a process compiles them once.
"""

from __future__ import annotations

import heapq

import numpy as np
import numpy.typing as npt
from numba import njit, types
from numba.typed import Dict, List

IndexArray = npt.NDArray[np.integer]
F64Array = npt.NDArray[np.float64]


@njit(cache=True, nogil=True)
def reduce_pair_runs(
    scatter_indptr: IndexArray,
    scatter_indices: IndexArray,
    scatter_data: F64Array,
    indptr: IndexArray,
    indices: IndexArray,
    data: F64Array,
    lefts: IndexArray,
    rights: IndexArray,
    starts: IndexArray,
    ends: IndexArray,
    minimum: bool,
    mark: bool,
    dense: F64Array,
    result: F64Array,
) -> None:  # pragma: no cover - compiled; tested through dedup.event_space
    """For each run r (pairs starts[r]:ends[r], which share the row lefts[starts[r]] of the
    scattered matrix): per pair, the sum over shared columns of the products of the scattered
    row's and the read matrix's row rights[p] values, or of their minima (`minimum`), into
    `result` at the pair's position. With `mark`, the scattered row counts 1 in each of its
    columns: the sum of the read row over the columns the scattered row holds.

    The scattered row goes into `dense` (all zeros, one entry per column, left all zeros again),
    so each pair costs one pass over its read row's entries, in their column order: the sum is
    taken in one fixed order, whichever thread runs it."""
    for run in range(len(starts)):
        lo = starts[run]
        hi = ends[run]
        a = lefts[lo]
        for k in range(scatter_indptr[a], scatter_indptr[a + 1]):
            dense[scatter_indices[k]] = 1.0 if mark else scatter_data[k]
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
        for k in range(scatter_indptr[a], scatter_indptr[a + 1]):
            dense[scatter_indices[k]] = 0.0


@njit(cache=True, nogil=True)
def count_levels(
    codes: IndexArray,
    n_items: int,
    level: IndexArray,
    n_levels: int,
    row_of: IndexArray,
    histogram: IndexArray,
) -> None:  # pragma: no cover - compiled; tested through dedup.grouping.top_candidates
    """For each pair (code `i * n_items + j`) at `level[k]`: one more candidate at that level
    for each end that has a row (`row_of[item]` >= 0), in `histogram[row * n_levels + level]`.
    In place, because numpy's bincount made an int64 table of every (item, level) per slice, at
    the grouping's peak; rows only for the items that choose, because a table row per item of
    the corpus in every owner's task was the dask workers' peak."""
    for k in range(len(codes)):
        first = codes[k] // n_items
        second = codes[k] - first * n_items
        row = row_of[first]
        if row >= 0:
            histogram[row * n_levels + level[k]] += 1
        row = row_of[second]
        if row >= 0:
            histogram[row * n_levels + level[k]] += 1


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
    The copy checks intersect shingle sets for every plausible pair, where one
    `np.intersect1d` each is mostly its own overhead."""
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


@njit(cache=True)
def greedy_average_linkage(
    n_items: int,
    firsts: IndexArray,
    seconds: IndexArray,
    weights: F64Array,
    threshold: float,
    days: IndexArray,
    max_span: int,
) -> IndexArray:  # pragma: no cover - compiled; tested against a Python definition
    """Per item, its cluster's root: merge the two clusters of highest average similarity
    (summed edge weights over the product of their sizes) while that average is at least
    `threshold`; a merge puts the larger-id cluster into the smaller-id one's. An edge of weight
    -inf is a cannot-link: every sum that includes it stays -inf, so its two items never share
    a cluster. Other edges of weight 0 or less and self-loops count as absent; repeated edges
    add up.

    The heap holds (-average, low id, high id, their versions): its order is the tuple order,
    so ties break on the smaller ids and the merges do not depend on the order edges arrive
    in or dictionaries iterate in. Each merge adds b's sum to a's for each neighbour once,
    so every sum takes the same additions in the same order as the Python loop this replaces
    (tests/test_grouping.py keeps it as the definition): the labels are identical.

    `days`: each item's day ordinal (-1: undated). With `max_span` > 0, a merge whose cluster
    would hold dated items more than `max_span` days apart is refused (its entry dropped; the
    pair can come back after either side changes), so no chain of short links spans months."""
    size = np.ones(n_items, dtype=np.int64)
    first_day = np.full(n_items, np.iinfo(np.int64).max, dtype=np.int64)
    last_day = np.full(n_items, -1, dtype=np.int64)
    for i in range(n_items):
        if days[i] >= 0:
            first_day[i] = days[i]
            last_day[i] = days[i]
    alive = np.ones(n_items, dtype=np.bool_)
    version = np.zeros(n_items, dtype=np.int64)
    sums = List()
    for _ in range(n_items):
        sums.append(Dict.empty(types.int64, types.float64))
    for e in range(len(weights)):
        a = firsts[e]
        b = seconds[e]
        sim = weights[e]
        if a != b and (sim > 0 or sim == -np.inf):
            row_a = sums[a]
            row_b = sums[b]
            row_a[b] = row_a.get(b, 0.0) + sim
            row_b[a] = row_b.get(a, 0.0) + sim
    zero = np.int64(0)
    heap = [(0.0, zero, zero, zero, zero)]  # typed by its first entry, which goes at once
    heap.pop()
    for a in range(n_items):
        for b, total in sums[a].items():
            if a < b and total >= threshold:
                heap.append((-total, np.int64(a), b, zero, zero))
    heapq.heapify(heap)
    parent = np.arange(n_items)
    while len(heap):
        negative, a, b, version_a, version_b = heapq.heappop(heap)
        if not alive[a] or not alive[b] or version[a] != version_a or version[b] != version_b:
            continue  # stale: one side has merged since this entry was pushed
        if -negative < threshold:
            break
        dated = last_day[a] >= 0 and last_day[b] >= 0
        span = max(last_day[a], last_day[b]) - min(first_day[a], first_day[b])
        if max_span > 0 and dated and span > max_span:
            continue  # refused: the merged cluster would span too many days
        first_day[a] = min(first_day[a], first_day[b])
        last_day[a] = max(last_day[a], last_day[b])
        parent[b] = a  # b into a
        size[a] += size[b]
        alive[b] = False
        merged = sums[a]
        if b in merged:
            merged.pop(b)
        gone = sums[b]
        for k, total in gone.items():
            if k == a:
                continue
            merged[k] = merged.get(k, 0.0) + total
            other = sums[k]
            to_b = other.pop(b) if b in other else 0.0
            other[a] = other.get(a, 0.0) + to_b
        gone.clear()
        version[a] += 1
        for k, total in merged.items():
            average = total / (size[a] * size[k])
            if average >= threshold:
                if a < k:
                    heapq.heappush(heap, (-average, a, k, version[a], version[k]))
                else:
                    heapq.heappush(heap, (-average, k, a, version[k], version[a]))
    labels = np.empty(n_items, dtype=np.int64)
    for i in range(n_items):
        root = i
        while parent[root] != root:
            root = parent[root]
        labels[i] = root
    return labels


@njit(cache=True, nogil=True)
def rank_edges_by_item(
    by_score: IndexArray,
    scores: F64Array,
    firsts: IndexArray,
    seconds: IndexArray,
    items: IndexArray,
    edges: IndexArray,
    ranks: IndexArray,
) -> None:  # pragma: no cover - compiled; tested through dedup.event_space.edge_ranks
    """Every edge seen from each of its two ends, grouped by end (`items`, ascending), each
    end's edges strongest first (`edges`, with their `ranks` 0, 1, 2, ...).

    `by_score` orders the edges by descending score, equal scores by index (a stable sort).
    Entries are dealt out to their ends in the order (score descending, then first ends of a
    run of equal scores before second ends, then edge index), which is the order of the two
    stable sorts over both columns this replaces, so ties come out as they did. One counting
    pass replaces a second sort of twice as many entries."""
    n = len(by_score)
    n_items = 0
    if n > 0:
        n_items = max(firsts.max(), seconds.max()) + 1
    start = np.zeros(n_items + 1, dtype=np.int64)
    for e in range(n):
        start[firsts[e] + 1] += 1
        start[seconds[e] + 1] += 1
    for i in range(n_items):
        start[i + 1] += start[i]
    fill = start[:-1].copy()
    p = 0
    while p < n:
        q = p + 1
        while q < n and scores[by_score[q]] == scores[by_score[p]]:
            q += 1
        for column in range(2):
            for r in range(p, q):
                e = by_score[r]
                item = firsts[e] if column == 0 else seconds[e]
                at = fill[item]
                fill[item] += 1
                items[at] = item
                edges[at] = e
                ranks[at] = at - start[item]
        p = q


_SEVEN = np.uint64(0x7F7F7F7F7F7F7F7F)
_ODD_BITS = np.uint64(0x5555555555555555)
_BIT_PAIRS = np.uint64(0x3333333333333333)
_NIBBLES = np.uint64(0x0F0F0F0F0F0F0F0F)
_BYTE_ONES = np.uint64(0x0101010101010101)


@njit(cache=True, nogil=True)
def count_agreeing_bytes(
    codes: IndexArray,
    n_items: int,
    sketch: npt.NDArray[np.uint64],
    out: npt.NDArray[np.uint16],
    first: int,
    last: int,
) -> None:  # pragma: no cover - compiled; tested through dedup.lsh.sketch_agreement
    """For pairs first..last-1 (codes `i * n_items + j`): in how many bytes rows i and j of
    `sketch` agree. A byte of their XOR is zero when its high bit survives
    ``~(((x & 0x7F..) + 0x7F..) | x | 0x7F..)``; the survivors are counted by a SWAR popcount.
    One loop over each pair's words, no gathered copies of the rows (numpy's chunked version,
    which gathered them, was much slower)."""
    width = sketch.shape[1]
    one, two, four, top = np.uint64(1), np.uint64(2), np.uint64(4), np.uint64(56)
    for k in range(first, last):
        a = codes[k] // n_items
        b = codes[k] - a * n_items
        total = 0
        for w in range(width):
            x = sketch[a, w] ^ sketch[b, w]
            z = ~(((x & _SEVEN) + _SEVEN) | x | _SEVEN)
            z = z - ((z >> one) & _ODD_BITS)
            z = (z & _BIT_PAIRS) + ((z >> two) & _BIT_PAIRS)
            z = (z + (z >> four)) & _NIBBLES
            total += (z * _BYTE_ONES) >> top
        out[k] = total


@njit(cache=True, nogil=True)
def top_k_per_row(
    indptr: IndexArray, indices: IndexArray, data: F64Array, k: int
) -> tuple[IndexArray, IndexArray]:  # pragma: no cover - compiled; tested through EventSpace.top_terms
    """Per CSR row, the columns of its `k` largest values, ties to the smaller column: the
    order `np.lexsort((columns, -values))[:k]` gives. Returns (row starts, columns)."""
    n_rows = len(indptr) - 1
    starts = np.zeros(n_rows + 1, dtype=np.int64)
    for r in range(n_rows):
        starts[r + 1] = starts[r] + min(k, indptr[r + 1] - indptr[r])
    out = np.empty(starts[n_rows], dtype=np.int64)
    for r in range(n_rows):
        lo, hi = indptr[r], indptr[r + 1]
        if hi == lo:
            continue
        columns = indices[lo:hi]
        by_column = np.argsort(columns, kind="mergesort")
        by_value = by_column[np.argsort(-data[lo:hi][by_column], kind="mergesort")]
        taken = starts[r + 1] - starts[r]
        for j in range(taken):
            out[starts[r] + j] = columns[by_value[j]]
    return starts, out


@njit(cache=True, nogil=True)
def copy_rows(
    indptr: IndexArray,
    indices: IndexArray,
    data: F64Array,
    rows: IndexArray,
    places: IndexArray,
    out_indptr: IndexArray,
    out_indices: IndexArray,
    out_data: F64Array,
) -> None:
    """Row rows[k] of a CSR matrix (indptr, indices, data) copied to row places[k] of another,
    whose row starts `out_indptr` already holds: a gather with no index array per entry."""
    for k in range(len(rows)):
        lo = indptr[rows[k]]
        size = indptr[rows[k] + 1] - lo
        at = out_indptr[places[k]]
        for j in range(size):
            out_indices[at + j] = indices[lo + j]
            out_data[at + j] = data[lo + j]
