"""Grouping's pair steps on a cluster (`DaskGraphSteps`): the same steps as the local engine's
(`newsclean.dedup.grouping.GraphSteps`), over partitions of the pairs, so that no process holds
every candidate pair.

Pairs live in blocks by the range of their first item (codes `i * n + j`, sorted inside a block,
so the blocks in order are the local engine's sorted array). Two kinds of step:
- per pair (scores, date factors, copy plausibility, cannot-links): each block alone;
- per item over all of its pairs (each story's best event candidates, crowd levels, each
  story's strongest edges): a shuffle sends every pair to the partition of each of its two
  ends; a partition decides for the items it owns (`owned`), whose pairs it then holds in their
  global order, so ties break as over the whole; the pairs chosen go back to their blocks.
Data every task of a step reads (signatures, the event space, per-item arrays) is scattered to
every worker once, under a fresh key (`hash=False`): with content-hashed keys a second grouping
on one client, scattering the same arrays again, stalled here. Everything a step decides is the
dedup library's own functions (`dedup.grouping`'s block steps,
`dedup.event_space.neighbourhood_levels`): the partitioning is this module's, the rules are the
library's. What reaches the run's process: the pairs plausible as copies (checked there on the
shingle sets, which stay with the graph), per-item arrays (levels), counts, and the kept edges.
"""

from __future__ import annotations

from operator import getitem
from typing import Any

import numpy as np
import numpy.typing as npt
from distributed import Client, Future

from newsclean.dedup.event_space import EventSpace, neighbourhood_levels
from newsclean.dedup.grouping import (
    CandidateInputs,
    Candidates,
    GraphSteps,
    dated,
    event_sketch,
    plausible_to_check,
    scaled_by_levels,
    score_pairs,
    strongest_edges,
    top_candidates,
    topical_signatures,
    unit_codes,
    with_cannot_links,
)
from newsclean.dedup.linkage import Edges
from newsclean.dedup.lsh import merge_codes, pairs_of_codes, sketch_agreement
from newsclean.dedup.minhash import EMPTY_HASH
from newsclean.distributed import components, lsh
from newsclean.distributed.partitions import bounds
from newsclean.settings import DedupSettings

I64Array = npt.NDArray[np.int64]
F64Array = npt.NDArray[np.float64]


