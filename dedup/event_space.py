"""How strongly two stories look like coverage of one event.

Two views of a story, combined:
- TF-IDF cosine over its words plus its event terms (as extra tokens): the whole vocabulary of
  the story, which carries what happened ("earthquake", "magnitude", "evacuated");
- the weighted overlap of event terms (names, places, numbers, rare words), relative to the
  shorter story: who and where, which separates two meetings of the same ministers in different
  years that word vectors alone find alike.
score = cosine × (overlap + c) / (r + c): the cosine, scaled up when the stories share more of
their specific evidence than the reference level r and down when they share less. On events-dev
this product beats either view alone (measured with bench/dedup.py), and only it also keeps the
sample 2021/2023/2024 meetings apart.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from itertools import pairwise
from typing import Any, cast

import numpy as np
import numpy.typing as npt
from scipy import sparse

from newsclean.dedup.kernels import rank_edges_by_item, reduce_pair_runs, top_k_per_row
from newsclean.dedup.lsh import sorted_unique
from newsclean.dedup.parallel import map_ranges
from newsclean.dedup.terms import event_features, term_arrays, term_counts

U32Array = npt.NDArray[np.uint32]
U64Array = npt.NDArray[np.uint64]
F64Array = npt.NDArray[np.float64]


def tfidf_matrix(term_ids: Sequence[U64Array], counts: Sequence[U32Array]) -> sparse.csr_matrix:
    """`tfidf_rows` without the vocabulary."""
    return tfidf_rows(term_ids, counts)[0]


def tfidf_rows(
    term_ids: Sequence[U64Array], counts: Sequence[U32Array]
) -> tuple[sparse.csr_matrix, U64Array]:
    """Rows of sublinear-TF x smoothed-IDF weights, L2-normalised: scikit-learn's
    `TfidfVectorizer(sublinear_tf=True)`, built from stored feature counts in a few numpy passes
    instead of re-tokenising every text.

    Weights are computed in place and rows normalised a block at a time, so no whole-corpus
    temporary is made (they were a peak of the grouping). A block holds whole rows, so each
    row's norm sums its entries in the same order as one pass would: the weights are the same
    to the bit. Returns the matrix and each column's feature id (sorted)."""
    n = len(term_ids)
    lengths = np.fromiter((len(x) for x in term_ids), dtype=np.int64, count=n)
    if n == 0 or lengths.sum() == 0:
        return sparse.csr_matrix((n, 1)), np.zeros(1, dtype=np.uint64)
    all_ids = np.concatenate(term_ids)
    # Each entry's column is its id's rank among the distinct ids, read off one argsort (not
    # np.unique(return_inverse=True), which hashes in numpy 2.4 and is far slower, nor a sort
    # then a binary search per entry, which costs a fifth more: docs/tuning.md).
    order = np.argsort(all_ids)
    sorted_ids = all_ids[order]
    del all_ids
    starts = np.empty(len(sorted_ids), dtype=bool)
    starts[0] = True
    np.not_equal(sorted_ids[1:], sorted_ids[:-1], out=starts[1:])
    vocabulary = sorted_ids[starts]
    del sorted_ids
    index_type = np.int32 if len(starts) < 2**31 else np.int64
    columns = np.empty(len(starts), dtype=index_type)
    columns[order] = np.cumsum(starts, dtype=index_type) - 1
    del order, starts
    doc_freq = np.bincount(columns, minlength=len(vocabulary)).astype(np.float64)
    idf_values = np.log((1.0 + n) / (1.0 + doc_freq)) + 1.0
    data = np.concatenate(counts).astype(np.float64)
    np.log(data, out=data)
    data += 1.0  # sublinear tf
    data *= idf_values[columns]
    indptr = np.concatenate(([0], np.cumsum(lengths)))
    for first in range(0, n, _ROWS_PER_BLOCK):
        last = min(first + _ROWS_PER_BLOCK, n)
        block = slice(int(indptr[first]), int(indptr[last]))
        rows = np.repeat(np.arange(last - first), lengths[first:last])
        values = data[block]
        norms = np.sqrt(np.bincount(rows, weights=values * values, minlength=last - first))
        values /= np.where(norms > 0, norms, 1.0)[rows]  # a view: written through
    # Each row's ids are sorted and distinct (`term_arrays`), so the CSR arrays are built directly.
    matrix = sparse.csr_matrix(
        (data, columns, indptr.astype(index_type)), shape=(n, len(vocabulary)), dtype=np.float64
    )
    return matrix, vocabulary


