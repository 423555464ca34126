"""The incremental grouping's pieces against the full grouping's own functions: the snapshot
space scores as `EventSpace` does, the kept LSH index finds what `candidate_pairs` finds, and
block linkage over single items is average linkage."""

from __future__ import annotations

import numpy as np

from newsclean.dedup.event_space import EventSpace
from newsclean.dedup.incremental import (
    BandIndex,
    Statistics,
    StatisticsBuilder,
    block_linkage,
    snapshot_space,
    space_inputs,
)
from newsclean.dedup.linkage import Edges, average_linkage
from newsclean.dedup.lsh import candidate_pairs
from newsclean.dedup.signing import Signer
from newsclean.settings import DedupSettings
from support import INPUTS, SEEDS


def _texts() -> list[tuple[str, str | None]]:
    texts = [(p.read_text(encoding="utf-8"), None) for p in sorted(SEEDS.glob("*.txt"))]
    texts += [(p.read_text(encoding="utf-8", errors="replace"), None) for p in sorted(INPUTS.glob("*.txt"))]
    halves = [(t[: len(t) // 2], "A headline about Okinawa") for t, _ in texts if len(t) > 400]
    return [(t, title) for t, title in texts + halves if t.strip()]


def test_a_snapshot_of_the_items_themselves_scores_as_event_space() -> None:
    settings = DedupSettings()
    texts = _texts()
    signatures = Signer(settings).sign([t for t, _ in texts], [title for _, title in texts])
    own = EventSpace(
        [(g.term_ids, g.term_counts) for g in signatures],
        [space_inputs(g) for g in signatures],
        overlap_offset=settings.event_overlap_offset,
        overlap_reference=settings.event_overlap_reference,
    )
    snap = snapshot_space(signatures, Statistics.of(signatures), settings)
    n = len(signatures)
    left, right = np.triu_indices(n, 1)
    left, right = left.astype(np.int64), right.astype(np.int64)
    assert np.allclose(snap.pair_scores(left, right), own.pair_scores(left, right), atol=1e-12)
    assert np.allclose(snap.pair_conflicts(left, right), own.pair_conflicts(left, right), atol=1e-12)
    assert own.pair_scores(left, right).max() > 0.1  # the texts do share events
    # Statistics of a stream equal those of the list (copies of one text counted once).
    builder = StatisticsBuilder()
    for g in [*signatures, signatures[0]]:
        builder.add(g)
    streamed = builder.finish()
    whole = Statistics.of(signatures)
    assert streamed.n_items == whole.n_items
    assert np.array_equal(streamed.feature_ids, whole.feature_ids)
    assert np.array_equal(streamed.feature_df, whole.feature_df)
    assert np.array_equal(streamed.event_df, whole.event_df)


def test_the_kept_index_finds_the_candidates_lsh_pairs() -> None:
    rng = np.random.default_rng(3)
    base = rng.integers(0, 2**32, size=(40, 128), dtype=np.uint64).astype(np.uint32)
    signatures = base.copy()
    signatures[20:] = base[:20]
    signatures[20:, :60] = rng.integers(0, 2**32, size=(20, 60), dtype=np.uint64).astype(np.uint32)
    threshold = 0.3
    expected = {tuple(p) for p in candidate_pairs(signatures, threshold).tolist()}
    assert expected
    index = BandIndex.build(signatures[:30], threshold, np.arange(30), np.zeros(30, dtype=np.int64))
    query, rows = index.lookup(signatures[30:], threshold, np.zeros(10, dtype=np.int64), bucket_cap=0)
    found = {(int(r), int(q) + 30) for q, r in zip(query.tolist(), rows.tolist(), strict=True)}
    assert found == {p for p in expected if p[0] < 30 <= p[1]}


def test_block_linkage_of_single_items_is_average_linkage() -> None:
    rng = np.random.default_rng(7)
    for trial in range(20):
        n = 30
        pairs = np.array(
            [(a, b) for a in range(n) for b in range(a + 1, n) if rng.random() < 0.2], dtype=np.int64
        )
        weights = rng.random(len(pairs)) * 0.6
        edges = Edges(pairs, weights)
        days = rng.integers(0, 60, size=n).astype(np.int64) if trial % 2 else np.full(n, -1, dtype=np.int64)
        span = 20 if trial % 2 else 0
        expected = average_linkage(n, edges, 0.25, days, span)
        got = block_linkage(np.arange(n, dtype=np.int64), edges, 0.25, days, span)
        assert _partition(got.tolist()) == _partition(expected)


def test_blocks_stay_whole() -> None:
    # Items 0-1 are one block; 2 likes 1 far more than 0: as single items 1 and 2 would pair.
    pairs = np.array([(0, 1), (1, 2), (0, 2)], dtype=np.int64)
    edges = Edges(pairs, np.array([0.3, 0.9, 0.0]))
    labels = block_linkage(np.array([0, 0, 2]), edges, 0.3, np.full(3, -1, dtype=np.int64), 0)
    assert labels.tolist() == [0, 0, 0]  # average (0.9 + 0) / 2 = 0.45 >= 0.3
    labels = block_linkage(np.array([0, 0, 2]), edges, 0.5, np.full(3, -1, dtype=np.int64), 0)
    assert labels.tolist() == [0, 0, 2]  # 0.45 < 0.5: 2 stays out, the block stays whole


def _partition(labels: list[int]) -> set[frozenset[int]]:
    groups: dict[int, set[int]] = {}
    for item, label in enumerate(labels):
        groups.setdefault(label, set()).add(item)
    return {frozenset(g) for g in groups.values()}
