"""Candidate pairs from MinHash signatures by LSH banding, for a whole corpus at once.

datasketch's `MinHashLSH` inserts and queries one signature at a time in Python, which takes
minutes on a large corpus. Here the same bands (the same (b, r) that
`MinHashLSH` chooses for a threshold, over the same signature columns) are hashed for every
document in one numpy pass, and each band's buckets come from one sort. Without a bucket cap the
pairs are exactly those `MinHashLSH.query` returns (tested against it).

A bucket holding a term common to thousands of stories would make every pair of them a
candidate: the cost grows with the square of the corpus and nearly all those pairs are unrelated.
Buckets larger than `bucket_cap` are therefore searched by *sorted neighbourhood* (the classic
record-linkage blocking): members are ordered by a caller's key (the publication day, for news),
and each is paired with its next `bucket_cap // 2` neighbours in that order. Coverage of one
event falls within days, so its members sit close together in that order; the pairs per
document stay bounded (at most bands x cap / 2), so no bucket can make the cost quadratic.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TypeVar, cast

import numpy as np
import numpy.typing as npt

from newsclean.dedup.kernels import count_agreeing_bytes
from newsclean.dedup.parallel import map_ranges

I64Array = npt.NDArray[np.int64]
ArrayT = TypeVar("ArrayT", bound=np.ndarray)

_MIX = np.uint64(0x9E3779B97F4A7C15)


@lru_cache(maxsize=64)
def bands_for(threshold: float, num_perm: int) -> tuple[int, int]:
    """(bands, rows per band) as `MinHashLSH(threshold, num_perm)` picks them (equal weights):
    of every (b, r) with b x r <= num_perm, the first (b, then r, ascending) with the least
    false-positive mass (the integral of 1 - (1 - s**r)**b from 0 to the threshold) plus
    false-negative mass (the integral of (1 - s**r)**b from the threshold to 1), as datasketch's
    `_optimal_param`. tests/dedup/test_scoring.py checks the choice is datasketch's.

    Why not ask datasketch: its `datasketch.lsh` imports scipy's integration routines, 0.7 s of
    every run that groups. The integrands are polynomials of degree b x r <= num_perm, which
    Gauss-Legendre quadrature with num_perm // 2 + 1 nodes integrates exactly (up to rounding),
    where datasketch's adaptive quadrature is accurate to about 1e-8."""
    nodes, weights = np.polynomial.legendre.leggauss(num_perm // 2 + 1)
    pairs = np.asarray([(b, r) for b in range(1, num_perm + 1) for r in range(1, num_perm // b + 1)])
    b, r = pairs[:, 0:1].astype(np.float64), pairs[:, 1:2].astype(np.float64)

    def integral(low: float, high: float, missed: bool) -> npt.NDArray[np.float64]:
        at = (high - low) / 2 * nodes + (high + low) / 2  # the nodes moved onto [low, high]
        none = (1.0 - at[None, :] ** r) ** b  # probability that no band of a pair collides
        values = none if missed else 1.0 - none
        return (high - low) / 2 * (values @ weights)

    error = integral(0.0, threshold, False) * 0.5 + integral(threshold, 1.0, True) * 0.5
    best = int(np.argmin(error))  # the first of equal minima, as datasketch's loop keeps it
    return int(pairs[best, 0]), int(pairs[best, 1])


def _band_keys(signatures: np.ndarray, start: int, rows: int) -> npt.NDArray[np.uint64]:
    """One 64-bit key per document for the band of `rows` columns starting at `start`."""
    band = signatures[:, start : start + rows].astype(np.uint64)
    key = band[:, 0].copy()
    for j in range(1, rows):  # polynomial combine; a rare collision only adds a candidate
        key = key * _MIX + band[:, j] + np.uint64(j)
    return key


def candidate_pairs(
    signatures: np.ndarray,
    threshold: float,
    *,
    order: npt.ArrayLike | None = None,
    bucket_cap: int = 0,
    skip: npt.ArrayLike | None = None,
) -> I64Array:
    """Unique candidate pairs (i < j, sorted) of signature rows that share an LSH band.

    `order` ranks rows inside an oversized bucket (default: row order); `bucket_cap` 0 means no
    cap. Rows flagged in `skip` (e.g. empty sets, whose signatures would all collide) take no
    part."""
    codes = candidate_codes(signatures, threshold, order=order, bucket_cap=bucket_cap, skip=skip)
    return pairs_of_codes(codes, len(signatures))


def candidate_codes(
    signatures: np.ndarray,
    threshold: float,
    *,
    order: npt.ArrayLike | None = None,
    bucket_cap: int = 0,
    skip: npt.ArrayLike | None = None,
    threads: int = 1,
) -> I64Array:
    """`candidate_pairs` as sorted codes `i * n + j`: several indexes' candidates then unite by
    one linear merge (`merge_codes`) instead of a sort of millions of rows."""
    n_docs, num_perm = signatures.shape
    if n_docs < 2:
        return np.empty(0, dtype=np.int64)
    b, r = bands_for(threshold, num_perm)
    rank = np.arange(n_docs) if order is None else np.asarray(order)
    active = np.ones(n_docs, dtype=bool) if skip is None else ~np.asarray(skip, dtype=bool)
    rows = np.flatnonzero(active)
    active_signatures, active_rank = signatures[rows], rank[rows]

    def band_codes(band: int) -> npt.NDArray[np.int64] | None:
        keys = _band_keys(active_signatures, band * r, r)
        by_key = np.lexsort((active_rank, keys))  # bucket, then neighbourhood order inside it
        sorted_keys = keys[by_key]
        boundaries = np.flatnonzero(sorted_keys[1:] != sorted_keys[:-1]) + 1
        starts = np.concatenate(([0], boundaries)).astype(np.int64)
        lengths = np.diff(np.concatenate((starts, [len(sorted_keys)]))).astype(np.int64)
        shared = lengths > 1
        if not shared.any():
            return None
        starts, lengths = starts[shared], lengths[shared]
        # Only the members of shared buckets go on: most buckets hold one document.
        keep = np.repeat(starts, lengths) + (
            np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        )
        members = rows[by_key[keep]].astype(np.int64)
        new_starts = np.cumsum(lengths) - lengths
        small = lengths <= max(bucket_cap, 0) if bucket_cap > 0 else np.ones(len(lengths), dtype=bool)
        window = np.where(small, lengths - 1, max(bucket_cap // 2, 1))
        pairs = _pairs_windowed(members, new_starts, lengths, window)
        lo = np.minimum(pairs[:, 0], pairs[:, 1])
        hi = np.maximum(pairs[:, 0], pairs[:, 1])
        codes = lo * n_docs + hi  # a pair shares at most one bucket per band: no repeats
        codes.sort()
        return codes

    # Bands are independent: `threads` sort them side by side (`newsclean.dedup.parallel`), and the
    # sorted bands are then merged (a stable sort of sorted runs), instead of one slow sort of
    # every band's codes together on one core.
    found = map_ranges(lambda band, _: band_codes(band), list(range(b + 1)), threads)
    codes = [c for c in found if c is not None]
    del found
    return merge_codes(codes)


def merge_codes(parts: list[I64Array]) -> I64Array:
    """The sorted union of sorted, distinct code arrays. A stable sort (timsort) of sorted runs
    only merges them, in linear time. `parts` is emptied as they are joined (`join_consuming`),
    so a caller that holds them nowhere else frees them before the merge's own copies (the parts
    beside the merged array were the grouping's peak)."""
    if not parts:
        return np.empty(0, dtype=np.int64)
    merged = join_consuming(parts)
    merged.sort(kind="stable")
    return _drop_repeats_in_place(merged)


def join_consuming(arrays: list[I64Array]) -> I64Array:
    """`np.concatenate(arrays)` that empties `arrays` as it copies, last first, so each part
    goes as soon as it is copied: beside a plain concatenation every part lives until the end,
    at the grouping's peak. A caller must hold the parts nowhere else for them to be freed."""
    total = sum(len(a) for a in arrays)
    joined = np.empty(total, dtype=arrays[0].dtype if arrays else np.int64)
    end = total
    while arrays:
        part = arrays.pop()
        joined[end - len(part) : end] = part
        end -= len(part)
        del part
    return joined


def pairs_of_codes(codes: I64Array, n_items: int) -> I64Array:
    """Pairs encoded as `a * n_items + b`, decoded into rows (a, b)."""
    out = np.empty((len(codes), 2), dtype=np.int64)
    np.floor_divide(codes, n_items, out=out[:, 0])
    np.subtract(codes, out[:, 0] * n_items, out=out[:, 1])
    return out


def sorted_unique(values: ArrayT) -> ArrayT:
    """The distinct values, sorted: `np.unique` by one sort, because numpy 2.4's plain
    `np.unique` hashes instead and is far slower on millions of codes (docs/tuning.md)."""
    return _drop_repeats(cast(ArrayT, np.sort(values)))


def _drop_repeats(ordered: ArrayT) -> ArrayT:
    """A sorted array without its repeated values."""
    if len(ordered) == 0:
        return ordered
    return cast(ArrayT, ordered[np.concatenate(([True], ordered[1:] != ordered[:-1]))])


_STEP = 1 << 20


def _drop_repeats_in_place(ordered: I64Array) -> I64Array:
    """`_drop_repeats` that compacts `ordered` itself, a step at a time, and gives its tail
    back: a masked copy beside the event codes would add to the grouping's peak. The write
    position never passes the read position, and the value before each step is either untouched
    or rewritten with itself, so each step compares originals."""
    n = len(ordered)
    if n == 0 or not ordered.flags.owndata:
        return _drop_repeats(ordered)
    write = 1
    for start in range(1, n, _STEP):
        stop = min(start + _STEP, n)
        kept = ordered[start:stop][ordered[start:stop] != ordered[start - 1 : stop - 1]]
        ordered[write : write + len(kept)] = kept
        write += len(kept)
    ordered.resize(write, refcheck=False)  # realloc: the freed tail goes back
    return ordered


def unique_pairs(pairs: npt.NDArray[np.int64], n_items: int) -> I64Array:
    """`np.unique(pairs, axis=0)` for pairs of ids below `n_items`, in the same (sorted) order:
    each pair is encoded as one int64, which sorts several times faster than rows do."""
    if len(pairs) == 0:
        return np.empty((0, 2), dtype=np.int64)
    codes = sorted_unique(pairs[:, 0].astype(np.int64) * n_items + pairs[:, 1].astype(np.int64))
    return pairs_of_codes(codes, n_items)


def _pairs_windowed(
    members: I64Array, run_starts: I64Array, run_lengths: I64Array, window: I64Array
) -> I64Array:
    """Pairs within runs of `members`: each member with the next `window[run]` of its run
    (a whole small bucket is `window = length - 1`: every pair)."""
    n = len(members)
    run_of = np.repeat(np.arange(len(run_starts)), run_lengths)
    position = np.arange(n) - run_starts[run_of]
    remaining = run_lengths[run_of] - 1 - position
    count = np.minimum(remaining, window[run_of])
    total = int(count.sum())
    if total == 0:
        return np.empty((0, 2), dtype=np.int64)
    left = np.repeat(np.arange(n), count)
    offsets = np.arange(total) - np.repeat(np.cumsum(count) - count, count) + 1
    return np.stack((members[left], members[left + offsets]), axis=1)


def byte_sketch(signatures: np.ndarray) -> npt.NDArray[np.uint64]:
    """The lowest byte of every MinHash value, packed 8 to a 64-bit word (b-bit MinHash with
    b = 8, Li and Koenig 2010): comparing millions of candidate pairs then reads a quarter of
    the signature's bytes, whole words at a time. Two rows' bytes agree when their values agree
    (probability J) or by chance (1/256 of the rest), so the agreement count is a Jaccard
    estimate off by about one column in 256. (With 2 bits the chance agreements, a quarter of
    all columns, drowned the low similarities a ranking of event candidates has to tell apart;
    see docs/tuning.md, event_candidates_per_story.)"""
    n, width = signatures.shape
    padded = np.zeros((n, (width + 7) // 8 * 8), dtype=np.uint8)
    padded[:, :width] = (signatures & 0xFF).astype(np.uint8)  # padding agrees in every pair alike
    return np.ascontiguousarray(padded).view(np.uint64)


def sketch_agreement(
    codes: I64Array, n_items: int, sketch: npt.NDArray[np.uint64], threads: int = 1
) -> npt.NDArray[np.uint16]:
    """Per pair (codes `i * n_items + j`, as `candidate_codes` gives them), in how many columns
    the two rows' bytes agree (see `byte_sketch`; `newsclean.dedup.kernels.count_agreeing_bytes`). A count
    is at most the sketch's width in bytes: 16 bits hold it, at a quarter of int64's memory for
    tens of millions of pairs. `threads` share the pairs (`newsclean.dedup.parallel`); each count is one
    pair's own, so the split changes nothing."""
    out = np.zeros(len(codes), dtype=np.uint16)
    table = np.ascontiguousarray(sketch)

    def count(first: int, last: int) -> None:
        count_agreeing_bytes(codes, n_items, table, out, first, last)

    parts = max(1, min(4 * threads, len(codes)))
    map_ranges(count, [len(codes) * k // parts for k in range(parts + 1)], threads)
    return out