# A headline naming at least this many principal specifics speaks for its story against an
# untitled one (`EventSpace.pair_conflicts`; chosen on the 1987 background: docs/tuning.md).
HEADLINE_SPECIFICS = 3

# What a space holds per story (`EventSpace.from_rows`): its rows of these matrices and `titled`.
ROW_MATRICES = (
    "matrix",
    "term_matrix",
    "principal_matrix",
    "subject_matrix",
    "rare_subject_matrix",
    "code_matrix",
)

# Rows normalised at a time in `tfidf_matrix`: bounds each temporary (docs/tuning.md).
_ROWS_PER_BLOCK = 8192


class EventSpace:
    """Vectors for a set of units (one per near-copy group), and pairwise scores between them."""

    def __init__(
        self,
        features: Sequence[tuple[U64Array, U32Array]],
        events: Sequence[
            tuple[U32Array, F64Array]
            | tuple[U32Array, F64Array, U32Array, U32Array, U32Array, bool]
            | tuple[U32Array, F64Array, U32Array, U32Array, U32Array, bool, U32Array]
        ],
        *,
        overlap_offset: float,
        overlap_reference: float,
        threads: int = 1,
    ) -> None:
        """`features[i]` is item i's `term_arrays`; `events[i]` its `event_features`, and
        optionally where its principal specifics, its headline's names and the rare ones among
        them sit in its features, whether it has a headline and where its headline's company
        codes sit (`DocSignature.principal_at`, `subject_at`, `rare_subject_at`, `titled`,
        `code_at`); `threads` share the pair scoring
        (`newsclean.dedup.parallel`)."""
        self.offset = overlap_offset
        self.reference = overlap_reference
        self.threads = threads
        ids = [f[0] for f in features]
        counts = [f[1] for f in features]
        self.matrix: sparse.csr_matrix
        # Each column's feature id, and each `term_matrix` column's event-term id.
        self.vocabulary: U64Array
        self.matrix, self.vocabulary = tfidf_rows(ids, counts)
        self.event_vocabulary: U64Array = np.zeros(1, dtype=np.uint64)
        # Event-term weights (1 + log tf) x IDF x rarity prior, from arrays in a few numpy
        # passes, not a Python dict of terms per story (memory and time: docs/tuning.md).
        n = len(events)
        sizes = np.fromiter((len(e[0]) for e in events), dtype=np.int64, count=n)
        if n == 0 or sizes.sum() == 0:
            self.term_matrix: sparse.csr_matrix = sparse.csr_matrix((n, 1))
            self.totals: npt.NDArray[np.float64] = np.zeros(n, dtype=np.float64)
            self.principal_matrix: sparse.csr_matrix = sparse.csr_matrix(self.matrix.shape)
            self.principal_totals: npt.NDArray[np.float64] = np.zeros(n, dtype=np.float64)
            self.subject_matrix: sparse.csr_matrix = sparse.csr_matrix(self.matrix.shape)
            self.rare_subject_matrix: sparse.csr_matrix = sparse.csr_matrix(self.matrix.shape)
            self.titled: npt.NDArray[np.bool_] = np.zeros(n, dtype=bool)
            self.code_matrix: sparse.csr_matrix = sparse.csr_matrix(self.matrix.shape)
            return
        event_ids = np.concatenate([ids[i][e[0]] for i, e in enumerate(events)])
        frequencies = np.concatenate([counts[i][e[0]] for i, e in enumerate(events)]).astype(np.float64)
        priors = np.concatenate([e[1] for e in events])
        vocabulary = sorted_unique(event_ids)
        self.event_vocabulary = vocabulary
        cols = np.searchsorted(vocabulary, event_ids)
        rows = np.repeat(np.arange(n, dtype=np.int64), sizes)
        doc_freq = np.bincount(cols, minlength=len(vocabulary)).astype(np.float64)
        inverse = np.log((n + 1) / (doc_freq + 0.5))  # dedup.features.idf, for every term at once
        values = (1.0 + np.log(frequencies)) * inverse[cols] * priors
        positive = values > 0
        self.term_matrix = sparse.csr_matrix(
            (values[positive], (rows[positive], cols[positive])), shape=(n, len(vocabulary)), dtype=np.float64
        )
        self.term_matrix.sort_indices()
        self.totals = np.asarray(self.term_matrix.sum(axis=1), dtype=np.float64).ravel()
        # Principal specifics: entries of `matrix` (whose rows hold each story's features in
        # term_ids order), weighted by IDF (`features.idf`, which vanishes for a term every story has).
        feature_freq = np.bincount(self.matrix.indices, minlength=self.matrix.shape[1]).astype(np.float64)

        def principal(part: int) -> sparse.csr_matrix:
            at = [cast("U32Array", e[part]) if len(e) > part else None for e in events]
            return _principal_matrix(self.matrix, at, feature_freq, n)

        self.principal_matrix = principal(2)
        self.principal_totals = np.asarray(self.principal_matrix.sum(axis=1), dtype=np.float64).ravel()
        # Each story's subject, its headline name rarest in this corpus, as a 1 in its column
        # (`pair_disagreements` asks whether the other story holds it).
        names = principal(3)
        self.subject_matrix = _row_maxima(names)
        rare = principal(4)
        self.rare_subject_matrix = _row_maxima(rare)
        self.titled = np.fromiter((bool(e[5]) if len(e) > 5 else True for e in events), dtype=bool, count=n)
        # The company codes each headline marks, as 1s (`pair_disagreements`: another company).
        self.code_matrix = principal(6)
        self.code_matrix.data[:] = 1.0

    @classmethod
    def from_texts(
        cls, texts: Sequence[str], bags: Sequence[Mapping[str, int]], **options: float
    ) -> EventSpace:
        """Straight from texts (tests, small corpora); the pipeline passes stored features."""
        features = [term_arrays(term_counts(text, bag)) for text, bag in zip(texts, bags, strict=True)]
        events = [event_features(ids, bag) for (ids, _), bag in zip(features, bags, strict=True)]
        return cls(features, events, overlap_offset=options["overlap_offset"],
                   overlap_reference=options["overlap_reference"])  # fmt: skip

    @classmethod
    def from_rows(
        cls,
        matrices: Mapping[str, sparse.csr_matrix],
        titled: npt.NDArray[np.bool_],
        *,
        overlap_offset: float,
        overlap_reference: float,
    ) -> EventSpace:
        """A space over rows weighted elsewhere (an incremental run's stored rows): `matrices`
        holds `matrix`, `term_matrix`, `principal_matrix`, `subject_matrix`,
        `rare_subject_matrix` and `code_matrix` as the constructor makes them (sorted indices),
        in any column numbering shared by all rows; totals are summed from them."""
        space = cls.__new__(cls)
        space.offset, space.reference, space.threads = overlap_offset, overlap_reference, 1
        for name in ROW_MATRICES:
            setattr(space, name, matrices[name])
        space.vocabulary = space.event_vocabulary = np.zeros(0, dtype=np.uint64)  # not known here
        space.totals = np.asarray(space.term_matrix.sum(axis=1), dtype=np.float64).ravel()
        space.principal_totals = np.asarray(space.principal_matrix.sum(axis=1), dtype=np.float64).ravel()
        space.titled = np.asarray(titled, dtype=bool)
        return space

    def top_terms(self, k: int) -> list[set[str]]:
        """Per item, its `k` highest-weighted TF-IDF features (as feature ids), for LSH.

        What a story is most about, relative to this corpus: two stories of one event share
        several of them even when they are long and their wording differs. Ties go to the
        smaller id. Read straight from the CSR arrays, not by a slow `getrow` per story."""
        starts, columns = top_k_per_row(self.matrix.indptr, self.matrix.indices, self.matrix.data, k)
        names = list(map(str, columns.tolist()))
        return [set(names[lo:hi]) for lo, hi in pairwise(starts.tolist())]

    def cosine(self, a: int, b: int) -> float:
        return float(self.matrix[a].multiply(self.matrix[b]).sum())

    def overlap(self, a: int, b: int) -> float:
        """Weight of shared event terms over the total weight of the shorter story's terms."""
        shared = float(self.term_matrix[a].minimum(self.term_matrix[b]).sum())
        smaller = min(self.totals[a], self.totals[b])
        return shared / smaller if smaller > 0 else 0.0

    def score(self, a: int, b: int) -> float:
        return self.cosine(a, b) * (self.overlap(a, b) + self.offset) / (self.reference + self.offset)

    def scores(self, pairs: Sequence[tuple[int, int]]) -> list[float]:
        """`score` for many pairs at once, vectorised (cosines and overlaps in numpy)."""
        if not pairs:
            return []
        left = np.fromiter((a for a, _ in pairs), dtype=np.int64, count=len(pairs))
        right = np.fromiter((b for _, b in pairs), dtype=np.int64, count=len(pairs))
        return [float(x) for x in self.pair_scores(left, right)]

    def conflicts(self, pairs: Sequence[tuple[int, int]]) -> list[float]:
        """`pair_conflicts` for a list of pairs."""
        left = np.fromiter((a for a, _ in pairs), dtype=np.int64, count=len(pairs))
        right = np.fromiter((b for _, b in pairs), dtype=np.int64, count=len(pairs))
        return [float(x) for x in self.pair_conflicts(left, right)]

    def pair_conflicts(
        self, left: npt.NDArray[np.int64], right: npt.NDArray[np.int64]
    ) -> npt.NDArray[np.float64]:
        """Per pair, how far the two stories' principal specifics disagree, 0 to 1: the smaller,
        over the two sides, of the IDF-weighted share of one side's principal specifics
        (`features.principal_terms`) that the other story does not contain at all. Both must
        name something the other never mentions: a short story whose few specifics a longer
        one repeats agrees with it. A side with no principal specifics disagrees with nothing,
        except that an untitled story, which has none, is measured against a headline naming
        at least `HEADLINE_SPECIFICS` of them by that headline's share alone: a story that
        never names most of what a full headline says it is about (the New Zealand treasury
        bill tender, not a climber's fall in New Zealand) is not its event. A headline of
        one or two ("Tokyo"; "Tokyo", "Defence") is too little to judge by: another account
        says "Japan" or spells "Defense" (docs/tuning.md)."""
        if len(left) == 0:
            return np.zeros(0, dtype=np.float64)
        shares = []
        for mine, theirs in ((left, right), (right, left)):
            covered = _pair_cover(self.matrix, self.principal_matrix, theirs, mine, threads=self.threads)
            total = self.principal_totals[mine]
            share = np.divide(total - covered, total, out=np.zeros_like(total), where=total > 0)
            shares.append(np.clip(share, 0.0, 1.0))
        out: npt.NDArray[np.float64] = np.minimum(*shares)
        full = self.titled & (np.diff(self.principal_matrix.indptr) >= HEADLINE_SPECIFICS)
        only_left = full[left] & ~self.titled[right]
        only_right = full[right] & ~self.titled[left]
        out[only_left] = shares[0][only_left]
        out[only_right] = shares[1][only_right]
        return out

    def pair_disagreements(
        self, left: npt.NDArray[np.int64], right: npt.NDArray[np.int64]
    ) -> npt.NDArray[np.bool_]:
        """Per pair, whether the two stories are about different subjects: each has a subject
        (the name in its headline rarest in this corpus, `features.subject_terms`) and neither
        story mentions the other's at all. Another company's results, another person's arrest:
        the same wording about someone else is another event. An untitled story has no subject
        (the name its text repeats most was tried, and on events-dev it split one event's
        coverage that centres on different people: docs/tuning.md), so a story with a headline
        and an untitled one disagree when the untitled one never mentions the headline's
        subject among its names rare in general English (`features.rare_subject_terms`): a
        company code or unusual name that any account of the same happening would carry.
        Two wire headlines that mark companies by code (`features.headline_codes`), none in
        common, are about different companies whatever their texts mention: a bid's two sides
        or a sector's same-day results, each its own event."""
        if len(left) == 0:
            return np.zeros(0, dtype=bool)
        has = np.diff(self.subject_matrix.indptr) > 0
        has_rare = np.diff(self.rare_subject_matrix.indptr) > 0
        out = has[left] & has[right]  # both have subjects, and each story lacks the other's
        for mine, theirs in ((left, right), (right, left)):
            out &= _pair_cover(self.matrix, self.subject_matrix, theirs, mine, threads=self.threads) == 0
        for mine, theirs in ((left, right), (right, left)):
            # An untitled story states no subject; it must name the other's rare one (only those
            # pairs are looked at: most pairs have two titles or no rare subject).
            asked = np.flatnonzero(~self.titled[theirs] & has_rare[mine])
            if len(asked):
                rare = _pair_cover(
                    self.matrix, self.rare_subject_matrix, theirs[asked], mine[asked], threads=self.threads
                )
                out[asked[rare == 0]] = True
        coded = np.diff(self.code_matrix.indptr) > 0
        both = np.flatnonzero(coded[left] & coded[right] & ~out)
        if len(both):
            shared = _pair_cover(
                self.code_matrix, self.code_matrix, left[both], right[both], threads=self.threads
            )
            out[both[shared == 0]] = True
        return out

    def pair_scores(
        self, left: npt.NDArray[np.int64], right: npt.NDArray[np.int64]
    ) -> npt.NDArray[np.float64]:
        """`scores` for pairs given as two index arrays, as an array: millions of pairs at 100k
        documents, where a Python float and tuple per pair would cost a kilobyte each."""
        if len(left) == 0:
            return np.zeros(0, dtype=np.float64)
        cosines = _pair_reduce(self.matrix, left, right, minimum=False, threads=self.threads)
        shared = _pair_reduce(self.term_matrix, left, right, minimum=True, threads=self.threads)
        smaller = np.minimum(self.totals[left], self.totals[right])
        overlaps = np.divide(shared, smaller, out=np.zeros_like(shared), where=smaller > 0)
        factor = 1.0 / (self.reference + self.offset)
        result: npt.NDArray[np.float64] = cosines * (overlaps + self.offset) * factor
        return result


