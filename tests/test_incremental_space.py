"""The incremental grouping's pieces against the full grouping's own functions: the snapshot
space scores as `EventSpace` does, the kept LSH index finds what `candidate_pairs` finds, and
settling new items follows a fresh clustering without splitting earlier clusters."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from newsclean.dedup.event_space import EventSpace
from newsclean.dedup.incremental import (
    BandIndex,
    Statistics,
    StatisticsBuilder,
    _in_pair_order,
    fresh_labels,
    match_clusters,
    settle,
    snapshot_space,
)
from newsclean.dedup.linkage import CANNOT_LINK, Edges
from newsclean.dedup.lsh import candidate_pairs
from newsclean.dedup.rows import Columns, RowBlock, RowStore
from newsclean.dedup.signing import Signer
from newsclean.settings import DedupSettings
from support import INPUTS, SEEDS


def _texts() -> list[tuple[str, str | None]]:
    texts = [(p.read_text(encoding="utf-8"), None) for p in sorted(SEEDS.glob("*.txt"))]
    texts += [(p.read_text(encoding="utf-8", errors="replace"), None) for p in sorted(INPUTS.glob("*.txt"))]
    halves = [(t[: len(t) // 2], "A headline about Okinawa") for t, _ in texts if len(t) > 400]
    # A headline with a rare subject, which the untitled stories never name: they disagree with it.
    named = texts[0][0][: len(texts[0][0]) // 2] + (
        "\n\nAnalysts at Qarzenthal Holdings said on Monday that the Qarzenthal board would meet again."
    )
    halves.append((named, "Qarzenthal Holdings weighs the fallout"))
    return [(t, title) for t, title in texts + halves if t.strip()]


def test_a_snapshot_of_the_items_themselves_scores_as_event_space() -> None:
    settings = DedupSettings()
    texts = _texts()
    signatures = Signer(settings).sign([t for t, _ in texts], [title for _, title in texts])
    own = EventSpace(  # as event_graph makes it
        [(g.term_ids, g.term_counts) for g in signatures],
        [g.event_parts() for g in signatures],
        overlap_offset=settings.event_overlap_offset,
        overlap_reference=settings.event_overlap_reference,
    )
    snap = snapshot_space(signatures, Statistics.of(signatures), settings)
    n = len(signatures)
    left, right = np.triu_indices(n, 1)
    left, right = left.astype(np.int64), right.astype(np.int64)
    assert np.allclose(snap.pair_scores(left, right), own.pair_scores(left, right), atol=1e-12)
    assert np.allclose(snap.pair_conflicts(left, right), own.pair_conflicts(left, right), atol=1e-12)
    assert np.array_equal(snap.pair_disagreements(left, right), own.pair_disagreements(left, right))
    assert own.pair_scores(left, right).max() > 0.1  # the texts do share events
    assert own.pair_disagreements(left, right).any()  # and untitled stories miss a rare subject
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


def test_settling_follows_a_fresh_clustering_without_splitting_earlier_clusters() -> None:
    settings = DedupSettings(linkage_threshold=0.3, lone_story_fit=0.0, event_span_days=0)
    days = np.full(7, -1, dtype=np.int64)
    # Items 0-2: an earlier cluster A, whose item 2 really belongs with the new items 3 and 4;
    # items 5-6: an earlier cluster B of the same event as A's 0 and 1.
    pairs = [(0, 1, 0.9), (0, 2, 0.35), (1, 2, 0.35), (2, 3, 0.9), (2, 4, 0.9), (3, 4, 0.9), (0, 5, 0.8),
             (1, 5, 0.8), (0, 6, 0.8), (1, 6, 0.8), (5, 6, 0.9)]  # fmt: skip
    edges = Edges(np.array([p[:2] for p in pairs], dtype=np.int64), np.array([p[2] for p in pairs]))
    old = np.array([0, 0, 0, -1, -1, 1, 1], dtype=np.int64)
    fresh = fresh_labels(7, edges, days, settings)
    assert _partition(fresh.tolist()) == {frozenset({0, 1, 5, 6}), frozenset({2, 3, 4})}
    labels = settle(old, edges, days, settings).tolist()
    # A and B merge (most of each is in one fresh cluster); 2 stays with A (no split); 3 and 4
    # do not follow 2 into A: their fresh cluster holds no earlier cluster's majority.
    assert _partition(labels) == {frozenset({0, 1, 2, 5, 6}), frozenset({3, 4})}
    # With no earlier clusters, settling is the fresh clustering.
    alone = settle(np.full(7, -1, dtype=np.int64), edges, days, settings).tolist()
    assert _partition(alone) == _partition(fresh.tolist())


def test_a_refresh_that_may_split_keeps_each_id_where_most_of_its_documents_go() -> None:
    # The clustering above: earlier cluster A (0, older) held d0-d2, B (1) held d5-d6; the fresh
    # clustering puts d0, d1, d5, d6 together and d2 with the new d3 and d4.
    fresh = [["d0", "d1", "d5", "d6"], ["d2", "d3", "d4"]]
    earlier = {"d0": 0, "d1": 0, "d2": 0, "d5": 1, "d6": 1}
    matching = match_clusters(fresh, earlier, lambda c: (c, ""))
    assert matching.kept == [0, None]  # A's id stays where 2 of its 3 went; the other part is new
    assert matching.retired == [(1, 0)]  # B went whole into the cluster that keeps A's id
    assert matching.splits == [(0, 1, ["d2"])]  # d2 split off A, recorded by name
    # A tie goes to the first fresh cluster; the older id wins a fresh cluster two belong to.
    tie = match_clusters([["x", "y"], ["z"]], {"x": 1, "y": 0, "z": 1}, lambda c: (-c, ""))
    assert tie.kept == [1, None] and tie.retired == [(0, 1)] and tie.splits == [(1, 1, ["z"])]


def test_settling_keeps_a_cannot_link_apart_as_the_full_grouping_does() -> None:
    settings = DedupSettings(linkage_threshold=0.3, lone_story_fit=0.0, event_span_days=0)
    days = np.full(4, -1, dtype=np.int64)
    # Items 0-2: an earlier cluster; the new item 3 belongs with 0 and 1 but has a different
    # subject from 2 (a cannot-link), so the fresh clustering leaves 2 out of their cluster.
    pairs = [(0, 1, 0.9), (0, 3, 0.9), (1, 3, 0.9), (0, 2, 0.35), (1, 2, 0.35), (2, 3, CANNOT_LINK)]
    edges = Edges(np.array([p[:2] for p in pairs], dtype=np.int64), np.array([p[2] for p in pairs]))
    assert _partition(fresh_labels(4, edges, days, settings).tolist()) == {
        frozenset({0, 1, 3}),
        frozenset({2}),
    }
    # The earlier cluster does not split, and 3 may not join it while 2 is in it.
    old = np.array([0, 0, 0, -1], dtype=np.int64)
    assert _partition(settle(old, edges, days, settings).tolist()) == {frozenset({0, 1, 2}), frozenset({3})}
    # Two earlier clusters with a cannot-link between them do not merge either.
    old = np.array([0, 0, 1, 2], dtype=np.int64)
    two = Edges(np.array([[0, 1], [0, 3], [1, 3], [0, 2], [1, 2], [2, 3]]), edges.weights)
    merged = _partition(settle(old, two, days, settings).tolist())
    assert not any({2, 3} <= group for group in merged)


def _partition(labels: list[int]) -> set[frozenset[int]]:
    groups: dict[int, set[int]] = {}
    for item, label in enumerate(labels):
        groups.setdefault(label, set()).add(item)
    return {frozenset(g) for g in groups.values()}


def test_stored_rows_score_as_the_space_they_were_taken_from(tmp_path: Path) -> None:
    """Rows kept between runs (`newsclean.dedup.rows`): taken from a space, renumbered in global
    columns (ids unseen by the snapshot get new ones), saved as a segment, mapped back and
    gathered in any order and from several segments, they give the space's own scores."""
    settings = DedupSettings()
    texts = _texts()
    signatures = Signer(settings).sign([t for t, _ in texts], [title for _, title in texts])
    half = len(signatures) // 2
    # The snapshot knows the first half only: the second half brings ids it never saw.
    stats = Statistics.of(signatures[:half])
    space = snapshot_space(signatures, stats, settings)
    columns = Columns(stats.feature_ids, stats.event_ids)
    near = np.stack([g.near for g in signatures])
    shingles = np.asarray([g.n_shingles for g in signatures], dtype=np.int64)
    first = RowBlock.of_space(
        snapshot_space(signatures[:half], stats, settings), columns, near[:half], shingles[:half]
    )
    assert not columns.extra_features  # the snapshot's own items use its columns
    rest = RowBlock.of_space(
        snapshot_space(signatures[half:], stats, settings), columns, near[half:], shingles[half:]
    )
    assert columns.extra_features and columns.extra_events
    first.save(tmp_path / "a")
    store = RowStore(columns, ["a"], [], [], root=tmp_path)
    store.grow(len(signatures))
    for k in range(half):
        store.doc_segment[k], store.doc_offset[k] = 0, k
    store.add(list(range(half, len(signatures))), rest)
    order = np.random.default_rng(5).permutation(len(signatures))
    gathered = store.gather(order.tolist()).space(
        columns,
        overlap_offset=settings.event_overlap_offset,
        overlap_reference=settings.event_overlap_reference,
    )
    position = np.argsort(order)  # where each item sits in the gathered rows
    left, right = (x.astype(np.int64) for x in np.triu_indices(len(signatures), 1))
    options = {"rtol": 1e-12, "atol": 1e-12}
    assert np.allclose(
        gathered.pair_scores(position[left], position[right]), space.pair_scores(left, right), **options
    )
    assert np.allclose(
        gathered.pair_conflicts(position[left], position[right]), space.pair_conflicts(left, right), **options
    )
    assert np.array_equal(
        gathered.pair_disagreements(position[left], position[right]), space.pair_disagreements(left, right)
    )
    near_only = store.gather(order.tolist(), near_only=True)
    assert np.array_equal(near_only.near, near[order]) and np.array_equal(
        near_only.n_shingles, shingles[order]
    )
    # The pending rows become a segment of their own, read back the same.
    block = store.pending_segment("b")
    assert block is not None
    block.save(tmp_path / "b")
    reopened = RowStore(columns, ["a", "b"], store.doc_segment, store.doc_offset, root=tmp_path)
    again = reopened.gather(order.tolist())
    for name, matrix in again.matrices.items():
        assert (matrix != store.gather(order.tolist()).matrices[name]).nnz == 0, name
    reopened.release()


def test_kept_edges_come_out_in_pair_order_as_a_sort_would_give() -> None:
    """`_in_pair_order` merges this run's edges into the stored ones (already in pair order);
    the result is what sorting all kept edges by pair gives, also when the stored ones are out
    of order."""
    rng = np.random.default_rng(5)
    codes = np.unique(rng.integers(0, 300 * 300, 2000))
    stored = np.stack((codes // 300, codes % 300), axis=1).astype(np.int32)
    stored = stored[stored[:, 0] < stored[:, 1]]
    new = np.stack((rng.choice(300, 150, replace=False), np.full(150, 300)), axis=1).astype(np.int32)
    for old in (stored, stored[rng.permutation(len(stored))]):
        pairs = np.concatenate((old, new))
        weights = rng.random(len(pairs))
        keep = rng.random(len(pairs)) < 0.7
        order = np.lexsort((pairs[keep, 1], pairs[keep, 0]))
        first, second, kept_weights = _in_pair_order(pairs, weights, keep, len(old))
        assert np.array_equal(first, pairs[keep][order][:, 0])
        assert np.array_equal(second, pairs[keep][order][:, 1])
        assert np.array_equal(kept_weights, weights[keep][order])
        assert first.dtype == second.dtype == np.int32
