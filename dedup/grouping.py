"""Grouping documents into events: exact copies, near copies, then same-event coverage.

Three layers, each cheaper and stricter than the next is broad:
1. exact: identical normalised text (a hash);
2. near copies: MinHash-LSH over word 5-grams finds candidates, exact Jaccard or containment on
   the shingle sets decides (containment attaches a teaser to its full article);
3. same event: MinHash-LSH over each story's most salient event terms finds candidates, a score
   combining TF-IDF cosine and event-term overlap (see `newsclean.dedup.event_space`), scaled down where
   the topic is crowded (`crowd_scaled`), raised for pairs published within a day and less a
   penalty for dates far apart, weighs them; average linkage over that sparse graph groups, so
   one broad article cannot chain unrelated stories together, and a story it leaves alone then
   joins the cluster it fits nearly as well as that cluster's loosest member does.
No step compares all pairs: candidates come from LSH, and linkage only sees candidate pairs.
"""

from __future__ import annotations

import os
import time
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt

from newsclean.dedup.event_space import EventSpace, edge_ranks, neighbourhood_levels, positions_in_runs
from newsclean.dedup.kernels import count_levels, keep_above_cutoffs
from newsclean.dedup.linkage import CANNOT_LINK, Edges, attach_lone_items, average_linkage, connected_parts
from newsclean.dedup.lsh import (
    byte_sketch,
    candidate_codes,
    candidate_pairs,
    merge_codes,
    pairs_of_codes,
    sketch_agreement,
    sorted_unique,
    unique_pairs,
)
from newsclean.dedup.memory import release_freed_memory
from newsclean.dedup.minhash import EMPTY_HASH, MinHasher
from newsclean.dedup.parallel import thread_count
from newsclean.dedup.signing import DocSignature, ShingleSets, Signer
from newsclean.dedup.types import Assignment, DedupDoc, Grouping, Relation
from newsclean.dedup.unionfind import UnionFind
from newsclean.settings import DedupSettings


def _plausible_copies(
    pairs: np.ndarray, signatures: np.ndarray, sizes: np.ndarray, settings: DedupSettings
) -> np.ndarray:
    """Which pairs could be copies, judged from their MinHash signatures alone (a mask).

    The exact check intersects two shingle sets; most same-event candidates are nowhere near a
    copy, and their signatures say so at a fraction of the cost. Each pair is judged at the
    upper end of its Jaccard estimate (four standard errors up), so no real copy is lost to
    sampling; a margin that scales with the error matters most for containment, which moves
    much further than the estimate for a short teaser (figures: docs/tuning.md)."""
    out = np.zeros(len(pairs), dtype=bool)
    num_perm = signatures.shape[1]
    for start in range(0, len(pairs), 50_000):
        chunk = pairs[start : start + 50_000]
        estimate = (signatures[chunk[:, 0]] == signatures[chunk[:, 1]]).mean(axis=1)
        spread = np.sqrt(np.maximum(estimate, 1.0 / num_perm) * (1.0 - estimate) / num_perm)
        jaccard = np.minimum(1.0, estimate + 4.0 * spread + 1.0 / num_perm)
        size_a, size_b = sizes[chunk[:, 0]], sizes[chunk[:, 1]]
        shared = jaccard / (1.0 + jaccard) * (size_a + size_b)
        containment = shared / np.maximum(np.minimum(size_a, size_b), 1)
        out[start : start + len(chunk)] = (jaccard >= settings.near_jaccard) | (
            containment >= settings.near_containment
        )
    return out


def _stack(rows: Sequence[np.ndarray], width: int) -> np.ndarray:
    return np.stack(rows) if rows else np.empty((0, width), dtype=np.uint32)


def _overlap(a: np.ndarray, b: np.ndarray) -> int:
    return len(np.intersect1d(a, b, assume_unique=True))


def _copies(
    shared: np.ndarray, size_a: np.ndarray, size_b: np.ndarray, settings: DedupSettings
) -> np.ndarray:
    """Which pairs of shingle sets (of these sizes, sharing `shared`) are copies of one text: by
    Jaccard, or by containment of the smaller in the larger (a mask)."""
    smaller = np.minimum(size_a, size_b)
    union = np.maximum(size_a + size_b - shared, 1)
    jaccard = shared / union
    # A handful of shingles contained in a long text proves little; demand a real teaser.
    contained = (smaller >= 8) & (shared / np.maximum(smaller, 1) >= settings.near_containment)
    mask: np.ndarray = (smaller > 0) & ((jaccard >= settings.near_jaccard) | contained)
    return mask