def _pair_reduce(
    matrix: sparse.csr_matrix, left: np.ndarray, right: np.ndarray, *, minimum: bool, threads: int = 1
) -> np.ndarray:
    """Per pair (left[k], right[k]): the sum over shared columns of the product of the two rows'
    values, or of their minimum (`minimum=True`, for non-negative values).

    Pairs are grouped by their longer row, which is scattered once into a dense buffer; each
    shorter row is read against it once (both reductions are symmetric). Work is proportional
    to the entries of the rows paired, never to the square of the corpus, and no n x vocabulary
    temporary is built."""
    csr = matrix.tocsr()
    if not csr.has_sorted_indices:
        csr = csr.sorted_indices()
    row_sizes = np.diff(csr.indptr)
    swap = row_sizes[left] < row_sizes[right]
    left, right = np.where(swap, right, left), np.where(swap, left, right)
    return _reduce_runs(csr, csr, left, right, minimum=minimum, mark=False, threads=threads)


_BUFFERS = threading.local()


def _zeroed(width: int) -> F64Array:
    """`width` zeros, this thread's buffer reused between calls (`reduce_pair_runs` leaves it all
    zeros): a fresh one per call cost a page fault per 512 columns touched, and an incremental
    run's scoring space is as wide as the whole vocabulary."""
    buffer: F64Array | None = getattr(_BUFFERS, "dense", None)
    if buffer is None or len(buffer) < width:
        buffer = np.zeros(width, dtype=np.float64)
        _BUFFERS.dense = buffer
    return buffer[:width]


