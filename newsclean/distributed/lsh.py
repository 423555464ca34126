"""LSH candidate pairs on a cluster: a shuffle on (band, key), then a union partitioned by pair.

The same candidates as `newsclean.dedup.lsh.candidate_codes` (tests/distributed compares them):
1. map, per range of rows: each row's key in every band (`_band_keys`, the library's), sent to
   the reducer its (band, key) hashes to, with the row's rank (the neighbourhood order);
2. reduce, per (band, key) partition: each bucket's members in rank order, paired by the
   library's windowed rule (`_pairs_windowed`: every pair of a bucket of at most `bucket_cap`,
   else each member with its next `bucket_cap // 2`), as codes `i * n + j`, each sent to the
   partition of its first row;
3. union, per range of first rows: the sorted distinct codes.
The result is a list of sorted code arrays over increasing code ranges: no process holds every
candidate pair, and their concatenation is the local engine's array.
"""

from __future__ import annotations

from operator import getitem

import numpy as np
import numpy.typing as npt
from distributed import Client, Future

from newsclean.dedup.lsh import _band_keys, _pairs_windowed, bands_for, merge_codes
from newsclean.distributed.partitions import bounds

I64Array = npt.NDArray[np.int64]
_MIX = np.uint64(0x9E3779B97F4A7C15)
# One shuffled record per (row, band): band, key, rank, row.
_Records = tuple[npt.NDArray[np.int64], npt.NDArray[np.uint64], I64Array, I64Array]


def candidate_codes(
    client: Client,
    signatures: np.ndarray,
    threshold: float,
    *,
    order: npt.ArrayLike | None = None,
    bucket_cap: int = 0,
    skip: npt.ArrayLike | None = None,
    partitions: int = 2,
) -> list[I64Array]:
    """`dedup.lsh.candidate_codes(signatures, threshold, order=, bucket_cap=, skip=)` computed
    in `partitions` partitions on `client`'s workers, as sorted code arrays over increasing
    ranges (their concatenation is the local array)."""
    united = candidate_code_futures(
        client, signatures, threshold, order=order, bucket_cap=bucket_cap, skip=skip, partitions=partitions
    )
    results: list[I64Array] = client.gather(united)
    return results


def candidate_code_futures(
    client: Client,
    signatures: np.ndarray,
    threshold: float,
    *,
    order: npt.ArrayLike | None = None,
    bucket_cap: int = 0,
    skip: npt.ArrayLike | None = None,
    partitions: int = 2,
) -> list[Future]:
    """`candidate_codes` left on the workers: one future per partition, partition k holding
    the codes whose first row is in the k-th of `bounds(n, partitions)` (grouping's blocks)."""
    n_docs, num_perm = signatures.shape
    parts = max(1, partitions)
    if n_docs < 2:
        return [client.submit(_no_codes, pure=False) for _ in range(parts)]
    b, r = bands_for(threshold, num_perm)
    rank = np.arange(n_docs, dtype=np.int64) if order is None else np.asarray(order, dtype=np.int64)
    active = np.ones(n_docs, dtype=bool) if skip is None else ~np.asarray(skip, dtype=bool)
    mapped = [
        client.submit(_band_records, signatures[lo:hi], rank[lo:hi], active[lo:hi], lo, b, r, parts)
        for lo, hi in bounds(n_docs, parts)
    ]
    reduced = [
        client.submit(
            _bucket_codes, [client.submit(getitem, m, j) for m in mapped], n_docs, bucket_cap, parts
        )
        for j in range(parts)
    ]
    return [client.submit(_union, [client.submit(getitem, red, k) for red in reduced]) for k in range(parts)]


def _no_codes() -> I64Array:
    """No candidates (a task, not scattered data: recomputable, so never a lost dependency)."""
    return np.empty(0, dtype=np.int64)


def _band_records(
    signatures: np.ndarray,
    rank: I64Array,
    active: npt.NDArray[np.bool_],
    offset: int,
    b: int,
    r: int,
    parts: int,
) -> list[_Records]:
    """Map: for each reducer, the (band, key, rank, row) records of these rows that hash to it."""
    rows = np.flatnonzero(active)
    sig, rank_of = signatures[rows], rank[rows]
    bands, keys, ranks, ids = [], [], [], []
    for band in range(b):
        bands.append(np.full(len(rows), band, dtype=np.int64))
        keys.append(_band_keys(sig, band * r, r))
        ranks.append(rank_of)
        ids.append(rows + offset)
    band_a = np.concatenate(bands) if bands else np.empty(0, dtype=np.int64)
    key_a = np.concatenate(keys) if keys else np.empty(0, dtype=np.uint64)
    rank_a = np.concatenate(ranks) if ranks else np.empty(0, dtype=np.int64)
    row_a = np.concatenate(ids) if ids else np.empty(0, dtype=np.int64)
    target = ((key_a ^ (band_a.astype(np.uint64) * _MIX)) % np.uint64(parts)).astype(np.int64)
    out: list[_Records] = []
    for j in range(parts):
        mask = target == j
        out.append((band_a[mask], key_a[mask], rank_a[mask], row_a[mask]))
    return out


