"""Average-linkage clustering on a sparse similarity graph.

Average linkage merges two groups only when their members are similar *on average*, so one broad
article that resembles two unrelated stories cannot chain them together (single linkage would).
Pairs that were never candidates count as similarity 0, which is what LSH's silence means; that
keeps memory proportional to the candidate pairs, not to the square of the corpus.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from newsclean.dedup.kernels import greedy_average_linkage

# The weight of a cannot-link edge: its two items never share a cluster (see the kernel).
CANNOT_LINK = -np.inf


@dataclass(frozen=True, slots=True)
class Edges:
    """A sparse similarity graph: an (n, 2) array of item pairs and their weights, in one order.

    Why arrays, not a dict of pairs: a fraction of the memory per edge (held while the run
    writes its records), and the compiled linkage reads them as they are."""

    pairs: npt.NDArray[np.int64]
    weights: npt.NDArray[np.float64]

    @classmethod
    def of(cls, edges: Mapping[tuple[int, int], float]) -> Edges:
        """The edges of a mapping, in its order."""
        pairs = np.array(list(edges), dtype=np.int64).reshape(-1, 2)
        return cls(pairs, np.fromiter(edges.values(), dtype=np.float64, count=len(edges)))

    def __len__(self) -> int:
        return len(self.weights)

    def where(self, mask: npt.NDArray[np.bool_]) -> Edges:
        """The edges the mask keeps, in order."""
        return Edges(self.pairs[mask], self.weights[mask])


def average_linkage(
    n_items: int,
    edges: Edges,
    threshold: float,
    days: npt.NDArray[np.int64] | None = None,
    max_span: int = 0,
) -> list[int]:
    """Cluster label per item: merge the pair of clusters with the highest average similarity
    while that average is at least `threshold`. Ties break on the smaller ids (deterministic).
    With `days` (day ordinals, -1 undated) and `max_span` > 0, no merge makes a cluster whose
    dated items lie more than `max_span` days apart.

    Two clusters merge only when their average similarity reaches the threshold, so only when
    some edge between them does: every cluster lies inside one connected part of the graph of
    edges at or above the threshold, the sums between two clusters of one part hold only that
    part's edges, and inside a part merges happen in the same order whatever happens elsewhere.
    Edges between parts therefore never decide anything and are dropped first, with the same
    labels (`_greedy_average_linkage` on all edges is the definition the tests compare with)."""
    strong = _within_strong_parts(n_items, edges, threshold)
    return _greedy_average_linkage(n_items, strong, threshold, days, max_span)


def connected_parts(n_items: int, pairs: npt.NDArray[np.int64]) -> npt.NDArray[np.int32]:
    """Per item, the number of its connected part in the undirected graph of `pairs`."""
    graph = sparse.coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n_items, n_items))
    parts: npt.NDArray[np.int32] = connected_components(graph, directed=False)[1]
    return parts


def _within_strong_parts(n_items: int, edges: Edges, threshold: float) -> Edges:
    """The edges whose two ends lie in one connected part of the graph of edges >= threshold."""
    pairs = edges.pairs
    part = connected_parts(n_items, pairs[edges.weights >= threshold])
    return edges.where(part[pairs[:, 0]] == part[pairs[:, 1]])


def _greedy_average_linkage(
    n_items: int,
    edges: Edges,
    threshold: float,
    days: npt.NDArray[np.int64] | None = None,
    max_span: int = 0,
) -> list[int]:
    """`average_linkage` over every edge given: the greedy merge loop itself (compiled)."""
    pairs = edges.pairs.astype(np.int64, copy=False)
    weights = edges.weights.astype(np.float64, copy=False)
    day_of = np.full(n_items, -1, dtype=np.int64) if days is None else days.astype(np.int64, copy=False)
    labels = greedy_average_linkage(n_items, pairs[:, 0], pairs[:, 1], weights, threshold, day_of, max_span)
    result: list[int] = labels.tolist()
    return result


def attach_lone_items(
    labels: list[int],
    edges: Edges,
    cut: float,
    fit: float,
    days: npt.NDArray[np.int64] | None = None,
    max_span: int = 0,
) -> list[int]:
    """Labels after each item that clustered alone joins the cluster its median edge into is
    highest for (edges it lacks count as 0), when that median is at least `fit` times the
    cluster's own looseness: the average edge of its least attached member to the others, or
    `cut` where that is higher. `fit` 0 leaves the labels as they are.

    Why: the linkage cut decides whether stories are one event, and it has to stay high
    because joining two clusters that are each an event already loses one. A cluster it has
    formed then shows how closely this event's coverage agrees. A lone story that fits in
    nearly as well as the loosest member already there is one more account, told in its own
    words; one that fits far worse than every member is a related event (examples with their
    scores: docs/tuning.md, lone_story_fit). The median, not the mean: one member that scores
    high against everything (a page of its outlet's furniture, a round-up) must not carry a
    story into a cluster whose other members it does not resemble. Lone items join only
    clusters the linkage formed, never each other, so the order they are taken in does not
    matter. Ties go to the smaller label. With `days` and `max_span` (as `average_linkage`), a
    lone item does not join a cluster it would make span more than `max_span` days; nor one
    that holds an item it has a cannot-link edge (`CANNOT_LINK`) with."""
    if fit <= 0 or not len(edges):
        return labels
    n_items = len(labels)
    label = np.asarray(labels, dtype=np.int64)
    size = np.bincount(label, minlength=n_items)
    pairs, weights = edges.pairs, edges.weights
    # A lone item never joins a cluster that holds an item it cannot link with.
    barred = weights == CANNOT_LINK
    one, two = pairs[barred, 0], pairs[barred, 1]
    barred_keys = np.sort(np.concatenate((one * n_items + label[two], two * n_items + label[one])))
    positive = weights > 0
    pairs, weights = pairs[positive], weights[positive]
    ends = np.concatenate((pairs[:, 0], pairs[:, 1]))
    other = np.concatenate((pairs[:, 1], pairs[:, 0]))
    weight = np.concatenate((weights, weights))
    # Each clustered item's average edge to the rest of its cluster; the cluster's loosest.
    inside = label[ends] == label[other]
    attached = np.bincount(ends[inside], weights=weight[inside], minlength=n_items)
    clustered = size[label] > 1
    member_fit = np.where(clustered, attached / np.maximum(size[label] - 1, 1), np.inf)
    loosest = np.full(n_items, np.inf)
    np.minimum.at(loosest, label[clustered], member_fit[clustered])
    required = fit * np.maximum(loosest, cut)
    # Each lone item's median edge into each cluster of two or more (missing edges are 0s).
    use = (size[label[ends]] == 1) & (size[label[other]] > 1)
    if not use.any():
        return labels
    group = ends[use] * n_items + label[other[use]]
    order = np.lexsort((weight[use], group))
    group, ranked = group[order], weight[use][order]
    keys, start, count = np.unique(group, return_index=True, return_counts=True)
    item, cluster = keys // n_items, keys % n_items
    members = size[cluster]
    zeros = members - count  # the sorted values: that many 0s, then the group's edges

    def value_at(rank: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
        past = rank - zeros
        return np.where(past >= 0, ranked[start + np.maximum(past, 0)], 0.0)

    median = (value_at((members - 1) // 2) + value_at(members // 2)) / 2
    # (sorted search, not np.isin, which hashes in numpy 2.4 and is far slower here)
    at = np.minimum(np.searchsorted(barred_keys, keys), max(len(barred_keys) - 1, 0))
    if len(barred_keys):
        median = np.where(barred_keys[at] == keys, -np.inf, median)
    if days is not None and max_span > 0:  # joins that would stretch a cluster's dates too far
        dated = days >= 0
        earliest = np.full(n_items, np.iinfo(np.int64).max, dtype=np.int64)
        latest = np.full(n_items, -1, dtype=np.int64)
        np.minimum.at(earliest, label[dated], days[dated])
        np.maximum.at(latest, label[dated], days[dated])
        day, lo, hi = days[item], earliest[cluster], latest[cluster]
        too_long = (day >= 0) & (hi >= 0) & ((np.maximum(hi, day) - np.minimum(lo, day)) > max_span)
        median = np.where(too_long, -np.inf, median)
    # Best cluster per lone item: highest median, then the smaller label.
    order = np.lexsort((cluster, -median, item))
    first = np.ones(len(order), dtype=bool)
    first[1:] = item[order][1:] != item[order][:-1]
    best = order[first]
    joins = best[median[best] >= required[cluster[best]]]
    out = label.copy()
    out[item[joins]] = cluster[joins]
    return [int(x) for x in out]