def _reduce_runs(
    scattered: sparse.csr_matrix,
    read: sparse.csr_matrix,
    left: np.ndarray,
    right: np.ndarray,
    *,
    minimum: bool,
    mark: bool,
    threads: int,
) -> np.ndarray:
    """Per pair (left[k], right[k]): `newsclean.dedup.kernels.reduce_pair_runs` of `scattered`'s
    row left[k] against `read`'s row right[k] (sorted indices). Pairs are grouped by their left
    row, scattered once each. `threads` share the groups, balanced by the entries they read;
    each writes its own pairs' results, so the result does not depend on how many ran."""
    out = np.zeros(len(left), dtype=np.float64)
    if len(left) == 0:
        return out
    order = np.argsort(left, kind="stable")
    lefts, rights = left[order], right[order]
    bounds = np.flatnonzero(np.diff(lefts)) + 1
    starts = np.concatenate(([0], bounds))
    ends = np.concatenate((bounds, [len(lefts)]))
    result = np.zeros(len(lefts), dtype=np.float64)
    # Run boundaries that split the entries read (each pair reads its right row) evenly.
    run_bounds = [0, len(starts)]
    if threads > 1 and len(starts) > 1:
        parts = min(4 * threads, len(starts))
        read_sizes = np.cumsum(np.diff(read.indptr)[rights])[ends - 1]
        cuts = np.searchsorted(read_sizes, read_sizes[-1] * np.arange(1, parts) / parts, side="right")
        run_bounds = [0, *sorted(set(cuts.tolist()) - {0, len(starts)}), len(starts)]

    def reduce_runs(first: int, last: int) -> None:
        dense = _zeroed(scattered.shape[1])
        reduce_pair_runs(
            scattered.indptr, scattered.indices, scattered.data, read.indptr, read.indices, read.data,
            lefts, rights, starts[first:last], ends[first:last], minimum, mark, dense, result,
        )  # fmt: skip

    map_ranges(reduce_runs, run_bounds, threads)
    out[order] = result
    return out


