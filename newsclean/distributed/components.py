"""Clustering on a cluster: connected components of the edge graph, then each component's
clustering in parallel.

Why this is the local clustering: average linkage merges only along edges, and a lone story
joins only a cluster it has edges into (`newsclean.dedup.linkage`), so no cluster crosses a
connected component, and inside one the merges happen in the same order whatever happens in
the others. Each partition clusters a set of whole components with the local engine's own
clustering step (`dedup.grouping.cluster_units`), over its items in their global order and its edges in
their global order (so every tie breaks, and every sum adds up, as over the whole graph), and
maps the labels back (a label is an item of its cluster). `newsclean.dedup.grouping`'s
`_recluster_around` relies on the same property.

Components come from a tree reduce of spanning forests: each partition of edges is reduced to
a forest (each node with its component's smallest node), and two forests reduce to the forest
of their union. A forest holds at most one entry per item: no step holds every edge.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from distributed import Client, Future
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from newsclean.dedup.grouping import cluster_units
from newsclean.dedup.linkage import Edges
from newsclean.distributed.partitions import bounds
from newsclean.settings import DedupSettings

I64Array = npt.NDArray[np.int64]
Forest = tuple[I64Array, I64Array]  # (nodes, each node's smallest node of its component), sorted


def forest_of(pairs: I64Array) -> Forest:
    """The spanning forest of an edge list: every node it touches, with its component's
    smallest node."""
    if len(pairs) == 0:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty
    nodes = np.unique(pairs)
    local = np.searchsorted(nodes, pairs)
    n = len(nodes)
    graph = sparse.coo_matrix((np.ones(len(local)), (local[:, 0], local[:, 1])), shape=(n, n))
    part = connected_components(graph, directed=False)[1]
    smallest = np.full(part.max() + 1, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(smallest, part, nodes)  # nodes are sorted: the first of each part is its least
    return nodes, smallest[part]


def merge_forests(*forests: Forest) -> Forest:
    """The forest of the union of forests' edges (node, root)."""
    pairs = np.concatenate([np.stack(f, axis=1) for f in forests]) if forests else np.empty((0, 2), np.int64)
    return forest_of(pairs.astype(np.int64, copy=False))


def components(client: Client, n_items: int, pairs: I64Array, partitions: int = 2) -> I64Array:
    """Per item, the smallest item of its connected component in the graph of `pairs`
    (an item without edges is its own), by a tree reduce of forests over `partitions`."""
    level: list[Future] = [
        client.submit(forest_of, pairs[lo:hi]) for lo, hi in bounds(len(pairs), max(1, partitions))
    ]
    while len(level) > 1:  # pairwise, so each step holds two forests
        level = [client.submit(merge_forests, *level[i : i + 2]) for i in range(0, len(level), 2)]
    nodes, roots = client.gather(level[0])
    root = np.arange(n_items, dtype=np.int64)
    root[nodes] = roots
    return root


def cluster_labels(
    client: Client,
    n_items: int,
    edges: Edges,
    days: I64Array,
    settings: DedupSettings,
    partitions: int = 2,
) -> list[int]:
    """`cluster_units(days, edges, settings)` (average linkage, then lone items) computed per
    connected component on `client`'s workers, in `partitions` partitions of whole components."""
    parts = max(1, partitions)
    root = components(client, n_items, edges.pairs, parts)
    # Components go to partitions by their root; edges follow their first end's component.
    owner = root % parts
    edge_owner = owner[edges.pairs[:, 0]] if len(edges) else np.empty(0, dtype=np.int64)
    futures = []
    for k in range(parts):
        items = np.flatnonzero(owner == k)
        mine = np.flatnonzero(edge_owner == k)  # in their global order
        futures.append(
            client.submit(_cluster_part, items, days[items], edges.pairs[mine], edges.weights[mine], settings)
        )
    labels = np.arange(n_items, dtype=np.int64)
    for k, (items, part_labels) in enumerate(client.gather(futures)):
        del k
        labels[items] = part_labels
    return [int(x) for x in labels]


def _cluster_part(
    items: I64Array,
    days: I64Array,
    pairs: I64Array,
    weights: npt.NDArray[np.float64],
    settings: DedupSettings,
) -> tuple[I64Array, I64Array]:
    """One partition's components clustered by the local step, over items renumbered in their
    order; its labels as global items."""
    local = np.searchsorted(items, pairs)
    # The local engine's own clustering step: its rules, never a copy here.
    labels = cluster_units(days, Edges(local.astype(np.int64), weights), settings)
    return items, items[np.asarray(labels, dtype=np.int64)]