class DaskGraphSteps(GraphSteps):
    """`GraphSteps` on `client`'s workers, the pairs in `partitions` blocks."""

    def __init__(self, client: Client, partitions: int = 2, min_items: int = 0) -> None:
        self.client = client
        self.partitions = max(1, partitions)
        # Fewer blocks for a small corpus: at least `min_items` items (stories) a block, since
        # every block costs a few tasks of each step (0: always `partitions`).
        self.min_items = min_items
        # The most candidate pairs one task held: a block (LSH candidates before and after each
        # story's choice, unit pairs) or an owner's share (a figure for bench/perf_dask.py).
        self.largest_block = 0
        self._held: list[Future] = []
        self._parts = self.partitions

    def _blocks(self, n_items: int) -> int:
        """How many blocks `n_items` items go in (set for the step as `_parts`)."""
        if self.min_items > 0:
            self._parts = max(1, min(self.partitions, n_items // self.min_items))
        else:
            self._parts = self.partitions
        return self._parts

    def _note(self, sizes: list[int]) -> None:
        self.largest_block = max([self.largest_block, *sizes, *self.client.gather(self._held)])
        self._held = []

    def _shares(self, ends: list[Future]) -> list[list[Future]]:
        """Each owner's pieces of a shuffle to both ends (`_to_ends`); their sizes to note."""
        shares = [[self.client.submit(getitem, x, j) for x in ends] for j in range(self._parts)]
        self._held.extend(self.client.submit(_held, share) for share in shares)
        return shares

    def candidates(self, inputs: CandidateInputs, s: DedupSettings) -> Candidates:
        client, parts = self.client, self._blocks(len(inputs.order))
        n_reps, order = len(inputs.order), inputs.order
        cap = s.lsh_bucket_cap

        def lsh_blocks(signatures: np.ndarray, threshold: float) -> list[Future]:
            skip = np.all(signatures == EMPTY_HASH, axis=1)
            return lsh.candidate_code_futures(
                client, signatures, threshold, order=order, bucket_cap=cap, skip=skip, partitions=parts
            )

        near = lsh_blocks(inputs.near_signatures, s.near_lsh_threshold)
        event = lsh_blocks(inputs.salient, s.event_lsh_threshold)
        topical = topical_signatures(inputs.space, s)
        if topical is not None:
            topic = lsh_blocks(topical, s.topic_lsh_threshold)
            event = [client.submit(_merged, e, t) for e, t in zip(event, topic, strict=True)]
            del topic
        # Futures are dropped as soon as what reads them is submitted (here and below): a
        # worker frees a result only when no future of the run's process refers to it, and the
        # step's earlier results (each index's blocks, the pairs before each story's choice,
        # their ends) held to the function's return sat beside the later ones on the workers.
        lsh_sizes = client.gather([client.submit(len, e) for e in event])
        n_lsh_event = sum(lsh_sizes)
        if s.event_candidates_per_story and n_lsh_event:
            [sketch, order_f] = client.scatter(
                [event_sketch(inputs.salient, topical), order], broadcast=True, hash=False
            )
            strength = [client.submit(sketch_agreement, e, n_reps, sketch) for e in event]
            # Owners in waves of one a worker, each wave's shares made when it starts and freed
            # before the next: all owners' shares at once (every pair once or twice, 10 bytes
            # each) beside each owner's gathered copy made the workers' peak at 100k (1.1-1.3 GB).
            chosen = []
            wave = max(1, len(client.scheduler_info(n_workers=-1).get("workers", {})))
            for first in range(0, parts, wave):
                owners = range(first, min(first + wave, parts))
                shares = [
                    [
                        client.submit(_end_share, e, st, n_reps, parts, j)
                        for e, st in zip(event, strength, strict=True)
                    ]
                    for j in owners
                ]
                self._held.extend(client.submit(_held, share) for share in shares)
                made = [
                    client.submit(_top_owned, share, n_reps, order_f, s.event_candidates_per_story, j, parts)
                    for j, share in zip(owners, shares, strict=True)
                ]
                del shares
                client.gather([client.submit(len, m) for m in made])  # the wave done (a number back)
                chosen += made
            del strength
            event = [
                client.submit(_union, [client.submit(getitem, c, k) for c in chosen]) for k in range(parts)
            ]
            del chosen
        [near_f, sizes_f] = client.scatter([inputs.near_signatures, inputs.sizes], broadcast=True, hash=False)
        checks = [
            client.submit(_to_check, nb, eb, n_reps, near_f, sizes_f, s)
            for nb, eb in zip(near, event, strict=True)
        ]
        del near
        results: list[tuple[I64Array, int, int]] = client.gather(checks)
        del checks
        self._note([*lsh_sizes, *(n_near + n_event for _, n_near, n_event in results)])
        to_check = np.concatenate([r[0] for r in results]) if results else np.empty((0, 2), np.int64)
        n_near = sum(r[1] for r in results)
        n_event = sum(r[2] for r in results)
        return Candidates(to_check.reshape(-1, 2), event, n_near, n_lsh_event, n_event, len(to_check))

    def unit_edges(
        self,
        found: Candidates,
        unit_of_rep: I64Array,
        rep_of_unit: I64Array,
        days: I64Array,
        space: EventSpace,
        s: DedupSettings,
    ) -> tuple[Edges, int]:
        client, parts = self.client, self._blocks(len(rep_of_unit))
        n_reps, n_units = len(unit_of_rep), len(rep_of_unit)
        rep_blocks: list[Future] = found.take_event_pairs()
        [unit_of_rep_f, rep_of_unit_f, days_f, space_f] = client.scatter(
            [unit_of_rep, rep_of_unit, days, space], broadcast=True, hash=False
        )
        mapped = [
            client.submit(_unit_codes_split, b, n_reps, unit_of_rep_f, n_units, parts) for b in rep_blocks
        ]
        blocks = [client.submit(_union, [client.submit(getitem, m, j) for m in mapped]) for j in range(parts)]
        del rep_blocks, mapped  # freed on the workers once read (see `candidates`)
        sizes = client.gather([client.submit(len, b) for b in blocks])
        self._note(sizes)
        total = sum(sizes)
        scored = [client.submit(_score_block, b, n_units, space_f, rep_of_unit_f) for b in blocks]
        levels_f: Future | None = None
        if s.event_crowd_neighbours and total:  # `crowd_scaled`: levels from every pair of an item
            ends = [
                client.submit(_to_ends, b, client.submit(getitem, sc, 0), n_units, parts)
                for b, sc in zip(blocks, scored, strict=True)
            ]
            owned_levels = [
                client.submit(_levels_owned, share, n_units, s.event_crowd_neighbours, j, parts)
                for j, share in enumerate(self._shares(ends))
            ]
            del ends
            levels = np.concatenate(client.gather(owned_levels))
            del owned_levels
            [levels_f] = client.scatter([levels], broadcast=True, hash=False)
        weights = [
            client.submit(_weigh_block, b, n_units, sc, levels_f, days_f, s)
            for b, sc in zip(blocks, scored, strict=True)
        ]
        per_item = s.event_edges_per_story
        kept: list[Any] = [None] * parts
        if per_item > 0 and total:  # `strongest_edges`: each item's strongest, by its owner
            ends = [
                client.submit(_to_ends, b, w, n_units, parts) for b, w in zip(blocks, weights, strict=True)
            ]
            chosen = [
                client.submit(_strong_owned, share, n_units, per_item, j, parts)
                for j, share in enumerate(self._shares(ends))
            ]
            del ends
            kept = [
                client.submit(_union, [client.submit(getitem, c, k) for c in chosen]) for k in range(parts)
            ]
            del chosen
        edge_blocks = [
            client.submit(_edges_block, b, n_units, w, client.submit(getitem, sc, 2), kb)
            for b, w, sc, kb in zip(blocks, weights, scored, kept, strict=True)
        ]
        del blocks, scored, weights, kept
        results: list[tuple[I64Array, F64Array, int]] = client.gather(edge_blocks)
        del edge_blocks
        self._note([])
        pairs = (
            np.concatenate([r[0] for r in results]).reshape(-1, 2) if results else np.empty((0, 2), np.int64)
        )
        values = np.concatenate([r[1] for r in results]) if results else np.empty(0, np.float64)
        return Edges(pairs.astype(np.int64, copy=False), values), sum(r[2] for r in results)

    def cluster(self, days: I64Array, edges: Edges, s: DedupSettings) -> list[int]:
        return components.cluster_labels(self.client, len(days), edges, days, s, self._blocks(len(days)))


# --- Tasks: each a block or an owner's share, calling the library's step -----------------------


def _owner_bounds(n_items: int, parts: int) -> I64Array:
    """Each partition's last item + 1 (a pair's block is its first item's partition)."""
    return np.array([hi for _, hi in bounds(n_items, parts)], dtype=np.int64)


def _split_by_first(codes: I64Array, n_items: int, parts: int) -> list[I64Array]:
    """Codes split into the blocks of their first items (each piece in the order given)."""
    target = np.searchsorted(_owner_bounds(n_items, parts), codes // n_items, side="right")
    return [codes[target == k] for k in range(parts)]


def _merged(*blocks: I64Array) -> I64Array:
    """`merge_codes` of one block of several indexes."""
    return merge_codes([np.asarray(b) for b in blocks])


def _union(pieces: list[I64Array]) -> I64Array:
    """The sorted distinct codes of pieces (`merge_codes`: a stable sort, which only merges
    pieces that are sorted runs, in place of a sort of a copy)."""
    return merge_codes([np.asarray(p, dtype=np.int64) for p in pieces])


def _held(share: list[tuple[I64Array, np.ndarray]]) -> int:
    """How many pairs an owner's share holds."""
    return sum(len(piece[0]) for piece in share)


def _to_ends(
    codes: I64Array, values: np.ndarray, n_items: int, parts: int
) -> list[tuple[I64Array, np.ndarray]]:
    """Map: each pair (with its value) to the partition of each of its ends (once when both
    ends are one partition's). `codes` are sorted, so the pairs whose first end a partition owns
    are one slice (`a < hi` is `a * n + b < hi * n`); only the second ends' partitions are
    computed per pair, a chunk at a time, as 4-byte numbers: both ends' items and partitions
    as int64 for every pair (32 bytes a pair) were grouping's largest step at 100k."""
    upper = _owner_bounds(n_items, parts)
    cuts = np.searchsorted(codes, upper * n_items)
    starts = np.concatenate(([0], cuts[:-1]))
    second = np.empty(len(codes), dtype=np.int32)
    for k in range(0, len(codes), _CHECK_CODES):
        second[k : k + _CHECK_CODES] = np.searchsorted(
            upper, codes[k : k + _CHECK_CODES] % n_items, side="right"
        )
    out = []
    for j in range(parts):
        mask = second == j
        mask[starts[j] : cuts[j]] = True
        out.append((codes[mask], values[mask]))
    return out


def _end_share(
    codes: I64Array, values: np.ndarray, n_items: int, parts: int, j: int
) -> tuple[I64Array, np.ndarray]:
    """`_to_ends(codes, values, n_items, parts)[j]`: partition j's piece alone."""
    upper = _owner_bounds(n_items, parts)
    cuts = np.searchsorted(codes, upper * n_items)
    start = int(cuts[j - 1]) if j else 0
    mask = np.zeros(len(codes), dtype=bool)
    lo = upper[j - 1] if j else 0
    for k in range(0, len(codes), _CHECK_CODES):
        second = codes[k : k + _CHECK_CODES] % n_items
        mask[k : k + len(second)] = (second >= lo) & (second < upper[j])
    mask[start : int(cuts[j])] = True
    return codes[mask], values[mask]


def _gathered(
    pieces: list[tuple[I64Array, np.ndarray]], n_items: int, j: int, parts: int
) -> tuple[I64Array, np.ndarray, npt.NDArray[np.bool_]]:
    """An owner's pairs (pieces from blocks in order: sorted codes), values, and owned mask."""
    codes = np.concatenate([p[0] for p in pieces])
    values = np.concatenate([p[1] for p in pieces])
    lo, hi = bounds(n_items, parts)[j]
    owned = np.zeros(n_items, dtype=bool)
    owned[lo:hi] = True
    return codes, values, owned


def _top_owned(
    pieces: list[tuple[I64Array, np.ndarray]],
    n_items: int,
    order: I64Array,
    per_item: int,
    j: int,
    parts: int,
) -> list[I64Array]:
    """`top_candidates` for partition j's items; the codes they keep, split by block."""
    codes, strength, owned = _gathered(pieces, n_items, j, parts)
    if len(codes) == 0:
        return [codes] * parts
    keep = top_candidates(codes, n_items, strength, order, per_item, owned)
    return _split_by_first(codes[keep], n_items, parts)


def _to_check(
    near_codes: I64Array,
    event_codes: I64Array,
    n_reps: int,
    near_signatures: np.ndarray,
    sizes: np.ndarray,
    s: DedupSettings,
) -> tuple[I64Array, int, int]:
    """A block's pairs plausible as copies, with its near and event candidate counts.

    `plausible_to_check(unique_pairs(near and event pairs))`, by ranges of codes: both arrays are
    sorted and distinct, so their union is a merge of codes (`merge_codes`), and the check judges
    each pair alone, so `_CHECK_CODES` codes at a time give the same pairs in the same order. The
    whole block's decoded pairs, their concatenation and its sort at once were 40 bytes a pair:
    the largest task of grouping at 100k (18.6M pairs)."""
    codes = merge_codes([np.asarray(near_codes, dtype=np.int64), np.asarray(event_codes, dtype=np.int64)])
    found = [
        plausible_to_check(pairs_of_codes(codes[k : k + _CHECK_CODES], n_reps), near_signatures, sizes, s)
        for k in range(0, len(codes), _CHECK_CODES)
    ]
    picked = np.concatenate(found) if found else np.empty((0, 2), dtype=np.int64)
    return picked, len(near_codes), len(event_codes)


_CHECK_CODES = 1 << 20  # codes decoded and checked at a time by `_to_check` (16 MB of pairs)


def _unit_codes_split(
    rep_codes: I64Array, n_reps: int, unit_of_rep: I64Array, n_units: int, parts: int
) -> list[I64Array]:
    """A block's representative pairs as unit pair codes, split by the unit block."""
    return _split_by_first(
        unit_codes(pairs_of_codes(rep_codes, n_reps), unit_of_rep, n_units), n_units, parts
    )


def _score_block(
    codes: I64Array, n_units: int, space: EventSpace, rep_of_unit: I64Array
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return score_pairs(space, rep_of_unit, pairs_of_codes(codes, n_units))


def _levels_owned(
    pieces: list[tuple[I64Array, np.ndarray]], n_units: int, k: int, j: int, parts: int
) -> F64Array:
    """`neighbourhood_levels` of partition j's items (exact: it holds all of their pairs)."""
    codes, scores, _ = _gathered(pieces, n_units, j, parts)
    lo, hi = bounds(n_units, parts)[j]
    levels: F64Array = neighbourhood_levels(n_units, pairs_of_codes(codes, n_units), scores, k)[lo:hi]
    return levels


def _weigh_block(
    codes: I64Array,
    n_units: int,
    scored: tuple[np.ndarray, np.ndarray, np.ndarray],
    levels: F64Array | None,
    days: I64Array,
    s: DedupSettings,
) -> np.ndarray:
    """A block's edge weights: `crowd_scaled` by the items' levels, then `dated`."""
    pairs = pairs_of_codes(codes, n_units)
    scores, agreement, _ = scored
    if levels is None:  # as `crowd_scaled` without levels
        weights = np.array(scores, dtype=np.float64)
    else:
        weights = scaled_by_levels(levels, pairs, scores, s)
    return dated(weights, agreement, days, pairs, s)


def _strong_owned(
    pieces: list[tuple[I64Array, np.ndarray]], n_units: int, per_item: int, j: int, parts: int
) -> list[I64Array]:
    """`strongest_edges` for partition j's items; the codes they keep, split by block."""
    codes, weights, owned = _gathered(pieces, n_units, j, parts)
    if len(codes) == 0:
        return [codes] * parts
    keep = strongest_edges(pairs_of_codes(codes, n_units), weights, per_item, owned)
    return _split_by_first(codes[keep], n_units, parts)


def _edges_block(
    codes: I64Array, n_units: int, weights: np.ndarray, apart: np.ndarray, kept_codes: I64Array | None
) -> tuple[I64Array, F64Array, int]:
    """A block's kept edges with its cannot-links (`with_cannot_links`), and their count."""
    weights, apart = weights.copy(), apart.copy()  # a task's inputs are not its to change
    if kept_codes is None:  # `strongest_edges` keeping every positive edge
        kept = weights > 0
    else:
        at = np.minimum(np.searchsorted(kept_codes, codes), max(len(kept_codes) - 1, 0))
        kept = (kept_codes[at] == codes) if len(kept_codes) else np.zeros(len(codes), dtype=bool)
    edges, n_apart = with_cannot_links(pairs_of_codes(codes, n_units), weights, kept, apart)
    return edges.pairs, edges.weights, n_apart