def _principal_matrix(
    matrix: sparse.csr_matrix,
    principal: Sequence[U32Array | None],
    doc_freq: F64Array | None = None,
    n_docs: int | None = None,
) -> sparse.csr_matrix:
    """Rows of `matrix`'s shape holding each story's principal specifics (positions in its row,
    `DocSignature.principal_at`) at their IDF: log((n + 1) / (df + 0.5)), 0 for a term in every
    story, so a specific every story shares weighs nothing. df and n are those of `matrix`'s
    rows, or `doc_freq` (per column) of `n_docs` stories when given (an incremental run's
    snapshot)."""
    n_rows = matrix.shape[0]
    indptr, indices = matrix.indptr, matrix.indices
    if n_rows == 0 or len(indices) == 0:
        return sparse.csr_matrix(matrix.shape)
    if doc_freq is None:
        doc_freq = np.bincount(indices, minlength=matrix.shape[1]).astype(np.float64)
    n = n_rows if n_docs is None else n_docs
    sizes = np.fromiter((0 if p is None else len(p) for p in principal), dtype=np.int64, count=n_rows)
    at = np.concatenate(
        [np.empty(0, dtype=np.int64)] + [np.asarray(p, dtype=np.int64) for p in principal if p is not None]
    )
    entries = np.repeat(indptr[:-1].astype(np.int64), sizes) + at
    cols = indices[entries]
    values = np.log((n + 1) / (doc_freq[cols] + 0.5))
    out = sparse.csr_matrix(
        (values, cols, np.concatenate(([0], np.cumsum(sizes)))), shape=matrix.shape, dtype=np.float64
    )
    out.sort_indices()
    return out


