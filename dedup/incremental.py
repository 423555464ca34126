"""Adding documents to an existing grouping: a scheduled run pays for what is new.

A full grouping (`newsclean.dedup.grouping.event_graph`) reads every document and learns the
corpus statistics (document frequencies, crowd levels) from all of them. An incremental run
keeps those statistics as they were when last learned (`Statistics`, the snapshot), looks a new
story's candidates up in an LSH index kept from earlier runs (`BandIndex`), scores them with the
same functions as the full grouping (score, conflicts, subject cannot-links, crowd scaling,
date factors, strongest edges), and clusters the new stories with the clusters they could
join (`joining_floor`) by the same rules (average-linkage cut and span cap, then the lone-story
fit), with two differences: clusters that exist never split (`settle`), as the contract
requires, so a document keeps its cluster id; and only the new stories choose their strongest
candidates (`add_documents`), where a full grouping lets both ends of a pair choose.

`GroupingModel` is what a run leaves for the next one; `add_documents` is the incremental step.
The module knows nothing of files or the run state: the group stage reads and stores.
"""

from __future__ import annotations

import io
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import InitVar, dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import sparse

from newsclean.dedup.event_space import EventSpace, _principal_matrix, _row_maxima, edge_ranks
from newsclean.dedup.grouping import (  # private ones: the full grouping's rules, shared on purpose
    EventGraph,
    _canonical,
    _copies,
    _date_penalties,
    _plausible_copies,
    apart_in_time,
    crowd_scaled,
    date_closeness,
    date_gaps,
    strongest_edges,
    top_candidates,
)
from newsclean.dedup.linkage import CANNOT_LINK, Edges, attach_lone_items, average_linkage
from newsclean.dedup.lsh import _band_keys, bands_for, byte_sketch, sketch_agreement, sorted_unique
from newsclean.dedup.minhash import EMPTY_HASH, MinHasher
from newsclean.dedup.rows import Columns, RowBlock, RowSegment, RowStore
from newsclean.dedup.signing import DocSignature, shingle_set
from newsclean.dedup.types import Assignment, DedupDoc, Grouping, Relation
from newsclean.settings import DedupSettings

U32Array = npt.NDArray[np.uint32]
U64Array = npt.NDArray[np.uint64]
I64Array = npt.NDArray[np.int64]
F64Array = npt.NDArray[np.float64]

UNDATED = 10**9  # neighbourhood order of an undated story: after every dated one
_BAND_MIX = 0xD6E8FEB86659FD93


# --- The statistics snapshot -------------------------------------------------------------------


@dataclass(frozen=True)
class Statistics:
    """Document frequencies of a corpus's scoring items (exact-copy representatives) when the
    snapshot was taken: of every TF-IDF feature, and of every event term as an event term."""

    n_items: int
    feature_ids: U64Array  # sorted
    feature_df: I64Array
    event_ids: U64Array  # sorted
    event_df: I64Array

    @classmethod
    def of(cls, signatures: Sequence[DocSignature]) -> Statistics:
        """The statistics `EventSpace` would learn from these items."""
        n = len(signatures)
        if n == 0:
            empty_ids, empty_df = np.empty(0, dtype=np.uint64), np.empty(0, dtype=np.int64)
            return cls(0, empty_ids, empty_df, empty_ids, empty_df)
        features = np.concatenate([s.term_ids for s in signatures] + [np.empty(0, dtype=np.uint64)])
        events = np.concatenate([s.term_ids[s.event_at] for s in signatures] + [np.empty(0, dtype=np.uint64)])
        feature_ids, feature_df = _counted(features)
        event_ids, event_df = _counted(events)
        return cls(n, feature_ids, feature_df, event_ids, event_df)

    def frequencies(self, ids: U64Array, *, events: bool) -> I64Array:
        """Each id's document frequency in the snapshot (0 when it never occurred)."""
        known, df = (self.event_ids, self.event_df) if events else (self.feature_ids, self.feature_df)
        if len(known) == 0:
            return np.zeros(len(ids), dtype=np.int64)
        at = np.minimum(np.searchsorted(known, ids), len(known) - 1)
        return np.where(known[at] == ids, df[at], 0).astype(np.int64)

    def arrays(self) -> dict[str, np.ndarray]:
        return {
            "stats_n": np.asarray([self.n_items], dtype=np.int64),
            "stats_feature_ids": self.feature_ids,
            "stats_feature_df": self.feature_df,
            "stats_event_ids": self.event_ids,
            "stats_event_df": self.event_df,
        }

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray]) -> Statistics:
        return cls(
            int(arrays["stats_n"][0]),
            arrays["stats_feature_ids"],
            arrays["stats_feature_df"],
            arrays["stats_event_ids"],
            arrays["stats_event_df"],
        )


def _counted(values: U64Array) -> tuple[U64Array, I64Array]:
    ordered = np.sort(values)
    if len(ordered) == 0:
        return ordered, np.empty(0, dtype=np.int64)
    starts = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))
    counts = np.diff(np.concatenate((starts, [len(ordered)]))).astype(np.int64)
    return ordered[starts], counts


def snapshot_space(
    signatures: Sequence[DocSignature], stats: Statistics, settings: DedupSettings
) -> EventSpace:
    """An `EventSpace` over `signatures` (built by its own constructor, so everything it derives
    from the items' features is its own) whose IDF-weighted parts use the snapshot's statistics
    instead of those of these few items: the TF-IDF rows (sublinear TF x smoothed IDF,
    L2-normalised, as `tfidf_matrix`), the event-term weights ((1 + log tf) x
    log((n + 1) / (df + 0.5)) x rarity prior) and the principal specifics (at their feature IDF).
    A term the snapshot never saw counts as seen once (the item itself). `pair_scores` and
    `pair_conflicts` are then the full grouping's over a corpus with the snapshot's statistics.
    tests/test_incremental_space.py checks that a snapshot of the items themselves gives
    `EventSpace`'s own scores: a change of the weighting there fails it.

    Hook wanted in newsclean.dedup.event_space: `EventSpace(..., statistics=...)`, so that the
    weighting lives in one place."""
    space = EventSpace(
        [(g.term_ids, g.term_counts) for g in signatures],
        # As `event_graph` builds it: each story's own `event_parts` (a copy of some of the parts
        # once left out the rare subjects and the headline flag, so an untitled story was never
        # barred from a headline's cluster here as it is in a full grouping).
        [g.event_parts() for g in signatures],
        overlap_offset=settings.event_overlap_offset,
        overlap_reference=settings.event_overlap_reference,
    )
    n_rows, n = len(signatures), max(stats.n_items, 1)
    if n_rows == 0:
        return space
    ids = [g.term_ids for g in signatures]
    all_ids = np.concatenate([*ids, np.empty(0, dtype=np.uint64)])
    if len(all_ids) == 0:
        return space
    # The constructor's columns are the sorted distinct ids of these items (`tfidf_matrix`).
    vocabulary = sorted_unique(all_ids)
    matrix = space.matrix
    if matrix.shape[1] != len(vocabulary):
        raise AssertionError("EventSpace's columns are no longer the items' sorted feature ids")
    doc_freq = np.maximum(stats.frequencies(vocabulary, events=False), 1).astype(np.float64)
    idf = np.log((1.0 + n) / (1.0 + doc_freq)) + 1.0
    data = np.concatenate([*(g.term_counts for g in signatures), np.empty(0, dtype=np.uint32)]).astype(
        np.float64
    )
    np.log(data, out=data)
    data += 1.0
    data *= idf[matrix.indices]
    lengths = np.diff(matrix.indptr)
    rows = np.repeat(np.arange(n_rows), lengths)
    norms = np.sqrt(np.bincount(rows, weights=data * data, minlength=n_rows))
    data /= np.where(norms > 0, norms, 1.0)[rows]
    matrix.data[:] = data
    # Event terms.
    event_cols = [g.event_at.astype(np.int64) for g in signatures]
    sizes = np.fromiter((len(e) for e in event_cols), dtype=np.int64, count=n_rows)
    if sizes.sum():
        event_ids = np.concatenate([g.term_ids[e] for g, e in zip(signatures, event_cols, strict=True)])
        frequencies = np.concatenate(
            [g.term_counts[e] for g, e in zip(signatures, event_cols, strict=True)]
        ).astype(np.float64)
        priors = np.concatenate([g.event_priors for g in signatures])
        event_vocabulary = sorted_unique(event_ids)
        cols = np.searchsorted(event_vocabulary, event_ids)
        event_rows = np.repeat(np.arange(n_rows, dtype=np.int64), sizes)
        event_df = np.maximum(stats.frequencies(event_vocabulary, events=True), 1).astype(np.float64)
        values = (1.0 + np.log(frequencies)) * np.log((n + 1) / (event_df + 0.5))[cols] * priors
        positive = values > 0
        space.term_matrix = sparse.csr_matrix(
            (values[positive], (event_rows[positive], cols[positive])),
            shape=(n_rows, len(event_vocabulary)),
            dtype=np.float64,
        )
        space.term_matrix.sort_indices()
        space.totals = np.asarray(space.term_matrix.sum(axis=1), dtype=np.float64).ravel()
        space.event_vocabulary = event_vocabulary
    # Principal specifics, at their feature IDF (the constructor's entries, re-weighted).
    principal = space.principal_matrix
    principal.data[:] = np.log((n + 1) / (doc_freq[principal.indices] + 0.5))
    space.principal_totals = np.asarray(principal.sum(axis=1), dtype=np.float64).ravel()
    # The subject: of a story's subject names, the rarest in the corpus (the snapshot's).
    space.subject_matrix = _row_maxima(
        _principal_matrix(matrix, [g.subject_at for g in signatures], doc_freq, n)
    )
    # The rare ones among them (`rare_subject_at`), chosen the same way: an untitled story must
    # name a headline's rarest of these to share its cluster (`pair_disagreements`).
    space.rare_subject_matrix = _row_maxima(
        _principal_matrix(matrix, [g.rare_subject_at for g in signatures], doc_freq, n)
    )
    return space


def topic_signatures(space: EventSpace, settings: DedupSettings) -> U32Array:
    """Each item's MinHash of its top TF-IDF features (the full grouping's topical index)."""
    hasher = MinHasher(settings.event_num_perm, settings.seed + 2)
    return hasher.signatures(space.top_terms(settings.topic_terms_per_doc))


# --- The LSH index ------------------------------------------------------------------------------