def _parse_day(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def _date_penalties(days: np.ndarray, pairs: np.ndarray, settings: DedupSettings) -> np.ndarray:
    """Known dates further apart than the window are evidence of two events, growing with the
    gap: a fortnight apart is a follow-up, years apart is another event. Not a veto, because some
    labelled events (a crisis, a trial) run for months; a missing date is no evidence at all.
    `days` holds each unit's date as a day ordinal, -1 when unknown."""
    a, b = days[pairs[:, 0]], days[pairs[:, 1]]
    gap = np.abs(a - b).astype(np.float64)
    window = float(max(settings.event_max_days_apart, 1))
    apart = (a >= 0) & (b >= 0) & (gap > window)
    out = np.zeros(len(pairs), dtype=np.float64)
    out[apart] = np.minimum(1.0, settings.event_date_penalty * np.log2(gap[apart] / window))
    return out


def date_gaps(days: np.ndarray, pairs: np.ndarray, settings: DedupSettings) -> np.ndarray:
    """Score factor per pair: min(1, event_gap_days / gap) when both dates are known, else 1.
    Coverage of one happening comes out within days; weeks apart, the same wording is another
    occurrence (a recurring notice, the next quarter's results) unless the stories agree far
    more than usual. A missing date is no evidence; event_gap_days 0 switches it off."""
    a, b = days[pairs[:, 0]], days[pairs[:, 1]]
    gap = np.abs(a - b).astype(np.float64)
    window = float(settings.event_gap_days)
    apart = (a >= 0) & (b >= 0) & (gap > window) & (window > 0)
    out = np.ones(len(pairs), dtype=np.float64)
    out[apart] = window / gap[apart]
    return out


def date_closeness(days: np.ndarray, pairs: np.ndarray, settings: DedupSettings) -> np.ndarray:
    """Score factor per pair: 1 + `event_close_bonus` when both dates are known and at most
    `event_close_days` apart, else 1. Breaking coverage of one event comes out within a day;
    two outlets' own stories about it share fewer words than copies do, and the day they were
    published is evidence the text scores cannot see. A missing date is no evidence."""
    a, b = days[pairs[:, 0]], days[pairs[:, 1]]
    close = (a >= 0) & (b >= 0) & (np.abs(a - b) <= settings.event_close_days)
    return np.where(close, 1.0 + settings.event_close_bonus, 1.0)


def strongest_edges(
    pairs: np.ndarray, scores: np.ndarray, per_item: int, owned: npt.NDArray[np.bool_] | None = None
) -> np.ndarray:
    """Mask of the positive edges kept for clustering: each item's `per_item` strongest
    (an edge stays when it is among the strongest of either end; 0 keeps every positive edge).
    With `owned` (a mask of items), only owned ends choose: a partition holding every edge of
    its owned items decides for them exactly, and the union over partitions is the whole's.

    Why: on a corpus whose stories share much vocabulary the candidate graph grows to hundreds
    of edges per story, and the clustering's memory grows with the edges. An average over a
    story's weakest links decides nothing that its strongest do not."""
    keep = scores > 0
    if per_item <= 0 or len(pairs) == 0:
        return keep
    strong = np.zeros(len(pairs), dtype=bool)
    items, edges, rank = edge_ranks(pairs, scores)
    chosen = rank < per_item
    if owned is not None:  # an item's ranks need only its own edges, in their global order
        chosen &= owned[items]
    strong[edges[chosen]] = True
    return keep & strong


def top_candidates(
    codes: np.ndarray,
    n_items: int,
    strength: np.ndarray,
    rank: np.ndarray,
    per_item: int,
    owned: npt.NDArray[np.bool_] | None = None,
) -> np.ndarray:
    """Mask of the pairs (sorted codes `i * n_items + j`) among the `per_item` strongest
    candidates of either end. With `owned` (a mask of items), only owned ends choose (as in
    `strongest_edges`): exact for an owned item when `codes` hold all of its candidates.

    Why: below the bucket cap the candidates per story still grow with the corpus, because more
    stories share some salient name, and every later step (scores, crowd levels, edge ranking)
    costs per pair. A story's own
    event agrees with it in many signature columns, a stray shared name in few, so its
    best-agreeing candidates bound the work per story and keep what the clustering needs. Equal
    strength prefers the pair closer in `rank` (publication-day order), then the smaller pair.

    `strength` is a small non-negative integer (an agreement count), so each item's cut-off
    level comes from a histogram, and only the candidates tied at an item's cut-off are sorted
    (sorting all of them cost more than scoring the rest). The pairs stay codes, decoded one at
    a time inside the two compiled passes (`newsclean.dedup.kernels`), to keep decoded pairs
    out of the grouping's memory peak (figures: docs/tuning.md)."""
    n_pairs = len(codes)
    if per_item <= 0 or n_pairs == 0:
        return np.ones(n_pairs, dtype=bool)
    if strength.dtype.kind not in "iu":
        raise TypeError("strength must be an integer array (agreement counts)")
    levels = int(strength.max()) + 1
    level: npt.NDArray[np.integer[Any]] = strength  # read only: no copy
    # The (item, level) tables have a row per choosing item only: an owner's task holds a share.
    choosing = np.arange(n_items) if owned is None else np.flatnonzero(owned)
    row_of = np.full(n_items, -1, dtype=np.int64)
    row_of[choosing] = np.arange(len(choosing))
    # Counts fit 32 bits below 2**31 pairs: half the memory of the (item, level) table.
    count_type = np.int32 if n_pairs < 2**31 else np.int64
    histogram: npt.NDArray[np.integer[Any]] = np.zeros(len(choosing) * levels, dtype=count_type)
    count_levels(codes, n_items, level, levels, row_of, histogram)
    by_level = histogram.reshape(len(choosing), levels)
    # at_least[r, s]: how many of row r's candidates have strength >= s (a zero column past the top).
    at_least = np.zeros((len(choosing), levels + 1), dtype=count_type)
    at_least[:, :levels] = np.cumsum(by_level[:, ::-1], axis=1, dtype=count_type)[:, ::-1]
    # Each item's cut-off: the highest level with at least `per_item` candidates at or above it
    # (level 0 when it has fewer: then it keeps all of them).
    enough = at_least[:, :levels] >= per_item
    row_cutoff = np.where(enough.any(axis=1), levels - 1 - np.argmax(enough[:, ::-1], axis=1), 0)
    every_row = np.arange(len(choosing))
    row_fit = at_least[every_row, row_cutoff] <= per_item
    n_tied = int(by_level[every_row, row_cutoff][~row_fit].sum())  # candidates at a cut-off that overflows
    # Items that do not choose get a cut-off above every level: they keep nothing themselves.
    cutoff = np.full(n_items, levels, dtype=np.int64)
    cutoff[choosing] = row_cutoff
    all_fit = np.zeros(n_items, dtype=bool)
    all_fit[choosing] = row_fit
    quota = np.zeros(n_items, dtype=np.int64)
    quota[choosing] = per_item - at_least[every_row, row_cutoff + 1]  # of the tied ones
    del at_least, enough, histogram, by_level, row_of
    keep = np.zeros(n_pairs, dtype=bool)
    items = np.empty(n_tied, dtype=np.int64)
    edge_ids = np.empty(n_tied, dtype=np.int64)
    if keep_above_cutoffs(codes, n_items, level, cutoff, all_fit, keep, items, edge_ids) != n_tied:
        raise AssertionError("ties at the cut-offs do not match their histogram")
    # Ties at the cut-off, only where they do not all fit, are ordered by day distance; (item,
    # edge) is unique, so the order does not depend on which end an entry came from.
    tied = pairs_of_codes(codes[edge_ids], n_items)
    distance = np.abs(rank[tied[:, 0]] - rank[tied[:, 1]])
    order = np.lexsort((edge_ids, distance, items))
    items, edge_ids = items[order], edge_ids[order]
    keep[edge_ids[positions_in_runs(items) < quota[items]]] = True
    return keep


def crowd_scaled(n_units: int, pairs: np.ndarray, scores: np.ndarray, settings: DedupSettings) -> np.ndarray:
    """Scores scaled down where the neighbourhood is crowded (see `neighbourhood_levels`):
    times min(1, reference / sqrt(level_a x level_b)). Never scaled up: in a small or sparse
    corpus every level is low, and raising its scores would merge what the cut keeps apart."""
    if not settings.event_crowd_neighbours or len(scores) == 0:
        return np.asarray(scores, dtype=np.float64)
    levels = neighbourhood_levels(n_units, pairs, scores, settings.event_crowd_neighbours)
    return scaled_by_levels(levels, pairs, scores, settings)


def scaled_by_levels(
    levels: np.ndarray, pairs: np.ndarray, scores: np.ndarray, settings: DedupSettings
) -> np.ndarray:
    """`crowd_scaled` given each item's level (`neighbourhood_levels` over all the pairs)."""
    spread = np.sqrt(levels[pairs[:, 0]] * levels[pairs[:, 1]])
    factor = np.minimum(1.0, settings.event_crowd_reference / np.maximum(spread, 1e-12))
    scaled: np.ndarray = scores * factor
    return scaled


def _canonical(members: list[DedupDoc], lengths: dict[str, int]) -> DedupDoc:
    """Most complete text wins; the earliest date, then the smallest id, break ties."""
    return min(
        members,
        key=lambda d: (-lengths[d.id], d.published or "9999-99-99", d.id),
    )


def group_documents(docs: Sequence[DedupDoc], settings: DedupSettings | None = None) -> Grouping:
    """Assign every document to a cluster with one canonical and a relation to it."""
    s = settings or DedupSettings()
    signatures = Signer(s).sign([d.text for d in docs], [d.title for d in docs])
    return group_signed(docs, signatures, s)


def group_signed(
    docs: Sequence[DedupDoc], signatures: Sequence[DocSignature], settings: DedupSettings | None = None
) -> Grouping:
    """`group_documents` for documents signed beforehand (`newsclean.dedup.signing.Signer`), as the
    pipeline does in its cleaning workers: only the work about pairs is left here."""
    if len(signatures) != len(docs):
        raise ValueError("one signature per document")
    return event_graph(zip(docs, signatures, strict=True), settings).grouping()


def _unit_pairs(rep_pairs: np.ndarray, unit_of_rep: np.ndarray, n_units: int) -> np.ndarray:
    """The distinct pairs of units that representatives' pairs join (a pair inside one unit
    drops out), sorted: `unit_codes`, decoded."""
    return pairs_of_codes(sorted_unique(unit_codes(rep_pairs, unit_of_rep, n_units)), n_units)


# --- The pair steps: candidates, copy checks, scored edges, clustering -------------------------
# `event_graph` calls these through a `GraphSteps`: `LocalSteps` runs each over every pair in
# this process; the dask engine (`newsclean.distributed.grouping`) runs the same block functions
# over partitions of the pairs on a cluster. Each block function decides per pair, or per item
# over all of an item's pairs (`owned`), so the partitioning changes no result.


@dataclass(frozen=True, slots=True)
class CandidateInputs:
    """What the candidate search reads per representative (item i: the i-th in id order)."""

    order: npt.NDArray[np.int64]  # neighbourhood rank inside an oversized LSH bucket
    near_signatures: np.ndarray  # word-shingle MinHash rows
    salient: np.ndarray  # salient event-term MinHash rows
    sizes: npt.NDArray[np.float64]  # shingles per representative
    space: EventSpace
    threads: int


@dataclass(slots=True)
class Candidates:
    """The candidate search's result: the pairs to check as copies (`to_check`, few, sorted)
    and the event candidate pairs of representatives (`event_pairs`: the engine's own holder,
    taken once by its `unit_edges`), with their counts."""

    to_check: npt.NDArray[np.int64]
    event_pairs: Any
    n_near: int
    n_lsh_event: int
    n_event: int
    n_checks: int

    def take_event_pairs(self) -> Any:
        """The event pairs, let go here (so the taker alone holds them)."""
        pairs, self.event_pairs = self.event_pairs, None
        return pairs


def topical_signatures(space: EventSpace, s: DedupSettings) -> np.ndarray | None:
    """MinHash rows of each story's top TF-IDF features (None when `topic_terms_per_doc` is 0)."""
    if not s.topic_terms_per_doc:
        return None
    topic_hasher = MinHasher(s.event_num_perm, s.seed + 2)
    return topic_hasher.signatures(space.top_terms(s.topic_terms_per_doc))


def event_sketch(salient: np.ndarray, topical: np.ndarray | None) -> npt.NDArray[np.uint64]:
    """The byte sketch that ranks event candidates (`top_candidates`)."""
    return byte_sketch(np.hstack((salient, topical)) if topical is not None else salient)


def plausible_to_check(
    checked: npt.NDArray[np.int64], near_signatures: np.ndarray, sizes: np.ndarray, s: DedupSettings
) -> npt.NDArray[np.int64]:
    """The candidate pairs (sorted, distinct) whose signatures leave them plausible copies."""
    picked: npt.NDArray[np.int64] = checked[_plausible_copies(checked, near_signatures, sizes, s)]
    return picked


def copy_groups(
    to_check: npt.NDArray[np.int64],
    rep_ids: list[str],
    shingles_of: ShingleSets,
    space: EventSpace,
    s: DedupSettings,
    rep_days: npt.NDArray[np.int64] | None = None,
) -> UnionFind[int]:
    """Near-copy groups of representatives: `to_check`'s pairs (in their sorted order, which
    decides each group's root) checked on their shingle sets. `rep_days`: each
    representative's day ordinal (-1 undated), for `apart_in_time`."""
    near = UnionFind(range(len(rep_ids)))
    left_ids = [rep_ids[a] for a in to_check[:, 0].tolist()]
    right_ids = [rep_ids[b] for b in to_check[:, 1].tolist()]
    shared = shingles_of.shared(left_ids, right_ids)
    copies = _copies(shared, shingles_of.sizes(left_ids), shingles_of.sizes(right_ids), s)
    # A template filled in for another subject (another bank's prime rate notice) is no copy.
    copies &= ~space.pair_disagreements(to_check[:, 0], to_check[:, 1])
    if rep_days is not None:
        copies &= ~apart_in_time(rep_days, to_check, s)
    for a, b in to_check[copies].tolist():
        near.union(a, b)
    return near


def apart_in_time(days: npt.NDArray[np.int64], pairs: np.ndarray, s: DedupSettings) -> npt.NDArray[np.bool_]:
    """Per pair, whether both are dated more than `event_span_days` apart: then a near copy is
    no copy. A notice issued again a month later in the same words with new figures (a monthly
    crop estimate) is another event, and a cluster holds no dated stories further apart than
    that; an exact copy stays a copy whatever its date."""
    if len(pairs) == 0 or s.event_span_days <= 0:
        return np.zeros(len(pairs), dtype=bool)
    a, b = days[pairs[:, 0]], days[pairs[:, 1]]
    result: npt.NDArray[np.bool_] = (a >= 0) & (b >= 0) & (np.abs(a - b) > s.event_span_days)
    return result


def unit_codes(rep_pairs: np.ndarray, unit_of_rep: np.ndarray, n_units: int) -> npt.NDArray[np.int64]:
    """The pairs of units that representatives' pairs join, as codes `a * n_units + b` with
    a < b (unsorted, repeats kept; a pair inside one unit drops out)."""
    if len(rep_pairs) == 0:
        return np.empty(0, dtype=np.int64)
    ua, ub = unit_of_rep[rep_pairs[:, 0]], unit_of_rep[rep_pairs[:, 1]]
    distinct = ua != ub
    codes: npt.NDArray[np.int64] = np.minimum(ua, ub)[distinct].astype(np.int64) * n_units + np.maximum(
        ua, ub
    )[distinct].astype(np.int64)
    return codes


def score_pairs(
    space: EventSpace, rep_of_unit: np.ndarray, unit_pairs: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per pair of units: (score, agreement, different subjects), from their representatives."""
    left_reps, right_reps = rep_of_unit[unit_pairs[:, 0]], rep_of_unit[unit_pairs[:, 1]]
    agreement = 1.0 - space.pair_conflicts(left_reps, right_reps)
    scores = space.pair_scores(left_reps, right_reps) * agreement
    apart = space.pair_disagreements(left_reps, right_reps)
    return scores, agreement, apart


def dated(
    weights: np.ndarray, agreement: np.ndarray, days: np.ndarray, pairs: np.ndarray, s: DedupSettings
) -> np.ndarray:
    """`weights` (changed in place) raised for pairs published close together and lowered for
    dates far apart (`date_closeness`, `date_gaps`, `_date_penalties`)."""
    weights *= 1.0 + (date_closeness(days, pairs, s) - 1.0) * agreement
    weights *= date_gaps(days, pairs, s)
    weights -= _date_penalties(days, pairs, s)
    return weights


def with_cannot_links(
    pairs: np.ndarray, weights: np.ndarray, kept: np.ndarray, apart: np.ndarray
) -> tuple[Edges, int]:
    """The kept edges, with the cannot-links among the pairs (changes `weights`, `kept`, `apart`
    in place); and how many cannot-links there are."""
    # Different subjects never share a cluster: kept as cannot-links wherever they would have
    # been an edge (weight > 0), so that no chain of other links can join them either.
    apart &= weights > 0
    weights[apart] = CANNOT_LINK
    kept |= apart
    return Edges(pairs[kept], weights[kept]), int(apart.sum())


def cluster_units(days: npt.NDArray[np.int64], edges: Edges, s: DedupSettings) -> list[int]:
    """Label per item (one per entry of `days`, its day ordinal or -1): average linkage, then
    lone items join the cluster they fit, neither making a cluster span more than
    event_span_days. No cluster crosses a connected part of `edges` (`newsclean.dedup.linkage`)."""
    n_items = len(days)
    cut, span = s.linkage_threshold, s.event_span_days
    labels = average_linkage(n_items, edges, cut, days, span)
    return attach_lone_items(labels, edges, cut, s.lone_story_fit, days, span)


class GraphSteps:
    """How `event_graph` and `EventGraph.grouping` run their pair-heavy steps: every pair in
    this process. A subclass may run them elsewhere (the dask engine's), with equal results."""

    def candidates(self, inputs: CandidateInputs, s: DedupSettings) -> Candidates:
        """Candidate pairs of representatives from the three LSH indexes; each story's best
        event candidates; the pairs plausible as copies."""
        n_reps, order, threads = len(inputs.order), inputs.order, inputs.threads
        near_signatures, salient = inputs.near_signatures, inputs.salient
        near_pairs = candidate_pairs(
            near_signatures, s.near_lsh_threshold, order=order, bucket_cap=s.lsh_bucket_cap,
            skip=np.all(near_signatures == EMPTY_HASH, axis=1),
        )  # fmt: skip
        event_parts = [
            candidate_codes(
                salient, s.event_lsh_threshold, order=order, bucket_cap=s.lsh_bucket_cap,
                skip=np.all(salient == EMPTY_HASH, axis=1), threads=threads,
            )
        ]  # fmt: skip
        release_freed_memory()
        topical = topical_signatures(inputs.space, s)
        if topical is not None:
            event_parts.append(
                candidate_codes(
                    topical, s.topic_lsh_threshold, order=order, bucket_cap=s.lsh_bucket_cap,
                    skip=np.all(topical == EMPTY_HASH, axis=1), threads=threads,
                )
            )  # fmt: skip
        event_codes = merge_codes(event_parts)  # empties event_parts: nothing else holds the parts
        release_freed_memory()
        lsh_event_pairs = len(event_codes)
        if s.event_candidates_per_story:  # each story's best-agreeing candidates go on
            sketch = event_sketch(salient, topical)
            strength = sketch_agreement(event_codes, n_reps, sketch, threads=threads)
            release_freed_memory()
            best = top_candidates(event_codes, n_reps, strength, order, s.event_candidates_per_story)
            event_codes = event_codes[best]
            del sketch, strength, best
        event_pairs = pairs_of_codes(event_codes, n_reps)
        del event_codes
        checked = unique_pairs(np.concatenate((near_pairs, event_pairs)), n_reps)
        to_check = plausible_to_check(checked, near_signatures, inputs.sizes, s)
        return Candidates(
            to_check, event_pairs, len(near_pairs), lsh_event_pairs, len(event_pairs), len(to_check)
        )

    def unit_edges(
        self,
        found: Candidates,
        unit_of_rep: npt.NDArray[np.int64],
        rep_of_unit: npt.NDArray[np.int64],
        days: npt.NDArray[np.int64],
        space: EventSpace,
        s: DedupSettings,
    ) -> tuple[Edges, int]:
        """The scored same-event edges between units (with the cannot-links), and how many
        cannot-links there are."""
        n_units = len(rep_of_unit)
        unit_pair_array = _unit_pairs(found.take_event_pairs(), unit_of_rep, n_units)
        scores, agreement, apart = score_pairs(space, rep_of_unit, unit_pair_array)
        weights = crowd_scaled(n_units, unit_pair_array, scores, s)
        dated(weights, agreement, days, unit_pair_array, s)
        kept = strongest_edges(unit_pair_array, weights, s.event_edges_per_story)
        edges, n_apart = with_cannot_links(unit_pair_array, weights, kept, apart)
        del scores, weights, unit_pair_array, kept, apart, agreement
        return edges, n_apart

    def cluster(self, days: npt.NDArray[np.int64], edges: Edges, s: DedupSettings) -> list[int]:
        """`cluster_units`."""
        return cluster_units(days, edges, s)


_STEPS: ContextVar[GraphSteps | None] = ContextVar("newsclean_graph_steps", default=None)
_LOCAL_STEPS = GraphSteps()


def current_steps() -> GraphSteps:
    """The steps grouping runs with here: those of the innermost `use_steps`, else local."""
    return _STEPS.get() or _LOCAL_STEPS


@contextmanager
def use_steps(steps: GraphSteps) -> Iterator[GraphSteps]:
    """Grouping inside the block runs its pair steps with `steps` (an engine's choice of where
    they run; the results are the same)."""
    token = _STEPS.set(steps)
    try:
        yield steps
    finally:
        _STEPS.reset(token)


def event_graph(
    signed: Iterable[tuple[DedupDoc, DocSignature]],
    settings: DedupSettings | None = None,
    spill_dir: str | os.PathLike[str] | None = None,
) -> EventGraph:
    """Steps 1-3 up to the clustering: copy groups, candidates, scored same-event edges.

    `signed` (each document with its signature, in any order) is read once, and the signatures
    are let go as soon as what the candidate search needs is taken from them: a caller that
    streams them (the pipeline reads them from its run state) holds none of them through the
    search, where they would add to the grouping's peak. `spill_dir`: where the
    shingle sets may wait out the candidate search in a mapped file (`ShingleSets`)."""
    s = settings or DedupSettings()
    started = time.perf_counter()
    threads = thread_count(s.threads)
    arrived: dict[str, tuple[DedupDoc, DocSignature]] = {}
    for doc, signature in signed:
        if doc.id in arrived:
            raise ValueError(f"document ids must be unique: {doc.id!r} twice")
        arrived[doc.id] = (doc, signature)
    by_id = {doc_id: arrived[doc_id][0] for doc_id in sorted(arrived)}
    sig_of = {doc_id: arrived[doc_id][1] for doc_id in by_id}
    del arrived
    lengths = {i: sig.n_words for i, sig in sig_of.items()}
    exact_keys = {i: sig.exact_key for i, sig in sig_of.items()}

    # 1. Exact copies share a key; one representative each goes on.
    exact_groups: dict[str, list[str]] = defaultdict(list)
    for doc_id in by_id:  # sorted by id above
        exact_groups[exact_keys[doc_id]].append(doc_id)
    reps = {members[0]: members for members in exact_groups.values()}

    # 2. Candidates among representatives, from three LSH indexes: word shingles find copies, each
    #    story's salient event terms and its top TF-IDF features find coverage of one event.
    #    Every candidate pair is first checked as a copy, so a teaser (too short for Jaccard,
    #    found through what it is about) joins its article.
    steps = current_steps()
    rep_ids = sorted(reps)
    n_reps = len(rep_ids)
    rep_sigs = [sig_of[r] for r in rep_ids]
    space = EventSpace(
        [(rep.term_ids, rep.term_counts) for rep in rep_sigs],
        [rep.event_parts() for rep in rep_sigs],
        overlap_offset=s.event_overlap_offset,
        overlap_reference=s.event_overlap_reference,
        threads=threads,
    )
    # Inside an oversized LSH bucket, neighbours by publication day (undated last, then by id).
    day_rank = np.asarray(
        sorted(range(n_reps), key=lambda i: (by_id[rep_ids[i]].published or "9999", rep_ids[i])),
        dtype=np.int64,
    )
    order = np.empty(n_reps, dtype=np.int64)
    order[day_rank] = np.arange(n_reps)
    inputs = CandidateInputs(
        order,
        _stack([rep.near for rep in rep_sigs], s.near_num_perm),
        _stack([rep.salient for rep in rep_sigs], s.event_num_perm),
        np.array([rep.n_shingles for rep in rep_sigs], dtype=np.float64),
        space,
        threads,
    )
    # The graph keeps the shingle sets, not the signatures, which are done with from here on.
    shingles_of = ShingleSets(list(sig_of), [sig.shingles for sig in sig_of.values()], spill_dir)
    del sig_of, rep_sigs
    release_freed_memory()
    found = steps.candidates(inputs, s)
    del inputs
    release_freed_memory()
    day_of_doc = {doc_id: _parse_day(doc.published) for doc_id, doc in by_id.items()}  # read once
    rep_days = np.array(
        [d.toordinal() if (d := day_of_doc[r]) is not None else -1 for r in rep_ids], dtype=np.int64
    )
    near = copy_groups(found.to_check, rep_ids, shingles_of, space, s, rep_days)
    found.to_check = np.empty((0, 2), dtype=np.int64)
    release_freed_memory()
    near_groups = {rep_ids[u]: [rep_ids[m] for m in members] for u, members in near.groups().items()}
    t_near = time.perf_counter()

    # 3. Same event among near-groups, each represented by its longest member.
    units = sorted(near_groups)
    unit_index = {u: i for i, u in enumerate(units)}
    rep_index = {r: i for i, r in enumerate(rep_ids)}
    unit_rep = [rep_index[_canonical([by_id[r] for r in near_groups[u]], lengths).id] for u in units]
    unit_day: list[date | None] = []
    for u in units:
        known = [
            day for rep in near_groups[u] for doc_id in reps[rep] if (day := day_of_doc[doc_id]) is not None
        ]
        unit_day.append(min(known) if known else None)
    del day_of_doc
    unit_of_rep = np.array([unit_index[rep_ids[near.find(i)]] for i in range(n_reps)], dtype=np.int64)
    days = np.array([d.toordinal() if d is not None else -1 for d in unit_day], dtype=np.int64)
    edges, n_apart = steps.unit_edges(
        found, unit_of_rep, np.asarray(unit_rep, dtype=np.int64), days, space, s
    )
    del unit_of_rep
    release_freed_memory()
    finished = time.perf_counter()
    stats = {
        "documents": float(len(by_id)),
        "exact_groups": float(len(reps)),
        "near_candidate_pairs": float(found.n_near),
        "copy_checks": float(found.n_checks),
        "near_groups": float(len(near_groups)),
        "event_lsh_pairs": float(found.n_lsh_event),
        "event_candidate_pairs": float(found.n_event),
        "candidate_pairs": float(found.n_near + found.n_event),
        "cannot_links": float(n_apart),
        "seconds_near": round(t_near - started, 4),
        "seconds_event": round(finished - t_near, 4),
    }
    members = {u: [doc_id for rep in near_groups[u] for doc_id in reps[rep]] for u in units}
    return EventGraph(
        s, by_id, exact_keys, lengths, units, members, unit_rep, space, edges, shingles_of, stats, days
    )


@dataclass(frozen=True, slots=True)
class EventGraph:
    """A corpus as grouping sees it just before clustering: its copy groups (units: exact and
    near copies of one text) and their scored same-event edges.

    Why a stage of its own: finding and scoring candidates is nearly all of grouping's cost,
    and the pipeline clusters a second time when corpus-learned
    boilerplate has emptied some documents (`grouping(leave_out=...)`), which must not pay for
    the candidates again. The statistics behind the scores (IDF, crowd levels) are those of
    every document read, emptied ones included: they were part of the corpus."""

    settings: DedupSettings
    by_id: dict[str, DedupDoc]
    exact_keys: dict[str, str]  # document id -> its exact-copy key
    lengths: dict[str, int]  # words per document: the most complete text is canonical
    units: list[str]  # sorted unit ids (a unit's id is one of its documents')
    members: dict[str, list[str]]  # unit id -> its documents
    unit_rep: list[int]  # per unit, the item of `space` that scores it (its longest text)
    space: EventSpace
    edges: Edges  # unit index pairs and their same-event weights
    shingles_of: ShingleSets  # a document's shingle set
    stats: dict[str, float]
    days: npt.NDArray[np.int64]  # per unit, its earliest day's ordinal (-1: undated)
    # Each unit's label from the last clustering of every unit (`grouping()` with none left out).
    labels_of_all: list[int] = field(default_factory=list, compare=False, repr=False)

    def grouping(self, leave_out: Collection[str] = ()) -> Grouping:
        """Cluster the units (average linkage over the edges) and assign every document.

        `leave_out`: documents that take no part (the pipeline's emptied ones). A unit left
        with none of its documents drops out with its edges, so a document made only of an
        outlet's furniture, which can score high against every story of its outlet, cannot hold
        two stories together once it is gone."""
        started = time.perf_counter()
        gone = frozenset(leave_out)
        members = self.members
        if gone:
            members = {u: [d for d in docs if d not in gone] for u, docs in members.items()}
        live = [bool(members[u]) for u in self.units]
        edges = self.edges
        if all(live):
            labels = self._cluster(self.days, edges)
            self.labels_of_all[:] = labels
        else:
            live_mask = np.asarray(live, dtype=bool)
            edges = edges.where(live_mask[edges.pairs[:, 0]] & live_mask[edges.pairs[:, 1]])
            labels = self._recluster_around(~live_mask, edges)
        by_label: dict[int, list[str]] = defaultdict(list)
        for unit, label, alive in zip(self.units, labels, live, strict=True):
            if alive:
                by_label[label].append(unit)
        clusters = sorted(by_label.values())
        t_linked = time.perf_counter()
        assignments = self._assign(clusters, members)
        finished = time.perf_counter()
        stats = {
            **self.stats,
            "documents": float(sum(len(docs) for docs in members.values())),
            "event_edges": float(len(edges)),
            "clusters": float(len(clusters)),
            "seconds_linkage": round(t_linked - started, 4),
            "seconds_assign": round(finished - t_linked, 4),
        }
        phases = ("seconds_near", "seconds_event", "seconds_linkage", "seconds_assign")
        stats["seconds_total"] = round(sum(stats[k] for k in phases), 4)
        return Grouping(assignments=assignments, stats=stats)

    def _cluster(self, days: npt.NDArray[np.int64], edges: Edges) -> list[int]:
        """`cluster_units` of the items (one per entry of `days`), by the current steps."""
        return current_steps().cluster(days, edges, self.settings)

    def _recluster_around(self, dead: npt.NDArray[np.bool_], live_edges: Edges) -> list[int]:
        """`_cluster` of every unit over `live_edges` (the edges between live units), clustering
        again only the connected parts of the whole graph that hold a dead unit.

        Why this is the same: linkage merges only along edges, and a lone item joins only a
        cluster it has edges into, so a part of the graph that lost no unit keeps its edges and
        its labels (`labels_of_all`, from the clustering of every unit). Inside a re-clustered
        part the items keep their order, and labels are an item of their cluster, so every tie
        breaks as it would over the whole graph, and only the few parts the corpus-learned lines
        emptied a document of pay for a second clustering."""
        n_units = len(self.units)
        if len(self.labels_of_all) != n_units:  # no clustering of every unit to start from
            return self._cluster(self.days, live_edges)
        part = connected_parts(n_units, self.edges.pairs)
        redo = np.isin(part, part[dead]) & ~dead
        items = np.flatnonzero(redo)
        local = np.full(n_units, -1, dtype=np.int64)
        local[items] = np.arange(len(items))
        inside = redo[live_edges.pairs[:, 0]] & redo[live_edges.pairs[:, 1]]
        part_edges = live_edges.where(inside)
        sub_labels = self._cluster(self.days[items], Edges(local[part_edges.pairs], part_edges.weights))
        labels = list(self.labels_of_all)
        for item, sub_label in zip(items.tolist(), sub_labels, strict=True):
            labels[item] = int(items[sub_label])
        return labels  # a dead unit's label is left as it was: it takes no part

    def _assign(self, clusters: list[list[str]], members: dict[str, list[str]]) -> dict[str, Assignment]:
        """Step 4: each cluster's canonical, and every member's relation to it."""
        by_id, lengths, exact_keys, shingles_of = self.by_id, self.lengths, self.exact_keys, self.shingles_of
        unit_index = {u: i for i, u in enumerate(self.units)}
        unit_of = {doc_id: unit for unit, docs in members.items() for doc_id in docs}
        member_ids = [sorted(doc_id for u in units for doc_id in members[u]) for units in clusters]
        canonicals = [_canonical([by_id[i] for i in ids], lengths) for ids in member_ids]
        # Same-event similarity of each unit to its cluster's canonical unit, scored in one batch.
        to_canon: list[tuple[str, str]] = []
        for units, canonical in zip(clusters, canonicals, strict=True):
            canon_of_cluster = unit_of[canonical.id]
            to_canon.extend((u, canon_of_cluster) for u in units if u != canon_of_cluster)
        to_canon_scores = dict(
            zip(
                to_canon,
                self.space.scores(
                    [(self.unit_rep[unit_index[u]], self.unit_rep[unit_index[c]]) for u, c in to_canon]
                ),
                strict=True,
            )
        )
        assignments: dict[str, Assignment] = {}
        for units, ids, canonical in zip(clusters, member_ids, canonicals, strict=True):
            canon_key = exact_keys[canonical.id]
            canon_unit = unit_of[canonical.id]
            canon_shingles = shingles_of(canonical.id)
            cluster_id = "c_" + canonical.id
            copy_canonical = {u: _canonical([by_id[d] for d in members[u]], lengths).id for u in units}
            for doc_id in ids:
                relation: Relation
                similarity: float | None
                if doc_id == canonical.id:
                    relation, similarity = "canonical", None
                elif exact_keys[doc_id] == canon_key:
                    relation, similarity = "exact_duplicate", 1.0
                elif unit_of[doc_id] == canon_unit:
                    mine = shingles_of(doc_id)
                    shared = _overlap(mine, canon_shingles)
                    union = (len(mine) + len(canon_shingles) - shared) or 1
                    relation, similarity = "near_duplicate", shared / union
                else:
                    relation, similarity = "same_event", to_canon_scores[(unit_of[doc_id], canon_unit)]
                if similarity is not None:
                    similarity = round(similarity, 4)
                copy_of = copy_canonical[unit_of[doc_id]]
                assignments[doc_id] = Assignment(
                    cluster_id, canonical.id, relation, similarity, None if copy_of == doc_id else copy_of
                )
        return assignments