def _row_maxima(weights: sparse.csr_matrix) -> sparse.csr_matrix:
    """Per row, its largest entry alone, as a 1 (ties: the first column); empty rows stay empty."""
    indptr = weights.indptr
    sizes = np.diff(indptr)
    rows = np.flatnonzero(sizes)
    cols = np.empty(len(rows), dtype=weights.indices.dtype)
    if len(rows):
        # Highest value first inside each row, then the smaller column: the first entry of a run.
        row_of = np.repeat(np.arange(weights.shape[0]), sizes)
        order = np.lexsort((weights.indices, -weights.data, row_of))
        cols = weights.indices[order[indptr[rows]]]
    out_indptr = np.zeros(weights.shape[0] + 1, dtype=np.int64)
    out_indptr[1:] = np.cumsum(sizes > 0)
    return sparse.csr_matrix((np.ones(len(rows)), cols, out_indptr), shape=weights.shape)


def _pair_cover(
    scattered: sparse.csr_matrix,
    read: sparse.csr_matrix,
    left: np.ndarray,
    right: np.ndarray,
    *,
    threads: int = 1,
) -> np.ndarray:
    """Per pair (left[k], right[k]): the sum of `read`'s row right[k] over the columns that
    `scattered`'s row left[k] holds (each right row is short: principal specifics)."""
    return _reduce_runs(scattered, read, left, right, minimum=False, mark=True, threads=threads)