def _bucket_codes(pieces: list[_Records], n_docs: int, bucket_cap: int, parts: int) -> list[I64Array]:
    """Reduce: the distinct candidate codes of the buckets whose records these are, split by
    the range of their first row. A band at a time, as the local `candidate_codes` (a pair
    shares at most one bucket per band: no repeats inside a band), the bands' sorted codes
    merged as they come (`merge_codes`, each merge once the waiting bands hold as many codes as
    the merged ones): all bands' pairs at once, with a pair repeated in every band it shares,
    were the largest task of grouping at 100k."""
    band = np.concatenate([p[0] for p in pieces])
    key = np.concatenate([p[1] for p in pieces])
    rank = np.concatenate([p[2] for p in pieces])
    row = np.concatenate([p[3] for p in pieces])
    pieces.clear()  # the task's own list: the records go as soon as they are joined
    # Bucket, then the neighbourhood order inside it, as the local sort (rank, then row).
    by_bucket = np.lexsort((row, rank, key, band))
    band, key, row = band[by_bucket], key[by_bucket], row[by_bucket]
    del rank, by_bucket
    runs: list[I64Array] = []  # the codes merged so far (first, once merged), then the bands waiting
    merged = held = 0
    edges = np.flatnonzero(band[1:] != band[:-1]) + 1
    for lo, hi in zip(np.concatenate(([0], edges)), np.concatenate((edges, [len(band)])), strict=True):
        codes = _band_codes(key[lo:hi], row[lo:hi], n_docs, bucket_cap)
        if len(codes):
            runs.append(codes)
            held += len(codes)
        del codes
        if held and held >= merged:
            runs = [merge_codes(runs)]  # empties the list it is given: each run freed when copied
            merged, held = len(runs[0]), 0
    del band, key, row
    codes = merge_codes(runs)
    # Sorted codes: each range of first rows is a slice.
    cuts = np.searchsorted(codes, [hi * n_docs for _, hi in bounds(n_docs, parts)])
    return [codes[a:b] for a, b in zip(np.concatenate(([0], cuts[:-1])), cuts, strict=True)]


def _band_codes(key: npt.NDArray[np.uint64], row: I64Array, n_docs: int, bucket_cap: int) -> I64Array:
    """One band's candidate codes, sorted, from its records in bucket order (the pairing of
    `dedup.lsh.candidate_codes`'s `band_codes`)."""
    if len(row) < 2:
        return np.empty(0, dtype=np.int64)
    new = np.flatnonzero(key[1:] != key[:-1]) + 1
    starts = np.concatenate(([0], new)).astype(np.int64)
    lengths = np.diff(np.concatenate((starts, [len(row)]))).astype(np.int64)
    shared = lengths > 1
    starts, lengths = starts[shared], lengths[shared]
    if not len(starts):
        return np.empty(0, dtype=np.int64)
    keep = np.repeat(starts, lengths) + (
        np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    )
    members = row[keep]
    new_starts = np.cumsum(lengths) - lengths
    # The window of `dedup.lsh.candidate_codes`: a whole bucket up to the cap, else half the cap.
    small = lengths <= max(bucket_cap, 0) if bucket_cap > 0 else np.ones(len(lengths), dtype=bool)
    window = np.where(small, lengths - 1, max(bucket_cap // 2, 1))
    pairs = _pairs_windowed(members, new_starts, lengths, window)
    codes: I64Array = np.minimum(pairs[:, 0], pairs[:, 1]) * n_docs + np.maximum(pairs[:, 0], pairs[:, 1])
    codes.sort()
    return codes


def _union(pieces: list[I64Array]) -> I64Array:
    """Union: the sorted distinct codes of one range of first rows."""
    # Each piece is sorted and distinct (a reducer's): their union is a merge of sorted runs.
    return merge_codes([np.asarray(p, dtype=np.int64) for p in pieces])
