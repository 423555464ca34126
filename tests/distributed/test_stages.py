"""Each distributed stage equals the local function it stands for, at 1, 2 and 7 partitions, on
a real 2-worker LocalCluster. The local functions are called here, at run time: as the grouping
rules change, the comparison follows them."""

from __future__ import annotations

import random

import numpy as np
import pytest
from distributed import Client

from newsclean.dedup.event_space import tfidf_matrix
from newsclean.dedup.grouping import EventGraph, cluster_units, event_graph
from newsclean.dedup.linkage import Edges, connected_parts
from newsclean.dedup.lsh import candidate_codes
from newsclean.dedup.signing import Signer
from newsclean.dedup.terms import term_arrays, term_counts
from newsclean.dedup.types import DedupDoc
from newsclean.distributed import components as dc
from newsclean.distributed import lsh as dl
from newsclean.distributed import stats as ds
from newsclean.settings import DedupSettings
from support import SEEDS

PARTITIONS = (1, 2, 7)


def _signatures(n: int, seed: int) -> np.ndarray:
    """MinHash-like rows over a small alphabet, so bands collide, some buckets far over a cap;
    a few rows planted as near copies of others."""
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, 3, size=(n, 64), dtype=np.uint64)
    for i in range(0, n - 1, 5):
        rows[i + 1, :48] = rows[i, :48]
    return rows.astype(np.uint32)


@pytest.mark.parametrize("partitions", PARTITIONS)
def test_lsh_shuffle_gives_the_local_candidates(client: Client, partitions: int) -> None:
    signatures = _signatures(600, seed=partitions)
    order = np.random.default_rng(3).permutation(600)
    skip = np.zeros(600, dtype=bool)
    skip[::37] = True
    for threshold, cap in ((0.5, 0), (0.3, 16), (0.8, 4)):
        local = candidate_codes(signatures, threshold, order=order, bucket_cap=cap, skip=skip)
        parts = dl.candidate_codes(
            client, signatures, threshold, order=order, bucket_cap=cap, skip=skip, partitions=partitions
        )
        assert len(parts) == partitions
        assert len(local) > 100  # the case has candidates, and capped buckets when cap > 0
        np.testing.assert_array_equal(np.concatenate(parts), local)


def _random_edges(n: int, seed: int) -> Edges:
    """A graph of many small parts (edges inside blocks of ten, a few across), weights above
    and below the cut."""
    rng = random.Random(seed)
    edges: dict[tuple[int, int], float] = {}
    for _ in range(2 * n):
        a = rng.randrange(n)
        b = a - a % 10 + rng.randrange(10) if rng.random() < 0.98 else rng.randrange(n)
        if a != b:
            edges[(min(a, b), max(a, b))] = rng.uniform(0.01, 0.6)
    return Edges.of(edges)


@pytest.mark.parametrize("partitions", PARTITIONS)
def test_components_are_the_connected_parts(client: Client, partitions: int) -> None:
    n = 500
    edges = _random_edges(n, seed=partitions)
    root = dc.components(client, n, edges.pairs, partitions)
    parts = connected_parts(n, edges.pairs)
    # The same partition of the items: one root per part and one part per root.
    assert len({(int(r), int(p)) for r, p in zip(root, parts, strict=True)}) == len(set(parts.tolist()))
    assert len(set(root.tolist())) == len(set(parts.tolist())) > 10


@pytest.mark.parametrize("partitions", PARTITIONS)
def test_per_component_clustering_equals_the_local_clustering(client: Client, partitions: int) -> None:
    settings = DedupSettings()
    n = 500
    edges = _random_edges(n, seed=10 + partitions)
    rng = np.random.default_rng(partitions)
    days = np.where(rng.random(n) < 0.8, 738000 + rng.integers(0, 60, n), -1).astype(np.int64)
    local = cluster_units(days, edges, settings)
    assert len(set(local)) < n - 50  # the clustering does merge here
    assert dc.cluster_labels(client, n, edges, days, settings, partitions) == local


def _seed_graph() -> EventGraph:
    texts = sorted(SEEDS.glob("*.txt"))
    docs = [DedupDoc(p.stem, p.read_text(encoding="utf-8"), None, None, None) for p in texts]
    # Every seed twice more, lightly edited: copies and same-event edges for the graph.
    docs += [DedupDoc(f"{d.id}-b", d.text.replace(".", ";", 3), None, None, None) for d in docs]
    settings = DedupSettings()
    signatures = Signer(settings).sign([d.text for d in docs], [d.title for d in docs])
    return event_graph(zip(docs, signatures, strict=True), settings)


@pytest.mark.parametrize("partitions", PARTITIONS)
def test_per_component_clustering_of_a_real_event_graph(client: Client, partitions: int) -> None:
    graph = _seed_graph()
    local = graph._cluster(graph.days, graph.edges)
    n = len(graph.units)
    assert dc.cluster_labels(client, n, graph.edges, graph.days, graph.settings, partitions) == local


def _features() -> tuple[list[np.ndarray], list[np.ndarray]]:
    texts = [p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt"))]
    paragraphs = [para for text in texts for para in text.split("\n\n") if para.strip()]
    arrays = [term_arrays(term_counts(para, {})) for para in paragraphs]
    arrays.append((np.empty(0, dtype=np.uint64), np.empty(0, dtype=np.uint32)))  # an empty document
    return [a[0] for a in arrays], [a[1] for a in arrays]


@pytest.mark.parametrize("partitions", PARTITIONS)
def test_document_frequencies_and_tfidf_rows_equal_the_local_matrix(client: Client, partitions: int) -> None:
    ids, counts = _features()
    local = tfidf_matrix(ids, counts)
    rows = ds.tfidf_matrix(client, ids, counts, partitions)
    assert len(rows) == partitions
    stacked = ds.sparse.vstack(rows, format="csr")
    assert stacked.shape == local.shape
    np.testing.assert_array_equal(stacked.indptr, local.indptr)
    np.testing.assert_array_equal(stacked.indices, local.indices)
    np.testing.assert_array_equal(stacked.data, local.data)  # to the bit
    vocabulary, doc_freq = ds.document_frequencies(client, ids, partitions)
    assert len(vocabulary) == local.shape[1]
    assert int(doc_freq.sum()) == sum(len(x) for x in ids)