def band_keys(signatures: np.ndarray, threshold: float) -> U64Array:
    """(n, bands) keys: each band's key as `newsclean.dedup.lsh` makes it, mixed with the band's
    number so that one sorted array holds every band (a collision only adds a candidate)."""
    n, num_perm = signatures.shape
    b, r = bands_for(threshold, num_perm)
    out = np.empty((n, b), dtype=np.uint64)
    for band in range(b):
        out[:, band] = _band_keys(signatures, band * r, r) ^ np.uint64(((band + 1) * _BAND_MIX) % 2**64)
    return out


@dataclass(frozen=True)
class BandIndex:
    """An LSH index kept between runs: every band key of every item, sorted, with the item
    (a row number of the caller's) and its neighbourhood order (publication day) beside it.

    `lookup` gives a new signature the items sharing a band with it, as `candidate_codes` pairs
    them: all of a bucket up to `bucket_cap`, else the `bucket_cap // 2` nearest in day order on
    either side (the sorted-neighbourhood rule of an oversized bucket)."""

    keys: U64Array
    rows: npt.NDArray[np.int32]
    order: npt.NDArray[np.int32]

    @classmethod
    def empty(cls) -> BandIndex:
        return cls(np.empty(0, dtype=np.uint64), np.empty(0, dtype=np.int32), np.empty(0, dtype=np.int32))

    @classmethod
    def build(cls, signatures: np.ndarray, threshold: float, rows: I64Array, order: I64Array) -> BandIndex:
        if len(signatures) == 0:
            return cls.empty()
        active = ~np.all(signatures == EMPTY_HASH, axis=1)
        keys = band_keys(signatures[active], threshold)
        b = keys.shape[1]
        flat_keys = keys.ravel()
        # 32-bit rows and days: the index is the largest part of what a run keeps.
        flat_rows = np.repeat(np.asarray(rows, dtype=np.int32)[active], b)
        flat_order = np.repeat(np.asarray(order, dtype=np.int32)[active], b)
        by = np.lexsort((flat_rows, flat_order, flat_keys))
        return cls(flat_keys[by], flat_rows[by], flat_order[by])

    def merged(self, other: BandIndex) -> BandIndex:
        keys = np.concatenate((self.keys, other.keys))
        rows = np.concatenate((self.rows, other.rows))
        order = np.concatenate((self.order, other.order))
        by = np.lexsort((rows, order, keys))
        return BandIndex(keys[by], rows[by], order[by])

    def __len__(self) -> int:
        return len(self.keys)

    def lookup(
        self, signatures: np.ndarray, threshold: float, order: I64Array, bucket_cap: int
    ) -> tuple[I64Array, I64Array]:
        """(query number, item row) of every candidate of each query signature."""
        none = (np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64))
        if len(signatures) == 0 or len(self.keys) == 0:
            return none
        active = np.flatnonzero(~np.all(signatures == EMPTY_HASH, axis=1))
        if len(active) == 0:
            return none
        keys = band_keys(signatures[active], threshold)
        b = keys.shape[1]
        query = np.repeat(active, b)
        flat = keys.ravel()
        lo = np.searchsorted(self.keys, flat, side="left")
        hi = np.searchsorted(self.keys, flat, side="right")
        count = hi - lo
        if bucket_cap > 0:
            big = np.flatnonzero(count + 1 > bucket_cap)
            half = max(bucket_cap // 2, 1)
            for k in big.tolist():  # rare: oversized buckets
                first, last = int(lo[k]), int(hi[k])
                at = first + int(np.searchsorted(self.order[first:last], order[query[k]], side="left"))
                lo[k], hi[k] = max(first, at - half), min(last, at + half)
            count = hi - lo
        total = int(count.sum())
        if total == 0:
            return none
        starts = np.repeat(lo, count)
        offsets = np.arange(total) - np.repeat(np.cumsum(count) - count, count)
        return np.repeat(query, count), self.rows[starts + offsets].astype(np.int64)


# --- Clustering blocks --------------------------------------------------------------------------


def fresh_labels(n_items: int, edges: Edges, days: I64Array, settings: DedupSettings) -> I64Array:
    """The full grouping's clustering of items (`EventGraph._cluster`): average linkage at the
    cut and span cap, then the lone-story fit."""
    cut, span = settings.linkage_threshold, settings.event_span_days
    labels = average_linkage(n_items, edges, cut, days, span)
    return np.asarray(
        attach_lone_items(labels, edges, cut, settings.lone_story_fit, days, span), dtype=np.int64
    )


def settle(old: I64Array, edges: Edges, days: I64Array, settings: DedupSettings) -> I64Array:
    """Final labels of items, some in earlier clusters (`old[i]`, a number per earlier cluster;
    -1 for a new item): new items go where the full grouping's clustering of all the items
    (`fresh_labels`) puts them, and earlier clusters never split.

    The fresh clusters are matched to the earlier ones by largest overlap: an earlier cluster
    belongs to the fresh cluster that holds most of its items, if that is more than half of
    them. A fresh cluster's new items join the earlier clusters that belong to it, which merge
    if there are several; with none, they make a new cluster. An earlier cluster keeps all its
    items wherever the fresh clustering puts a few of them.

    Why not cluster the earlier clusters as blocks (average linkage merging whole blocks): clusters formed
    before all of an event's coverage arrived then take in a neighbouring event's first story,
    and every later story of that event follows it in, since nothing can take it out again. On
    events-dev replayed in 20 batches that cost 0.07 of pairwise precision (docs/tuning.md)."""
    n = len(old)
    fresh = fresh_labels(n, edges, days, settings)
    inside = np.flatnonzero(old >= 0)
    overlap: dict[tuple[int, int], int] = defaultdict(int)
    size: dict[int, int] = defaultdict(int)
    for i in inside.tolist():
        overlap[(int(fresh[i]), int(old[i]))] += 1
        size[int(old[i])] += 1
    best: dict[int, tuple[int, int]] = {}  # earlier cluster -> (items in, fresh label)
    for (q, c), k in sorted(overlap.items()):
        if c not in best or k > best[c][0]:
            best[c] = (k, q)
    belongs = {c: q for c, (k, q) in best.items() if 2 * k > size[c]}
    labels = np.empty(n, dtype=np.int64)
    for i in range(n):
        c = int(old[i])
        if c < 0:
            labels[i] = fresh[i]
        else:
            q = belongs.get(c, -1)
            labels[i] = q if q >= 0 else n + c
    return _without_cannot_links(labels, old, edges)


def _without_cannot_links(labels: I64Array, old: I64Array, edges: Edges) -> I64Array:
    """`labels` where no cluster holds both ends of a cannot-link, the full grouping's rule
    (average linkage never merges across one, a lone story never joins a cluster that holds
    one). The fresh clustering keeps it among the items it puts together, but an earlier cluster
    joins a fresh one whole, so its items the fresh clustering put elsewhere come along: a new
    story, or another earlier cluster, barred from one of them must then stay apart. A clashing
    cluster is made again from its parts (earlier clusters whole, largest first, then the new
    items in order): each part goes with the first group it has no cannot-link with, else
    starts one. Earlier clusters never split."""
    barred = edges.weights == CANNOT_LINK
    if not barred.any():
        return labels
    one, two = edges.pairs[barred, 0], edges.pairs[barred, 1]
    clashing = np.unique(labels[one][labels[one] == labels[two]])
    if len(clashing) == 0:
        return labels
    out = labels.copy()
    bars: dict[int, set[int]] = defaultdict(set)
    for a, b in zip(one.tolist(), two.tolist(), strict=True):
        bars[a].add(b)
        bars[b].add(a)
    next_label = int(labels.max()) + 1
    for label in clashing.tolist():
        items = np.flatnonzero(labels == label).tolist()
        blocks: dict[int, list[int]] = defaultdict(list)
        for i in items:
            blocks[int(old[i])].append(i)
        parts = sorted((b for c, b in blocks.items() if c >= 0), key=lambda b: (-len(b), b[0]))
        parts += [[i] for i in blocks.get(-1, [])]
        groups: list[tuple[set[int], set[int]]] = []  # (items, the items they cannot link with)
        for part in parts:
            for members, barred_from in groups:
                if barred_from.isdisjoint(part):
                    members.update(part)
                    barred_from.update(*(bars[i] for i in part))
                    break
            else:
                groups.append((set(part), set().union(*(bars[i] for i in part))))
        for k, (members, _) in enumerate(groups):
            if k:
                out[sorted(members)] = next_label
                next_label += 1
    return out


# --- The model a run leaves for the next --------------------------------------------------------


def day_of(published: str | None) -> int:
    """A publication date's day ordinal, -1 when missing or unreadable (as the full grouping)."""
    if not published:
        return -1
    try:
        return date.fromisoformat(published[:10]).toordinal()
    except ValueError:
        return -1


class StatisticsBuilder:
    """`Statistics.of` over a stream of signatures without holding them: each exact-copy key's
    first signature counts (copies of one text have the same features), counted a chunk at a
    time and folded into running totals."""

    _CHUNK = 4096

    def __init__(self) -> None:
        self._seen: set[str] = set()
        self._features: list[U64Array] = []
        self._events: list[U64Array] = []
        self._totals: dict[bool, tuple[U64Array, I64Array]] = {}
        self.n_items = 0

    def add(self, signature: DocSignature) -> None:
        if signature.exact_key in self._seen:
            return
        self._seen.add(signature.exact_key)
        self.n_items += 1
        self._features.append(np.array(signature.term_ids))
        self._events.append(np.array(signature.term_ids[signature.event_at]))
        if len(self._features) >= self._CHUNK:
            self._fold()

    def _fold(self) -> None:
        for events, parts in ((False, self._features), (True, self._events)):
            if not parts:
                continue
            ids, counts = _counted(np.concatenate(parts))
            if events in self._totals:
                old_ids, old_counts = self._totals[events]
                both = np.concatenate((old_ids, ids))
                weights = np.concatenate((old_counts, counts))
                order = np.argsort(both, kind="stable")
                both, weights = both[order], weights[order]
                starts = np.flatnonzero(np.concatenate(([True], both[1:] != both[:-1])))
                ids, counts = both[starts], np.add.reduceat(weights, starts).astype(np.int64)
            self._totals[events] = (ids, counts)
            parts.clear()

    def finish(self) -> Statistics:
        self._fold()
        empty = (np.empty(0, dtype=np.uint64), np.empty(0, dtype=np.int64))
        features, events = self._totals.get(False, empty), self._totals.get(True, empty)
        return Statistics(self.n_items, features[0], features[1], events[0], events[1])


INDEXES = ("near", "salient", "topic")


def index_threshold(name: str, settings: DedupSettings) -> float:
    return {
        "near": settings.near_lsh_threshold,
        "salient": settings.event_lsh_threshold,
        "topic": settings.topic_lsh_threshold,
    }[name]


@dataclass
class GroupingModel:
    """The grouping as the last run left it, for the next run to add to.

    Rows of documents, units (exact and near copies of one text) and clusters keep their numbers
    until the next full grouping or refresh; a row that is gone is marked dead. Documents: id,
    where its result is stored (path, seq), unit, words, publication date, exact-copy key and,
    for a unit's scoring document, its byte sketch (`byte_sketch` of its salient and topical
    signatures). Units: scoring document (the longest), cluster, earliest day, best raw scores
    (their mean is the crowd level). Clusters: id, the run that made it, canonical document.
    Edges between units. `stats` and the `base` LSH indexes are the snapshot (rewritten only
    by a full grouping or a refresh); `delta` indexes the documents added since."""

    doc_id: list[str]
    doc_path: list[str]
    doc_seq: list[int]
    doc_unit: list[int]
    doc_words: list[int]
    doc_published: list[str | None]
    doc_exact: list[str]
    doc_alive: list[bool]
    doc_sketch: npt.NDArray[np.uint64]
    unit_rep: list[int]
    unit_cluster: list[int]
    unit_day: list[int]
    unit_alive: list[bool]
    unit_best: F64Array
    cluster_id: list[str]
    cluster_born: list[int]
    cluster_alive: list[bool]
    cluster_canonical: list[str]
    edges_a: npt.NDArray[np.int32]
    edges_b: npt.NDArray[np.int32]
    edges_w: F64Array
    stats: Statistics
    base: dict[str, BandIndex]
    delta: dict[str, BandIndex]
    run: int = 0
    snapshot_run: int = 0
    snapshot_docs: int = 0
    snapshot_time: str = ""
    since_snapshot: int = 0  # documents added since the snapshot
    # Outlet repeated lines of the snapshot; the quarantine records of documents they emptied.
    frequent: dict[str, list[int]] = field(default_factory=dict)
    emptied: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Ids issued since the last full grouping that no cluster holds any more (retired by a merge
    # or emptied): never issued again, or a reader following `merges.jsonl` would be misled.
    retired_ids: list[str] = field(default_factory=list)
    # Each scoring document's rows under the snapshot (`newsclean.dedup.rows`): segment names,
    # per document row its segment and row there, ids first seen since the snapshot.
    row_segments: list[str] = field(default_factory=list)
    doc_segment: list[int] = field(default_factory=list)
    doc_offset: list[int] = field(default_factory=list)
    extra_features: list[int] = field(default_factory=list)
    extra_events: list[int] = field(default_factory=list)
    snapshot_segment: str = ""  # the row segment that holds the snapshot (`base_arrays`)
    rows_root: Path | None = None  # where the segments are
    # The open segment `stats` and `base` are mapped from: the row store reads and releases it.
    snapshot_source: InitVar[RowSegment | None] = None

    def __post_init__(self, snapshot_source: RowSegment | None) -> None:
        self.row_of = {d: i for i, d in enumerate(self.doc_id) if self.doc_alive[i]}
        stats = self.stats
        columns = Columns(stats.feature_ids, stats.event_ids, self.extra_features, self.extra_events)
        opened = [snapshot_source] if snapshot_source is not None else []
        self.rows = RowStore(
            columns, self.row_segments, self.doc_segment, self.doc_offset, self.rows_root, opened
        )
        self.rows.grow(len(self.doc_id))

    @property
    def live_docs(self) -> int:
        return len(self.row_of)

    def documents_of(self, paths: Iterable[str]) -> frozenset[str]:
        """The ids of the live documents stored from these raw files."""
        wanted = set(paths)
        return frozenset(self.doc_id[r] for r in self.row_of.values() if self.doc_path[r] in wanted)

    def base_arrays(self) -> dict[str, np.ndarray]:
        """The snapshot: statistics and base LSH indexes (kept in the snapshot's row segment,
        `RowBlock.save(..., extra=...)`, and mapped when read: `from_bytes`)."""
        arrays = dict(self.stats.arrays())
        for name, index in self.base.items():
            arrays |= {f"{name}_keys": index.keys, f"{name}_rows": index.rows, f"{name}_order": index.order}
        return arrays

    def live_bytes(self) -> bytes:
        """The rows, compacted of nothing (dead rows stay until a refresh); dead units' edges dropped."""
        alive = np.asarray(self.unit_alive, dtype=bool)
        keep = alive[self.edges_a] & alive[self.edges_b] if len(self.edges_a) else np.zeros(0, dtype=bool)
        arrays: dict[str, np.ndarray] = {
            "doc_seq": np.asarray(self.doc_seq, dtype=np.int64),
            "doc_unit": np.asarray(self.doc_unit, dtype=np.int64),
            "doc_words": np.asarray(self.doc_words, dtype=np.int64),
            "doc_alive": np.asarray(self.doc_alive, dtype=bool),
            "doc_sketch": self.doc_sketch,
            "unit_rep": np.asarray(self.unit_rep, dtype=np.int64),
            "unit_cluster": np.asarray(self.unit_cluster, dtype=np.int64),
            "unit_day": np.asarray(self.unit_day, dtype=np.int64),
            "unit_alive": alive,
            "unit_best": self.unit_best,
            "cluster_born": np.asarray(self.cluster_born, dtype=np.int64),
            "cluster_alive": np.asarray(self.cluster_alive, dtype=bool),
            "edges_a": self.edges_a[keep],
            "edges_b": self.edges_b[keep],
            "edges_w": self.edges_w[keep],
            "doc_segment": np.asarray(self.doc_segment, dtype=np.int32),
            "doc_offset": np.asarray(self.doc_offset, dtype=np.int32),
            "extra_features": np.asarray(self.extra_features, dtype=np.uint64),
            "extra_events": np.asarray(self.extra_events, dtype=np.uint64),
        }
        for name, index in self.delta.items():
            arrays |= {f"{name}_keys": index.keys, f"{name}_rows": index.rows, f"{name}_order": index.order}
        strings = {
            "doc_id": self.doc_id,
            "doc_path": self.doc_path,
            "doc_published": self.doc_published,
            "doc_exact": self.doc_exact,
            "cluster_id": self.cluster_id,
            "cluster_canonical": self.cluster_canonical,
            "run": self.run,
            "snapshot_run": self.snapshot_run,
            "snapshot_docs": self.snapshot_docs,
            "snapshot_time": self.snapshot_time,
            "since_snapshot": self.since_snapshot,
            "frequent": self.frequent,
            "emptied": self.emptied,
            "retired_ids": self.retired_ids,
            "row_segments": self.row_segments,
        }
        arrays["strings"] = np.frombuffer(json.dumps(strings).encode("utf-8"), dtype=np.uint8)
        return _save(arrays)

    @classmethod
    def from_bytes(cls, base: bytes, live: bytes, rows_root: Path) -> GroupingModel:
        """The model a run left: `base` names the snapshot's row segment in `rows_root` (its
        statistics and base indexes are mapped from there), `live` is `live_bytes`."""
        snapshot = RowSegment.open(rows_root / base.decode("utf-8"))
        b = snapshot.arrays("snapshot.")
        a = _load(live)
        s = json.loads(a["strings"].tobytes().decode("utf-8"))

        def index(arrays: dict[str, np.ndarray], name: str) -> BandIndex:
            return BandIndex(arrays[f"{name}_keys"], arrays[f"{name}_rows"], arrays[f"{name}_order"])

        return cls(
            doc_id=s["doc_id"],
            doc_path=s["doc_path"],
            doc_seq=a["doc_seq"].tolist(),
            doc_unit=a["doc_unit"].tolist(),
            doc_words=a["doc_words"].tolist(),
            doc_published=s["doc_published"],
            doc_exact=s["doc_exact"],
            doc_alive=a["doc_alive"].tolist(),
            doc_sketch=a["doc_sketch"],
            unit_rep=a["unit_rep"].tolist(),
            unit_cluster=a["unit_cluster"].tolist(),
            unit_day=a["unit_day"].tolist(),
            unit_alive=a["unit_alive"].tolist(),
            unit_best=a["unit_best"],
            cluster_id=s["cluster_id"],
            cluster_born=a["cluster_born"].tolist(),
            cluster_alive=a["cluster_alive"].tolist(),
            cluster_canonical=s["cluster_canonical"],
            edges_a=a["edges_a"],
            edges_b=a["edges_b"],
            edges_w=a["edges_w"],
            stats=Statistics.from_arrays(b),
            base={name: index(b, name) for name in INDEXES},
            delta={name: index(a, name) for name in INDEXES},
            run=s["run"],
            snapshot_run=s["snapshot_run"],
            snapshot_docs=s["snapshot_docs"],
            snapshot_time=s["snapshot_time"],
            since_snapshot=s["since_snapshot"],
            frequent={k: list(v) for k, v in s["frequent"].items()},
            emptied=s["emptied"],
            retired_ids=s["retired_ids"],
            row_segments=list(s["row_segments"]),
            doc_segment=a["doc_segment"].tolist(),
            doc_offset=a["doc_offset"].tolist(),
            extra_features=a["extra_features"].tolist(),
            extra_events=a["extra_events"].tolist(),
            snapshot_segment=base.decode("utf-8"),
            rows_root=rows_root,
            snapshot_source=snapshot,
        )


def _save(arrays: Mapping[str, np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, allow_pickle=False, **arrays)
    return buffer.getvalue()


def _load(data: bytes) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(data), allow_pickle=False) as loaded:
        return {k: loaded[k] for k in loaded.files}


# --- The incremental step -----------------------------------------------------------------------


@dataclass(frozen=True)
class Arrival:
    """A document new to the grouping (from a new or changed file), with where it is stored."""

    doc: DedupDoc
    signature: DocSignature
    path: str
    seq: int


@dataclass
class Changes:
    """What an incremental step changed, for the writer and the run summary.

    `assignments`: the documents whose line must be (re)written (new ones, and old ones whose
    cluster, canonical, relation or copy group changed); `clusters`: ids of the live clusters
    whose canonical row changes, with `members` (document ids) of each; `retired`: (retired id,
    surviving id or None when the cluster was left empty); `departed`: documents that left."""

    assignments: dict[str, Assignment] = field(default_factory=dict)
    clusters: dict[str, list[str]] = field(default_factory=dict)
    retired: list[tuple[str, str | None]] = field(default_factory=list)
    departed: set[str] = field(default_factory=set)
    counts: dict[str, int] = field(default_factory=dict)


SignatureReader = Callable[[Sequence[int]], Sequence[DocSignature]]


def _stack(rows: Sequence[np.ndarray], width: int) -> np.ndarray:
    return np.stack(rows) if rows else np.empty((0, width), dtype=np.uint32)


def new_cluster_id(doc_id: str, used: set[str]) -> str:
    """`c_<canonical id>` as the full grouping names a cluster, made unique against every id
    used before (a changed file's document comes back with its id while its old cluster lives)."""
    name, k = f"c_{doc_id}", 1
    while name in used:
        k += 1
        name = f"c_{doc_id}.{k}"
    used.add(name)
    return name


class _Step:
    """One `add_documents` call's working state."""

    def __init__(
        self, model: GroupingModel, read: SignatureReader, settings: DedupSettings, run: int
    ) -> None:
        self.m, self.s, self.run = model, settings, run
        self._read = read
        self.cache: dict[int, DocSignature] = {}
        m = model
        self.unit_docs: dict[int, list[int]] = defaultdict(list)
        for row, unit in enumerate(m.doc_unit):
            if m.doc_alive[row]:
                self.unit_docs[unit].append(row)
        self.cluster_units: dict[int, list[int]] = defaultdict(list)
        for unit, cluster in enumerate(m.unit_cluster):
            if m.unit_alive[unit]:
                self.cluster_units[cluster].append(unit)
        self.exact_of = {m.doc_exact[r]: r for r in m.row_of.values()}
        self.used_ids = set(m.cluster_id) | set(m.retired_ids)
        self.touched: set[int] = set()  # cluster rows whose canonical row changes
        self.reassign: set[int] = set()  # document rows whose line changes
        self.retired: list[tuple[int, int | None]] = []
        self.old_cluster_of_doc: dict[int, int] = {}

    def signatures(self, rows: Iterable[int]) -> dict[int, DocSignature]:
        wanted = sorted({r for r in rows if r not in self.cache})
        if wanted:
            self.cache.update(zip(wanted, self._read(wanted), strict=True))
        return self.cache

    def rows(self, doc_rows: Sequence[int], *, near_only: bool = False) -> RowBlock:
        """The scoring rows of these documents, in order (`newsclean.dedup.rows`); a document
        without stored rows (an exact copy's twin that now scores its unit) is weighed from its
        signature and kept with this run's rows."""
        store = self.m.rows
        missing = store.without_rows(doc_rows)
        if missing:
            self.add_rows(missing, [self.signatures(missing)[r] for r in missing])
        return store.gather(doc_rows, near_only=near_only)

    def add_rows(
        self, doc_rows: Sequence[int], signatures: Sequence[DocSignature], space: EventSpace | None = None
    ) -> None:
        """Keep the scoring rows of these documents (weighed with the snapshot; `space` when
        the caller already made it over these signatures)."""
        s = self.s
        space = space if space is not None else snapshot_space(signatures, self.m.stats, s)
        near = _stack([g.near for g in signatures], s.near_num_perm)
        shingles = np.asarray([g.n_shingles for g in signatures], dtype=np.int64)
        self.m.rows.add(doc_rows, RowBlock.of_space(space, self.m.rows.columns, near, shingles))

    def space(self, doc_rows: Sequence[int]) -> EventSpace:
        """A scoring space over these documents' rows (row k: doc_rows[k])."""
        return self.rows(doc_rows).space(
            self.m.rows.columns,
            overlap_offset=self.s.event_overlap_offset,
            overlap_reference=self.s.event_overlap_reference,
        )

    def dedup_doc(self, row: int) -> DedupDoc:
        return DedupDoc(self.m.doc_id[row], "", None, self.m.doc_published[row], None)

    def canonical_row(self, rows: Sequence[int]) -> int:
        lengths = {self.m.doc_id[r]: self.m.doc_words[r] for r in rows}
        best = _canonical([self.dedup_doc(r) for r in rows], lengths)
        return self.m.row_of[best.id]

    # Departures --------------------------------------------------------------------------------

    def depart(self, doc_ids: Iterable[str]) -> None:
        m = self.m
        for doc_id in sorted(doc_ids):
            row = m.row_of.pop(doc_id, None)
            if row is None:
                continue
            m.doc_alive[row] = False
            unit = m.doc_unit[row]
            self.unit_docs[unit].remove(row)
            cluster = m.unit_cluster[unit]
            self.touched.add(cluster)
            if self.exact_of.get(m.doc_exact[row]) == row:
                del self.exact_of[m.doc_exact[row]]
                for other in self.unit_docs[unit]:
                    if m.doc_exact[other] == m.doc_exact[row]:
                        self.exact_of[m.doc_exact[other]] = other
                        break
            if self.unit_docs[unit]:
                if m.unit_rep[unit] == row:
                    m.unit_rep[unit] = self.canonical_row(self.unit_docs[unit])
                self.reassign.update(self.unit_docs[unit])  # their copy group changed
                continue
            m.unit_alive[unit] = False
            self.cluster_units[cluster].remove(unit)
            if not self.cluster_units[cluster]:
                m.cluster_alive[cluster] = False
                self.retired.append((cluster, None))

    # Arrivals ----------------------------------------------------------------------------------

    def arrive(self, arrivals: Sequence[Arrival]) -> list[int]:
        m = self.m
        rows: list[int] = []
        width = m.doc_sketch.shape[1] if m.doc_sketch.ndim == 2 else 0
        for a in sorted(arrivals, key=lambda x: x.doc.id):
            if a.doc.id in m.row_of:
                raise ValueError(f"document ids must be unique: {a.doc.id!r} twice")
            row = len(m.doc_id)
            m.doc_id.append(a.doc.id)
            m.doc_path.append(a.path)
            m.doc_seq.append(a.seq)
            m.doc_unit.append(-1)
            m.doc_words.append(a.signature.n_words)
            m.doc_published.append(a.doc.published)
            m.doc_exact.append(a.signature.exact_key)
            m.doc_alive.append(True)
            m.row_of[a.doc.id] = row
            self.cache[row] = a.signature
            rows.append(row)
        m.doc_sketch = np.vstack((m.doc_sketch, np.zeros((len(rows), width), dtype=np.uint64)))
        return rows


def add_documents(
    model: GroupingModel,
    arrivals: Sequence[Arrival],
    departures: Iterable[str],
    read_signatures: SignatureReader,
    settings: DedupSettings,
    run: int,
) -> Changes:
    """Take documents out of the grouping and put new ones in, by the full grouping's rules,
    without splitting any cluster (module docstring). `read_signatures(rows)` gives the stored
    signatures of model document rows. The model is updated in place."""
    s = settings
    step = _Step(model, read_signatures, s, run)
    m = model
    m.run = run
    departing = set(departures)
    step.depart(departing)
    new_rows = step.arrive(arrivals)
    counts = {"new": len(new_rows), "joined": 0, "merged": 0, "new_clusters": 0, "canonical_changed": 0}

    # 1. Exact copies of a live document join its unit; the others search for candidates.
    exact_join: dict[int, int] = {}
    reps_new: list[int] = []
    for row in new_rows:
        other = step.exact_of.get(m.doc_exact[row])
        if other is not None:
            exact_join[row] = other
        else:
            step.exact_of[m.doc_exact[row]] = row
            reps_new.append(row)
    n_new = len(reps_new)
    new_sigs = [step.cache[r] for r in reps_new]
    order_new = np.asarray([_order(m.doc_published[r]) for r in reps_new], dtype=np.int64)
    near_new = _stack([g.near for g in new_sigs], s.near_num_perm)
    salient_new = _stack([g.salient for g in new_sigs], s.event_num_perm)
    space_new = snapshot_space(new_sigs, m.stats, s)
    if n_new:
        step.add_rows(reps_new, new_sigs, space_new)
    topic_new = topic_signatures(space_new, s) if s.topic_terms_per_doc and n_new else None
    sketch_sources = [salient_new] + ([topic_new] if topic_new is not None else [])
    if n_new:
        m.doc_sketch[np.asarray(reps_new)] = byte_sketch(np.hstack(sketch_sources))
    fresh = {
        "near": BandIndex.build(near_new, s.near_lsh_threshold, np.asarray(reps_new), order_new),
        "salient": BandIndex.build(salient_new, s.event_lsh_threshold, np.asarray(reps_new), order_new),
        "topic": BandIndex.build(topic_new, s.topic_lsh_threshold, np.asarray(reps_new), order_new)
        if topic_new is not None
        else BandIndex.empty(),
    }
    alive = np.asarray(m.doc_alive, dtype=bool)
    rep_array = np.asarray(reps_new, dtype=np.int64)

    def look(name: str, signatures: np.ndarray | None) -> tuple[I64Array, I64Array]:
        if signatures is None or n_new == 0:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
        threshold = index_threshold(name, s)
        found = [
            index.lookup(signatures, threshold, order_new, s.lsh_bucket_cap)
            for index in (m.base[name], m.delta[name], fresh[name])
        ]
        query = np.concatenate([f[0] for f in found])
        rows = np.concatenate([f[1] for f in found])
        keep = alive[rows] & (rows != rep_array[query])
        return query[keep], rows[keep]

    near_q, near_r = look("near", near_new)
    sal_q, sal_r = look("salient", salient_new)
    top_q, top_r = look("topic", topic_new)
    m.rows.release()

    # Local items: the new representatives first, then every old candidate.
    found_rows = np.unique(np.concatenate((near_r, sal_r, top_r)))
    old_rows = found_rows[~np.isin(found_rows, rep_array)]
    items = reps_new + old_rows.tolist()
    item_array = np.asarray(items, dtype=np.int64)
    n_items = len(items)
    local_of = np.full(len(m.doc_id), -1, dtype=np.int64)  # a document row's local item
    local_of[item_array] = np.arange(n_items)

    def to_local(rows: I64Array) -> I64Array:
        return local_of[rows]

    def codes_of(q: I64Array, r: I64Array) -> I64Array:
        if len(q) == 0:
            return np.empty(0, dtype=np.int64)
        a, b = q.astype(np.int64), to_local(r)
        return sorted_unique(np.minimum(a, b) * n_items + np.maximum(a, b))

    event_codes = sorted_unique(np.concatenate((codes_of(sal_q, sal_r), codes_of(top_q, top_r))))
    if s.event_candidates_per_story and len(event_codes):
        sketch = m.doc_sketch[np.asarray(items)]
        strength = sketch_agreement(event_codes, n_items, sketch)
        rank = np.asarray([_order(m.doc_published[r]) for r in items], dtype=np.int64)
        # Only the new stories choose: an earlier story chose its strongest candidates when it
        # came; asked again, it would rank the new ones alone, all of them among its "strongest"
        # (six times the pairs at 100k, for a replay within 0.001: docs/tuning.md).
        choosing = np.arange(n_items) < n_new
        per_story = s.event_candidates_per_story
        event_codes = event_codes[top_candidates(event_codes, n_items, strength, rank, per_story, choosing)]
    checked_codes = sorted_unique(np.concatenate((codes_of(near_q, near_r), event_codes)))
    checked = np.stack((checked_codes // max(n_items, 1), checked_codes % max(n_items, 1)), axis=1)
    event_pairs = np.stack((event_codes // max(n_items, 1), event_codes % max(n_items, 1)), axis=1)

    # 2. Copies (the full grouping's test): a new story that copies an old one joins its unit.
    copy_of: dict[int, list[int]] = defaultdict(list)  # new local item -> local items it copies
    if len(checked):
        width = s.near_num_perm
        near_local = np.zeros((n_items, width), dtype=np.uint32)
        sizes = np.zeros(n_items, dtype=np.float64)
        in_checked = np.unique(checked)
        for lo in range(0, len(in_checked), _ROWS_PER_GATHER):
            chunk = in_checked[lo : lo + _ROWS_PER_GATHER]
            found = step.rows(item_array[chunk].tolist(), near_only=True)
            near_local[chunk] = found.near
            sizes[chunk] = found.n_shingles
            m.rows.release()
        plausible = checked[_plausible_copies(checked, near_local, sizes, s)]
        del near_local
        sigs = step.signatures(items[i] for i in set(plausible.ravel().tolist()))
        sets = {i: shingle_set(sigs[items[i]].shingles) for i in set(plausible.ravel().tolist())}
        if len(plausible):
            shared = np.asarray(
                [len(np.intersect1d(sets[a], sets[b], assume_unique=True)) for a, b in plausible.tolist()]
            )
            size_a = np.asarray([len(sets[a]) for a in plausible[:, 0].tolist()])
            size_b = np.asarray([len(sets[b]) for b in plausible[:, 1].tolist()])
            copies = _copies(shared, size_a, size_b, s)
            # A template filled in for another subject is no copy (the full grouping's rule).
            checked_items = sorted(set(plausible.ravel().tolist()))
            at = {i: k for k, i in enumerate(checked_items)}
            subjects = step.space([items[i] for i in checked_items])
            pairs_at = np.asarray([(at[a], at[b]) for a, b in plausible.tolist()], dtype=np.int64)
            copies &= ~subjects.pair_disagreements(pairs_at[:, 0], pairs_at[:, 1])
            del subjects
            m.rows.release()
            checked_days = np.asarray(
                [day_of(m.doc_published[items[i]]) for i in checked_items], dtype=np.int64
            )
            copies &= ~apart_in_time(checked_days, pairs_at, s)
            for a, b in plausible[copies].tolist():
                copy_of[a].append(b)
                copy_of[b].append(a)
    # Components of copies among the new representatives and the old items they copy.
    parent = list(range(n_items))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a, others in copy_of.items():
        for b in others:
            ra, rb = find(a), find(b)
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
    components: dict[int, list[int]] = defaultdict(list)
    for i in range(n_items):
        if i < n_new or i in copy_of:
            components[find(i)].append(i)
    bridges: list[tuple[int, int]] = []  # old clusters one new text copies: they must merge
    new_units: list[int] = []
    grown_units: set[int] = set()
    for members in components.values():
        new_members = [items[i] for i in members if i < n_new]
        if not new_members:
            continue
        old_units = sorted({m.doc_unit[items[i]] for i in members if i >= n_new})
        if old_units:
            unit = old_units[0]
            clusters = sorted({m.unit_cluster[u] for u in old_units})
            bridges.extend((clusters[0], c) for c in clusters[1:])
            grown_units.add(unit)
        else:
            unit = len(m.unit_rep)
            m.unit_rep.append(new_members[0])
            m.unit_cluster.append(-1)
            m.unit_day.append(-1)
            m.unit_alive.append(True)
            new_units.append(unit)
        for row in new_members:
            m.doc_unit[row] = unit
            step.unit_docs[unit].append(row)
    for row, other in exact_join.items():
        unit = m.doc_unit[other]
        m.doc_unit[row] = unit
        step.unit_docs[unit].append(row)
        if unit not in new_units:
            grown_units.add(unit)
    for unit in [*new_units, *sorted(grown_units)]:
        docs = step.unit_docs[unit]
        rep = step.canonical_row(docs)
        if unit in grown_units and rep != m.unit_rep[unit]:
            step.reassign.update(docs)  # the copy group's canonical changed
        m.unit_rep[unit] = rep
        days = [d for d in (day_of(m.doc_published[r]) for r in docs) if d >= 0]
        m.unit_day[unit] = min(days) if days else -1
    if new_units:
        k = m.unit_best.shape[1] if m.unit_best.ndim == 2 else max(s.event_crowd_neighbours, 1)
        m.unit_best = np.vstack((m.unit_best.reshape(-1, k), np.zeros((len(new_units), k))))

    # 3. Same-event edges of the new units: scored, crowd-scaled and dated as the full grouping.
    new_unit_set = set(new_units)
    unit_of_item = np.asarray(m.doc_unit, dtype=np.int64)[item_array]
    is_new_unit = np.zeros(len(m.unit_rep), dtype=bool)
    is_new_unit[np.asarray(new_units, dtype=np.int64)] = True
    ua, ub = unit_of_item[event_pairs[:, 0]], unit_of_item[event_pairs[:, 1]]
    wanted = (ua != ub) & (is_new_unit[ua] | is_new_unit[ub])
    lo, hi = np.minimum(ua[wanted], ub[wanted]), np.maximum(ua[wanted], ub[wanted])
    width = max(len(m.unit_rep), 1)
    unit_codes = np.unique(lo * width + hi)  # each unit pair once, in (lower, higher) order
    unit_pairs = np.stack((unit_codes // width, unit_codes % width), axis=1)
    del ua, ub, wanted, lo, hi, unit_codes, event_pairs, event_codes, checked
    new_edges = _keep_strongest(m, _score_units(step, unit_pairs, is_new_unit), s)
    del unit_pairs

    # 4. Clustering: the clusters a new unit could join, as blocks, and the new units.
    involved = {m.unit_cluster[u] for u in grown_units}
    reached = np.unique(new_edges.pairs[new_edges.weights >= joining_floor(s)].ravel())
    reached = reached[~is_new_unit[reached]]
    involved.update(np.asarray(m.unit_cluster, dtype=np.int64)[reached].tolist())
    for a, b in bridges:
        involved.update((a, b))
    involved.discard(-1)
    units = sorted({u for c in involved for u in step.cluster_units[c]} | new_unit_set)
    block = np.full(len(units), -1, dtype=np.int64)  # the earlier cluster of each unit (-1: new)
    first_of_cluster: dict[int, int] = {}
    for i, u in enumerate(units):
        c = m.unit_cluster[u]
        if c >= 0:
            block[i] = first_of_cluster.setdefault(c, i)
    for a, b in bridges:  # one text in two clusters: they are one
        ia, ib = first_of_cluster[a], first_of_cluster[b]
        lo, hi = min(block[ia], block[ib]), max(block[ia], block[ib])
        block[block == hi] = lo
    unit_index = np.full(len(m.unit_rep), -1, dtype=np.int64)
    unit_index[np.asarray(units, dtype=np.int64)] = np.arange(len(units))
    # The stored edges (this run's kept ones among them: `_keep_strongest`) between these units.
    ea, eb = unit_index[m.edges_a], unit_index[m.edges_b]
    inside = (ea >= 0) & (eb >= 0)
    local_edges = Edges(np.stack((ea[inside], eb[inside]), axis=1).astype(np.int64), m.edges_w[inside])
    del ea, eb, inside
    unit_days = np.asarray([m.unit_day[u] for u in units], dtype=np.int64)
    labels = settle(block, local_edges, unit_days, s) if units else np.empty(0, dtype=np.int64)

    # 5. Cluster ids: a group keeps the oldest id among its clusters; the others are retired.
    groups: dict[int, list[int]] = defaultdict(list)
    for i, label in enumerate(labels.tolist()):
        groups[label].append(units[i])
    for group_units in groups.values():
        old_clusters = sorted(
            {m.unit_cluster[u] for u in group_units if m.unit_cluster[u] >= 0},
            key=lambda c: (m.cluster_born[c], m.cluster_id[c]),
        )
        if old_clusters:
            survivor = old_clusters[0]
            for gone in old_clusters[1:]:
                m.cluster_alive[gone] = False
                step.retired.append((gone, survivor))
                counts["merged"] += 1
                for u in step.cluster_units.pop(gone, []):
                    step.reassign.update(step.unit_docs[u])
        else:
            rows = [r for u in group_units for r in step.unit_docs[u]]
            survivor = len(m.cluster_id)
            name = new_cluster_id(m.doc_id[step.canonical_row(rows)], step.used_ids)
            m.cluster_id.append(name)
            m.cluster_born.append(run)
            m.cluster_alive.append(True)
            m.cluster_canonical.append("")
            counts["new_clusters"] += 1
        changed = [u for u in group_units if m.unit_cluster[u] != survivor]
        for u in changed:
            m.unit_cluster[u] = survivor
            step.cluster_units[survivor].append(u)
        if changed:
            step.touched.add(survivor)
    for row in new_rows:
        unit = m.doc_unit[row]
        cluster = m.unit_cluster[unit]
        step.touched.add(cluster)
        step.reassign.add(row)
        if m.cluster_born[cluster] < run:
            counts["joined"] += 1

    # 6. Assignments of what changed.
    changes = Changes(departed=departing)
    _assign(step, changes, counts)
    changes.retired = [
        (m.cluster_id[gone], None if into is None else m.cluster_id[into]) for gone, into in step.retired
    ]
    changes.counts = counts
    for name in INDEXES:
        if len(fresh[name]):
            m.delta[name] = m.delta[name].merged(fresh[name])
    return changes


def joining_floor(s: DedupSettings) -> float:
    """The weakest edge through which a story can join a cluster: average linkage needs an
    average of at least the cut, so some edge at the cut; the lone-story fit needs a median of
    at least `lone_story_fit` times the cut (`attach_lone_items`).

    Why it bounds an incremental run's clustering: a cluster that no new story can join stays
    as it is, so only the clusters a new story has an edge at this floor into are clustered
    again. Counting every positive edge re-clustered 43k units (8,500 clusters) for 1,000 new
    stories at 100k, instead of 7.6k (960 clusters); docs/tuning.md, lone_story_fit."""
    fit = s.lone_story_fit
    return s.linkage_threshold * (fit if 0 < fit < 1 else 1.0)


def _order(published: str | None) -> int:
    day = day_of(published)
    return day if day >= 0 else UNDATED


def _keep_strongest(m: GroupingModel, scored: Edges, s: DedupSettings) -> Edges:
    """The edges a full grouping would keep of the stored ones and this run's `scored` pairs
    (unit ids): each unit's `event_edges_per_story` strongest over all of its edges, old and
    new (`strongest_edges`), and every cannot-link. The stored edges become these (edges of
    departed units leave); returns the kept ones among `scored`.

    Why over the stored edges too: ranked among this run's pairs alone, an earlier unit kept
    every new edge run after run, and gathered far more edges than a full grouping leaves it
    (on events-dev replayed in 20 batches, 30% more), which then merged clusters a full
    grouping keeps apart. A dropped edge was below both ends' cut, and more edges only push it
    further down, so the stored ones are all a unit's strongest can come from. One difference
    remains: a cannot-link takes no place among a unit's strongest here (its score is not
    kept), where the full grouping ranks it by its score before barring the pair."""
    alive = np.asarray(m.unit_alive, dtype=bool)
    live = alive[m.edges_a] & alive[m.edges_b]
    old_pairs = np.stack((m.edges_a[live], m.edges_b[live]), axis=1).reshape(-1, 2)
    pairs = np.concatenate((old_pairs, scored.pairs.astype(np.int32).reshape(-1, 2)))  # unit numbers
    del old_pairs
    weights = np.concatenate((m.edges_w[live], scored.weights))
    barred = weights == CANNOT_LINK
    keep = strongest_edges(pairs, np.where(barred, 0.0, weights), s.event_edges_per_story) | barred
    n_old = int(live.sum())
    m.edges_a, m.edges_b, m.edges_w = _in_pair_order(pairs, weights, keep, n_old)
    return scored.where(keep[n_old:])


def _in_pair_order(
    pairs: npt.NDArray[np.int32], weights: F64Array, keep: npt.NDArray[np.bool_], n_old: int
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int32], F64Array]:
    """The kept edges (`keep`) of `pairs` (stored ones first, `n_old` of them, then this run's,
    each pair once) as (first ends, second ends, weights), sorted by pair as a full grouping's.

    The stored edges are already in pair order, so this run's few are merged in where they
    belong; sorting all of them again (`np.lexsort`) cost 0.5 s a run at 100k. Stored edges out
    of order (no path leaves them so) are sorted."""
    old, new = pairs[:n_old][keep[:n_old]], pairs[n_old:][keep[n_old:]]
    old_w, new_w = weights[:n_old][keep[:n_old]], weights[n_old:][keep[n_old:]]
    width = int(pairs.max()) + 1 if len(pairs) else 1
    old_codes = old[:, 0].astype(np.int64) * width + old[:, 1]
    if len(old_codes) > 1 and not bool(np.all(old_codes[1:] > old_codes[:-1])):
        order = np.lexsort((pairs[keep, 1], pairs[keep, 0]))
        kept = pairs[keep][order]
        return kept[:, 0].astype(np.int32), kept[:, 1].astype(np.int32), weights[keep][order]
    new_codes = new[:, 0].astype(np.int64) * width + new[:, 1]
    by = np.argsort(new_codes, kind="stable")
    at = np.searchsorted(old_codes, new_codes[by])
    first = np.insert(old[:, 0], at, new[by, 0]).astype(np.int32)
    second = np.insert(old[:, 1], at, new[by, 1]).astype(np.int32)
    return first, second, np.insert(old_w, at, new_w[by])


def _score_units(step: _Step, pairs: I64Array, is_new_unit: npt.NDArray[np.bool_]) -> Edges:
    """Weighted same-event edges for unit pairs (rows of unit numbers, sorted, each once) that
    involve a new unit (`is_new_unit`, by unit number): the full grouping's score x agreement,
    crowd scaling (old units' levels from their stored best scores), date closeness, gap factor
    and penalty, cannot-links for different subjects; every scored pair (`_keep_strongest` then
    keeps each unit's strongest). Updates the units' best scores."""
    m, s = step.m, step.s
    if not len(pairs):
        return Edges(np.empty((0, 2), dtype=np.int64), np.empty(0))
    unit_array = np.unique(pairs)
    local = np.searchsorted(unit_array, pairs).astype(np.int64)
    reps = np.asarray(m.unit_rep, dtype=np.int64)[unit_array]
    conflicts, scores, disagree = _pair_parts(step, reps.tolist(), local)
    agreement = 1.0 - conflicts
    raw = scores * agreement
    k = s.event_crowd_neighbours
    # Old units' stored best scores enter as edges to stand-in items, so that `crowd_scaled`
    # (`neighbourhood_levels`) ranks them with the new scores: the level the whole corpus gives.
    extra = len(unit_array)
    pseudo_pairs = np.empty((0, 2), dtype=np.int64)
    pseudo_scores = np.empty(0, dtype=np.float64)
    if k:
        old_at = np.flatnonzero(~is_new_unit[unit_array])
        best = m.unit_best.reshape(-1, k)[unit_array[old_at]]
        positive = best > 0  # each old unit's values in order, as one stand-in item each
        pseudo_scores = best[positive]
        owners = np.repeat(old_at, k)[positive.ravel()]
        pseudo_pairs = np.stack((owners, extra + np.arange(len(owners), dtype=np.int64)), axis=1)
        extra += len(owners)
    all_pairs = np.concatenate((local, pseudo_pairs))
    all_scores = np.concatenate((raw, pseudo_scores))
    weights = crowd_scaled(extra, all_pairs, all_scores, s)[: len(local)]
    days = np.asarray(m.unit_day, dtype=np.int64)[unit_array]
    weights = weights * (1.0 + (date_closeness(days, local, s) - 1.0) * agreement)
    weights *= date_gaps(days, local, s)
    weights -= _date_penalties(days, local, s)
    # Different subjects never share a cluster: cannot-links where they would have been an edge.
    apart = disagree & (weights > 0)
    weights[apart] = CANNOT_LINK
    # Best raw scores per unit, for later crowd levels.
    if k:
        ends = np.concatenate((local[:, 0], local[:, 1], np.repeat(np.arange(len(unit_array)), k)))
        values = np.concatenate((raw, raw, m.unit_best[unit_array].ravel()))
        order = np.lexsort((-values, ends))
        ends, values = ends[order], values[order]
        starts = np.searchsorted(ends, np.arange(len(unit_array)))
        take = starts[:, None] + np.arange(k)[None, :]  # every unit has its k stored values at least
        m.unit_best[unit_array] = values[take]
    return Edges(unit_array[local], weights)


# Scoring rows gathered at a time (`_pair_parts`, the copy check): bounds what a run holds of
# the rows it compares (docs/tuning.md).
_ROWS_PER_GATHER = 16384


def _pair_parts(
    step: _Step, item_rows: Sequence[int], local: I64Array
) -> tuple[F64Array, F64Array, npt.NDArray[np.bool_]]:
    """For pairs of items (`local`, positions in `item_rows`, the items' document rows): the
    space's `pair_conflicts`, `pair_scores` and `pair_disagreements`, over the items' stored rows
    gathered for a chunk of pairs at a time (each pair's values depend on its two rows only)."""
    n = len(local)
    conflicts, scores = np.zeros(n, dtype=np.float64), np.zeros(n, dtype=np.float64)
    disagree = np.zeros(n, dtype=bool)
    order = np.lexsort((local[:, 0], local[:, 1]))  # a new unit's pairs together
    per_chunk = max(_ROWS_PER_GATHER // 2, 1)  # two rows a pair at most
    for lo in range(0, n, per_chunk):
        chosen = order[lo : lo + per_chunk]
        items, inverse = np.unique(local[chosen].ravel(), return_inverse=True)
        pairs = inverse.reshape(-1, 2)
        space = step.space([item_rows[i] for i in items.tolist()])
        conflicts[chosen] = space.pair_conflicts(pairs[:, 0], pairs[:, 1])
        scores[chosen] = space.pair_scores(pairs[:, 0], pairs[:, 1])
        disagree[chosen] = space.pair_disagreements(pairs[:, 0], pairs[:, 1])
        del space
        step.m.rows.release()
    return conflicts, scores, disagree


def _assign(step: _Step, changes: Changes, counts: dict[str, int]) -> None:
    """Each touched cluster's canonical, and the relation of every document whose line changes
    (the full grouping's `_assign` rules, scored with the snapshot)."""
    m = step.m
    jobs: list[tuple[int, int, list[int]]] = []  # (cluster, canonical row, rows to assign)
    for cluster in sorted(step.touched):
        if not m.cluster_alive[cluster]:
            continue
        rows = sorted(r for u in step.cluster_units[cluster] for r in step.unit_docs[u])
        if not rows:
            continue
        canonical = step.canonical_row(rows)
        name = m.cluster_id[cluster]
        if m.doc_id[canonical] != m.cluster_canonical[cluster]:
            if m.cluster_canonical[cluster]:
                counts["canonical_changed"] += 1
            m.cluster_canonical[cluster] = m.doc_id[canonical]
            todo = rows
        else:
            todo = [r for r in rows if r in step.reassign]
        changes.clusters[name] = [m.doc_id[r] for r in rows]
        jobs.append((cluster, canonical, todo))
    # Signatures needed: near copies of a canonical (their Jaccard); scores come from the rows.
    wanted: set[int] = set()
    for _cluster, canonical, todo in jobs:
        canon_unit = m.doc_unit[canonical]
        for r in todo:
            if r == canonical or m.doc_exact[r] == m.doc_exact[canonical]:
                continue
            if m.doc_unit[r] == canon_unit:
                wanted.update((r, canonical))
    sigs = step.signatures(wanted)
    pair_list: list[tuple[int, int]] = []
    for _cluster, canonical, todo in jobs:
        canon_unit = m.doc_unit[canonical]
        for r in todo:
            unit = m.doc_unit[r]
            if r != canonical and m.doc_exact[r] != m.doc_exact[canonical] and unit != canon_unit:
                pair_list.append((m.unit_rep[unit], m.unit_rep[canon_unit]))
    scores: dict[tuple[int, int], float] = {}
    if pair_list:
        rows = sorted({r for p in pair_list for r in p})
        at = {r: i for i, r in enumerate(rows)}
        space = step.space(rows)
        distinct = sorted(set(pair_list))
        values = space.scores([(at[a], at[b]) for a, b in distinct])
        scores = dict(zip(distinct, values, strict=True))
        del space
        m.rows.release()
    copy_canonical: dict[int, int] = {}
    for cluster, canonical, todo in jobs:
        canon_unit = m.doc_unit[canonical]
        name = m.cluster_id[cluster]
        for r in todo:
            unit = m.doc_unit[r]
            relation: Relation
            similarity: float | None
            if r == canonical:
                relation, similarity = "canonical", None
            elif m.doc_exact[r] == m.doc_exact[canonical]:
                relation, similarity = "exact_duplicate", 1.0
            elif unit == canon_unit:
                mine, theirs = shingle_set(sigs[r].shingles), shingle_set(sigs[canonical].shingles)
                shared = len(np.intersect1d(mine, theirs, assume_unique=True))
                union = (len(mine) + len(theirs) - shared) or 1
                relation, similarity = "near_duplicate", shared / union
            else:
                relation = "same_event"
                similarity = scores[(m.unit_rep[unit], m.unit_rep[canon_unit])]
            if similarity is not None:
                similarity = round(similarity, 4)
            if unit not in copy_canonical:
                copy_canonical[unit] = step.canonical_row(step.unit_docs[unit])
            copy = copy_canonical[unit]
            changes.assignments[m.doc_id[r]] = Assignment(
                name, m.doc_id[canonical], relation, similarity, None if copy == r else m.doc_id[copy]
            )


# --- From a full grouping -----------------------------------------------------------------------


class SignatureTee:
    """What the model keeps of each signature as the full grouping's stream goes by: its near
    and salient MinHash rows (copied, a chunk at a time, so no signature's bytes stay alive) and
    the statistics (`StatisticsBuilder`)."""

    _CHUNK = 4096

    def __init__(self) -> None:
        self.stats = StatisticsBuilder()
        self._ids: list[str] = []
        self._pending: list[tuple[np.ndarray, np.ndarray]] = []
        self._near: list[np.ndarray] = []
        self._salient: list[np.ndarray] = []
        self._shingles: list[int] = []

    def add(self, doc_id: str, signature: DocSignature) -> None:
        self.stats.add(signature)
        self._ids.append(doc_id)
        self._shingles.append(signature.n_shingles)
        self._pending.append((signature.near, signature.salient))
        if len(self._pending) >= self._CHUNK:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            self._near.append(np.stack([p[0] for p in self._pending]).astype(np.uint32))
            self._salient.append(np.stack([p[1] for p in self._pending]).astype(np.uint32))
            self._pending = []

    def rows(self, doc_ids: Sequence[str], settings: DedupSettings) -> tuple[np.ndarray, np.ndarray]:
        """(near, salient) rows of `doc_ids`, in that order."""
        self._flush()
        at = self._at()
        near = np.concatenate([*self._near, np.empty((0, settings.near_num_perm), dtype=np.uint32)])
        salient = np.concatenate([*self._salient, np.empty((0, settings.event_num_perm), dtype=np.uint32)])
        wanted = np.fromiter((at[d] for d in doc_ids), dtype=np.int64, count=len(doc_ids))
        return near[wanted], salient[wanted]

    def shingle_counts(self, doc_ids: Sequence[str]) -> I64Array:
        at = self._at()
        return np.asarray([self._shingles[at[d]] for d in doc_ids], dtype=np.int64)

    def _at(self) -> dict[str, int]:
        return {d: i for i, d in enumerate(self._ids)}


def _rep_ids(graph: EventGraph) -> list[str]:
    """The exact-copy representatives `event_graph` scores, in its order (each key's smallest id)."""
    first: dict[str, str] = {}
    for doc_id in graph.by_id:  # sorted by id
        first.setdefault(graph.exact_keys[doc_id], doc_id)
    return sorted(first.values())


@dataclass(frozen=True)
class Refresh:
    """A refresh's grouping, the ids it retired (retired id, surviving id), the run each
    surviving earlier cluster was made in, and the documents split off earlier clusters
    (`refresh_may_split`)."""

    grouping: Grouping
    retired: list[tuple[str, str | None]]
    born: dict[str, int]
    splits: list[Split] = field(default_factory=list)


@dataclass(frozen=True)
class Split:
    """Documents that left the earlier cluster `from_id` for the cluster `to_id` in a refresh
    that may split (`refresh_may_split`), `to_id` being their cluster id after the refresh."""

    from_id: str
    to_id: str
    doc_ids: list[str]


@dataclass(frozen=True)
class Matching:
    """Which earlier cluster each fresh cluster continues (`match_clusters`)."""

    kept: list[int | None]  # per fresh cluster: the earlier cluster whose id it keeps, or None
    retired: list[tuple[int, int]]  # (earlier cluster retired, earlier cluster it went into)
    splits: list[tuple[int, int, list[str]]]  # (earlier cluster, fresh cluster, documents moved)


def match_clusters(
    fresh: Sequence[Sequence[str]], earlier: Mapping[str, int], age: Callable[[int], tuple[int, str]]
) -> Matching:
    """Ids for a fresh clustering that may divide earlier clusters: largest overlap wins.

    `fresh`: each fresh cluster's documents; `earlier`: each earlier document's earlier
    cluster; `age`: an earlier cluster's sort key, oldest first. Each earlier cluster belongs
    to the fresh cluster holding most of its documents (the first such on a tie); a fresh
    cluster keeps the oldest id of those that belong to it and retires the others into it, or
    gets a new id when none does. An earlier cluster's documents in any other fresh cluster
    split off to it, and are named in `splits` (earlier cluster, fresh cluster, sorted ids)."""
    overlap: dict[tuple[int, int], list[str]] = defaultdict(list)
    for k, docs in enumerate(fresh):
        for doc in docs:
            c = earlier.get(doc)
            if c is not None:
                overlap[(c, k)].append(doc)
    owner: dict[int, int] = {}
    for (c, k), docs in sorted(overlap.items()):
        if c not in owner or len(docs) > len(overlap[(c, owner[c])]):
            owner[c] = k
    belonging: dict[int, list[int]] = defaultdict(list)
    for c, k in owner.items():
        belonging[k].append(c)
    kept: list[int | None] = []
    retired: list[tuple[int, int]] = []
    for k in range(len(fresh)):
        olds = sorted(belonging.get(k, []), key=age)
        kept.append(olds[0] if olds else None)
        retired += [(c, olds[0]) for c in olds[1:]]
    splits = [(c, k, sorted(docs)) for (c, k), docs in sorted(overlap.items()) if owner[c] != k]
    return Matching(kept, retired, splits)


def refresh_grouping(
    graph: EventGraph, previous: GroupingModel, leave_out: Iterable[str] = (), renewed: Iterable[str] = ()
) -> Refresh:
    """A regroup with fresh statistics that keeps cluster ids: the full grouping's graph,
    settled with the earlier clusters (`settle`), so clusters only grow or merge; a cluster keeps
    the oldest id among the earlier ones it holds (the others are retired into it), a new one is
    named as the full grouping names it, and an earlier cluster none of whose documents is left
    is retired into none. With `refresh_may_split`, the fresh clustering as it is instead of
    settled, named by `match_clusters`. `leave_out` as `EventGraph.grouping`; `renewed`:
    documents of files changed since `previous`, which left their clusters and come back as new."""
    s = graph.settings
    gone = frozenset(leave_out)
    renewed_ids = frozenset(renewed)
    members = {u: [d for d in docs if d not in gone] for u, docs in graph.members.items()}
    n = len(graph.units)
    live = np.asarray([bool(members[u]) for u in graph.units], dtype=bool)
    # Blocks: the earlier clusters of each unit's documents (a unit holding two is a bridge).
    parent: dict[int, int] = {}

    def find(c: int) -> int:
        while parent.setdefault(c, c) != c:
            c = parent[c]
        return c

    old_of_unit: list[list[int]] = []
    for u in graph.units:
        rows = [previous.row_of[d] for d in members[u] if d in previous.row_of and d not in renewed_ids]
        earlier = sorted({previous.unit_cluster[previous.doc_unit[r]] for r in rows})
        for c in earlier[1:]:
            a, b = find(earlier[0]), find(c)
            parent[max(a, b)] = min(a, b)
        old_of_unit.append(earlier)
    block = np.full(n, -1, dtype=np.int64)
    for i, earlier in enumerate(old_of_unit):
        if earlier and live[i]:
            block[i] = find(earlier[0])
    edges = graph.edges.where(live[graph.edges.pairs[:, 0]] & live[graph.edges.pairs[:, 1]])
    if s.refresh_may_split:
        labels = fresh_labels(n, edges, graph.days, s)
    else:
        labels = settle(block, edges, graph.days, s)
    by_label: dict[int, list[str]] = defaultdict(list)
    for i, u in enumerate(graph.units):
        if live[i]:
            by_label[int(labels[i])].append(u)
    clusters = sorted(by_label.values())
    assignments = graph._assign(clusters, members)
    if s.refresh_may_split:
        return _split_refresh(previous, clusters, members, assignments, renewed_ids, graph.stats, len(edges))
    used = set(previous.cluster_id) | set(previous.retired_ids)
    renamed: dict[str, str] = {}
    retired: list[tuple[str, str | None]] = []
    continued: set[int] = set()
    born: dict[str, int] = {}
    unit_index = {u: i for i, u in enumerate(graph.units)}
    for units in clusters:
        old = sorted(
            {c for u in units for c in old_of_unit[unit_index[u]]},
            key=lambda c: (previous.cluster_born[c], previous.cluster_id[c]),
        )
        fresh_name = assignments[members[units[0]][0]].cluster_id
        continued.update(old)
        if old:
            renamed[fresh_name] = previous.cluster_id[old[0]]
            born[previous.cluster_id[old[0]]] = previous.cluster_born[old[0]]
            retired += [(previous.cluster_id[c], previous.cluster_id[old[0]]) for c in old[1:]]
        else:
            name = fresh_name if fresh_name not in used else new_cluster_id(fresh_name[2:], used)
            used.add(name)
            renamed[fresh_name] = name
    outcome = {
        doc_id: Assignment(renamed[a.cluster_id], a.canonical_id, a.relation, a.similarity, a.duplicate_of)
        for doc_id, a in assignments.items()
    }
    retired += _emptied(previous, continued)
    stats = {**graph.stats, "clusters": float(len(clusters)), "event_edges": float(len(edges))}
    return Refresh(Grouping(assignments=outcome, stats=stats), retired, born)


def _emptied(previous: GroupingModel, continued: set[int]) -> list[tuple[str, str | None]]:
    """The earlier live clusters no fresh cluster continues (their documents deleted, changed
    or emptied), retired into none, as an incremental run retires a cluster its last document
    left."""
    return [
        (previous.cluster_id[c], None)
        for c, alive in enumerate(previous.cluster_alive)
        if alive and c not in continued
    ]


def _split_refresh(
    previous: GroupingModel,
    clusters: list[list[str]],
    members: Mapping[str, list[str]],
    assignments: Mapping[str, Assignment],
    renewed: frozenset[str],
    graph_stats: Mapping[str, float],
    n_edges: int,
) -> Refresh:
    """`refresh_grouping` when earlier clusters may split: the fresh clusters named by
    `match_clusters` (new ones as the full grouping names them, made unique)."""
    fresh = [[d for u in units for d in members[u]] for units in clusters]
    earlier = {
        d: previous.unit_cluster[previous.doc_unit[previous.row_of[d]]]
        for docs in fresh
        for d in docs
        if d in previous.row_of and d not in renewed
    }
    matching = match_clusters(fresh, earlier, lambda c: (previous.cluster_born[c], previous.cluster_id[c]))
    used = set(previous.cluster_id) | set(previous.retired_ids)
    names: list[str] = []
    born: dict[str, int] = {}
    for docs, c in zip(fresh, matching.kept, strict=True):
        if c is not None:
            name = previous.cluster_id[c]
            born[name] = previous.cluster_born[c]
        else:
            fresh_name = assignments[docs[0]].cluster_id
            name = fresh_name if fresh_name not in used else new_cluster_id(fresh_name[2:], used)
            used.add(name)
        names.append(name)
    renamed = {assignments[docs[0]].cluster_id: name for docs, name in zip(fresh, names, strict=True)}
    outcome = {
        doc_id: Assignment(renamed[a.cluster_id], a.canonical_id, a.relation, a.similarity, a.duplicate_of)
        for doc_id, a in assignments.items()
    }
    retired: list[tuple[str, str | None]] = [
        (previous.cluster_id[c], previous.cluster_id[into]) for c, into in matching.retired
    ]
    continued = {c for c, _ in matching.retired} | {c for c in matching.kept if c is not None}
    retired += _emptied(previous, continued)
    splits = [Split(previous.cluster_id[c], names[k], docs) for c, k, docs in matching.splits]
    stats = {**graph_stats, "clusters": float(len(clusters)), "event_edges": float(n_edges)}
    return Refresh(Grouping(assignments=outcome, stats=stats), retired, born, splits)


def model_from_graph(
    graph: EventGraph,
    grouping: Grouping,
    tee: SignatureTee,
    places: Mapping[str, tuple[str, int]],
    run: int,
    born: Mapping[str, int],
    when: str,
    issued: Iterable[str] = (),
) -> GroupingModel:
    """The model of a full grouping (or a refresh): every grouped document, the graph's units,
    clusters (born in `run` unless `born` says otherwise) and edges, fresh statistics and LSH
    indexes over the units' representatives. Documents the grouping left out (emptied by
    corpus-learned lines) are not in it. `issued`: for a refresh, every id the previous model
    issued (`cluster_id` and `retired_ids`); those no cluster holds now are its `retired_ids`."""
    s = graph.settings
    doc_ids = [d for d in graph.by_id if d in grouping.assignments]
    row_of = {d: i for i, d in enumerate(doc_ids)}
    cluster_ids = sorted({a.cluster_id for a in grouping.assignments.values()})
    cluster_row = {c: i for i, c in enumerate(cluster_ids)}
    canonical = {a.cluster_id: a.canonical_id for a in grouping.assignments.values()}
    n_units = len(graph.units)
    doc_unit = [-1] * len(doc_ids)
    unit_rep, unit_cluster, unit_alive = [-1] * n_units, [-1] * n_units, [False] * n_units
    rep_ids = _rep_ids(graph)
    lengths = {d: graph.lengths[d] for d in doc_ids}
    for i, u in enumerate(graph.units):
        docs = [d for d in graph.members[u] if d in row_of]
        if not docs:
            continue
        for d in docs:
            doc_unit[row_of[d]] = i
        scorer = rep_ids[graph.unit_rep[i]]
        if scorer not in row_of:
            scorer = _canonical([graph.by_id[d] for d in docs], lengths).id
        unit_rep[i], unit_alive[i] = row_of[scorer], True
        unit_cluster[i] = cluster_row[grouping.assignments[docs[0]].cluster_id]
    # Indexes over the live representatives.
    reps = [r for r in rep_ids if r in row_of]
    near, salient = tee.rows(reps, s)
    rep_item = {r: i for i, r in enumerate(rep_ids)}
    # Scoring rows: the full grouping's own (its statistics are the snapshot), in global columns.
    stats = tee.stats.finish()
    columns = Columns(stats.feature_ids, stats.event_ids)
    none = np.zeros((len(rep_ids), 0), dtype=np.uint32)
    base_rows = RowBlock.of_space(graph.space, columns, none, np.zeros(len(rep_ids), dtype=np.int64))
    if len(reps) != len(rep_ids):
        base_rows = base_rows.take(np.asarray([rep_item[r] for r in reps], dtype=np.int64))
    base_rows = replace(base_rows, near=near, n_shingles=tee.shingle_counts(reps))
    topic = topic_signatures(graph.space, s)[[rep_item[r] for r in reps]] if s.topic_terms_per_doc else None
    rows = np.asarray([row_of[r] for r in reps], dtype=np.int64)
    order = np.asarray([_order(graph.by_id[r].published) for r in reps], dtype=np.int64)
    base = {
        "near": BandIndex.build(near, s.near_lsh_threshold, rows, order),
        "salient": BandIndex.build(salient, s.event_lsh_threshold, rows, order),
        "topic": BandIndex.build(topic, s.topic_lsh_threshold, rows, order)
        if topic is not None
        else BandIndex.empty(),
    }
    sketch_rows = byte_sketch(np.hstack([salient] + ([topic] if topic is not None else [])))
    doc_sketch = np.zeros((len(doc_ids), sketch_rows.shape[1]), dtype=np.uint64)
    doc_sketch[rows] = sketch_rows
    del near, salient, topic
    model = GroupingModel(
        doc_id=doc_ids,
        doc_path=[places[d][0] for d in doc_ids],
        doc_seq=[places[d][1] for d in doc_ids],
        doc_unit=doc_unit,
        doc_words=[graph.lengths[d] for d in doc_ids],
        doc_published=[graph.by_id[d].published for d in doc_ids],
        doc_exact=[graph.exact_keys[d] for d in doc_ids],
        doc_alive=[True] * len(doc_ids),
        doc_sketch=doc_sketch,
        unit_rep=unit_rep,
        unit_cluster=unit_cluster,
        unit_day=[int(d) for d in graph.days.tolist()],
        unit_alive=unit_alive,
        unit_best=_best_scores(graph),
        cluster_id=cluster_ids,
        cluster_born=[born.get(c, run) for c in cluster_ids],
        cluster_alive=[True] * len(cluster_ids),
        cluster_canonical=[canonical[c] for c in cluster_ids],
        edges_a=graph.edges.pairs[:, 0].astype(np.int32),
        edges_b=graph.edges.pairs[:, 1].astype(np.int32),
        edges_w=graph.edges.weights.astype(np.float64),
        stats=stats,
        base=base,
        delta={name: BandIndex.empty() for name in INDEXES},
        run=run,
        snapshot_run=run,
        snapshot_docs=len(doc_ids),
        snapshot_time=when,
        extra_features=columns.extra_features,
        extra_events=columns.extra_events,
        retired_ids=sorted(set(issued) - set(cluster_ids)),
    )
    model.rows.add(rows.tolist(), base_rows)
    return model


def _best_scores(graph: EventGraph) -> F64Array:
    """Each unit's best raw scores (score x agreement, the values `neighbourhood_levels` ranks),
    from its strongest kept edges: the crowd level an incremental run gives it."""
    k = max(graph.settings.event_crowd_neighbours, 1)
    n = len(graph.units)
    best = np.zeros((n, k), dtype=np.float64)
    pairs = graph.edges.pairs
    if len(pairs) == 0:
        return best
    _, edge_ids, rank = edge_ranks(pairs, graph.edges.weights)
    chosen = np.unique(edge_ids[rank < 2 * k])
    reps = np.asarray(graph.unit_rep, dtype=np.int64)
    left, right = reps[pairs[chosen, 0]], reps[pairs[chosen, 1]]
    raw = graph.space.pair_scores(left, right) * (1.0 - graph.space.pair_conflicts(left, right))
    ends = np.concatenate((pairs[chosen, 0], pairs[chosen, 1]))
    values = np.concatenate((raw, raw))
    order = np.lexsort((-values, ends))
    ends, values = ends[order], values[order]
    starts = np.flatnonzero(np.concatenate(([True], ends[1:] != ends[:-1])))
    position = np.arange(len(ends)) - np.repeat(starts, np.diff(np.concatenate((starts, [len(ends)]))))
    take = position < k
    best[ends[take], position[take]] = values[take]
    return best