def neighbourhood_levels(
    n_items: int, pairs: npt.NDArray[np.int64], scores: npt.NDArray[np.float64], k: int
) -> npt.NDArray[np.float64]:
    """Each item's typical score to its closest stories: the mean of its `k` best candidate
    scores, missing neighbours counting as 0 (all zeros when `k` is 0).

    Why: how high an event score must be to mean "same event" depends on the neighbourhood.
    On a crowded topic (two fires, two arrests of players of one team, one boxer's two title
    fights) every story scores high against every other, its own event's and the other
    event's alike; a feature that each outlet told its own way scores lower even with its own
    event. Scaling a crowded pair's score down by its items' levels (local scaling, as in
    self-tuning spectral clustering, or the hub correction of cross-lingual retrieval) asks a
    story in a crowd for more than its neighbours show before it joins them."""
    levels = np.zeros(n_items, dtype=np.float64)
    if k <= 0 or len(pairs) == 0:
        return levels
    items, edges, rank = edge_ranks(pairs, scores)
    best = rank < k
    np.add.at(levels, items[best], np.maximum(scores[edges[best]], 0.0))
    return levels / k


def edge_ranks(
    pairs: npt.NDArray[np.integer[Any]], scores: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.integer[Any]], npt.NDArray[np.integer[Any]], npt.NDArray[np.integer[Any]]]:
    """Every edge seen from each of its two ends, as (item, edge index, rank): rank 0 is the
    item's strongest edge; equal scores rank by edge index (an item's edges where it is the
    first end before those where it is the second), so the result is deterministic.

    One stable sort of the scores, then a counting pass by item (`rank_edges_by_item`), which
    costs less than half of two stable sorts of both ends' entries. The three arrays are 32-bit
    while the entries fit (an incremental run ranks every stored edge: half the memory)."""
    n_edges = len(pairs)
    small = 2 * n_edges < 2**31 and (n_edges == 0 or int(pairs.max()) < 2**31)
    index: type[np.integer[Any]] = np.int32 if small else np.int64
    items: npt.NDArray[np.integer[Any]] = np.empty(2 * n_edges, dtype=index)
    edges: npt.NDArray[np.integer[Any]] = np.empty(2 * n_edges, dtype=index)
    ranks: npt.NDArray[np.integer[Any]] = np.empty(2 * n_edges, dtype=index)
    if n_edges:
        by_score = np.argsort(-scores, kind="stable")
        ends = pairs if pairs.dtype.kind in "iu" else pairs.astype(np.int64)
        values = scores.astype(np.float64, copy=False)
        rank_edges_by_item(by_score, values, ends[:, 0], ends[:, 1], items, edges, ranks)
    return items, edges, ranks


def positions_in_runs(keys: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """For sorted `keys`, each element's position inside its run of equal keys (0, 1, 2, ...)."""
    first = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
    positions: npt.NDArray[np.int64] = np.arange(len(keys)) - np.repeat(
        first, np.diff(np.concatenate((first, [len(keys)])))
    )
    return positions
