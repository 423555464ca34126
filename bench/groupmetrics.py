"""Scores for a grouping of documents against labelled groups.

Kept apart from `dedup.py` so that the arithmetic (which decides whether a change to newsclean
is an improvement) is small enough to read and check by hand, and so other benchmarks can reuse
it. Everything works from pair counts of a contingency table, so no pair is ever enumerated and
the cost stays linear in the number of documents even for a baseline that puts everything in
one giant group.

Definitions (as the project's shared README asks):
- adjusted Rand index (ARI), Hubert & Arabie's form, identical to scikit-learn's
  `adjusted_rand_score`;
- pairwise precision / recall / F1 over all pairs of documents put in the same group:
  precision = true pairs predicted / pairs predicted, recall = true pairs predicted / true pairs.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass


def _pairs(n: int) -> int:
    return n * (n - 1) // 2


@dataclass(frozen=True, slots=True)
class PairScores:
    """Pair counts of one comparison and the figures derived from them."""

    n_docs: int
    true_pairs: int  # pairs in the same labelled group
    pred_pairs: int  # pairs in the same predicted group
    both_pairs: int  # pairs in the same group in both
    ari: float

    @property
    def precision(self) -> float:
        """NaN when nothing was grouped: "no pairs predicted" is not a precision of 1."""
        return self.both_pairs / self.pred_pairs if self.pred_pairs else math.nan

    @property
    def recall(self) -> float:
        return self.both_pairs / self.true_pairs if self.true_pairs else math.nan

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        if math.isnan(p) or math.isnan(r) or p + r == 0:
            return math.nan if (math.isnan(p) or math.isnan(r)) else 0.0
        return 2 * p * r / (p + r)


def score(
    truth: Mapping[str, Hashable],
    pred: Mapping[str, Hashable],
    ids: Iterable[str] | None = None,
) -> PairScores:
    """Compare two labellings on `ids` (default: every id of `truth`).

    A document missing from `pred` counts as a singleton (a grouper that drops a document has not
    grouped it with anything). Restricting to `ids` (one dataset, say) keeps the predicted labels
    as they are, so a group that spans datasets is judged inside each dataset only; cross-dataset
    merges show up in the overall score.
    """
    keys = list(truth) if ids is None else list(ids)
    n = len(keys)
    cont: Counter[tuple[Hashable, Hashable]] = Counter()
    t_sizes: Counter[Hashable] = Counter()
    p_sizes: Counter[Hashable] = Counter()
    for k in keys:
        t = truth[k]
        p = pred.get(k, ("__singleton__", k))
        cont[(t, p)] += 1
        t_sizes[t] += 1
        p_sizes[p] += 1
    both = sum(_pairs(c) for c in cont.values())
    true_pairs = sum(_pairs(c) for c in t_sizes.values())
    pred_pairs = sum(_pairs(c) for c in p_sizes.values())
    return PairScores(n, true_pairs, pred_pairs, both, _ari(n, true_pairs, pred_pairs, both))


def _ari(n: int, true_pairs: int, pred_pairs: int, both: int) -> float:
    """ARI from pair counts; 1.0 in the degenerate cases, as scikit-learn defines it."""
    total = _pairs(n)
    if total == 0:
        return 1.0
    expected = true_pairs * pred_pairs / total
    maximum = (true_pairs + pred_pairs) / 2
    if maximum == expected:
        return 1.0
    return (both - expected) / (maximum - expected)


def groups_of(labels: Mapping[str, Hashable]) -> dict[Hashable, list[str]]:
    """Label -> sorted member ids."""
    out: dict[Hashable, list[str]] = defaultdict(list)
    for doc_id, label in labels.items():
        out[label].append(doc_id)
    return {k: sorted(v) for k, v in out.items()}


@dataclass(frozen=True, slots=True)
class MergeError:
    """A predicted group holding documents of more than one labelled group."""

    pred_label: Hashable
    by_truth: dict[Hashable, list[str]]  # labelled group -> its members inside this predicted one

    @property
    def size(self) -> int:
        return sum(len(v) for v in self.by_truth.values())

    @property
    def wrong_pairs(self) -> int:
        """Pairs across different labelled groups: what this merge costs in precision."""
        sizes = [len(v) for v in self.by_truth.values()]
        return _pairs(sum(sizes)) - sum(_pairs(s) for s in sizes)


@dataclass(frozen=True, slots=True)
class SplitError:
    """A labelled group spread over more than one predicted group."""

    truth_label: Hashable
    by_pred: dict[Hashable, list[str]]  # predicted group -> this event's members in it

    @property
    def size(self) -> int:
        return sum(len(v) for v in self.by_pred.values())

    @property
    def missed_pairs(self) -> int:
        """Pairs of this event not put together: what this split costs in recall."""
        sizes = [len(v) for v in self.by_pred.values()]
        return _pairs(sum(sizes)) - sum(_pairs(s) for s in sizes)


def merge_errors(truth: Mapping[str, Hashable], pred: Mapping[str, Hashable]) -> list[MergeError]:
    """Wrongly merged predicted groups, costliest (most wrong pairs) first."""
    out = []
    for label, members in groups_of(pred).items():
        by_truth: dict[Hashable, list[str]] = defaultdict(list)
        for m in members:
            if m in truth:
                by_truth[truth[m]].append(m)
        if len(by_truth) > 1:
            ordered = dict(sorted(by_truth.items(), key=lambda kv: (-len(kv[1]), str(kv[0]))))
            out.append(MergeError(label, ordered))
    out.sort(key=lambda e: (-e.wrong_pairs, -e.size, str(e.pred_label)))
    return out


def split_errors(truth: Mapping[str, Hashable], pred: Mapping[str, Hashable]) -> list[SplitError]:
    """Labelled groups that were split, costliest (most missed pairs) first."""
    out = []
    for label, members in groups_of(truth).items():
        by_pred: dict[Hashable, list[str]] = defaultdict(list)
        for m in members:
            by_pred[pred.get(m, ("__singleton__", m))].append(m)
        if len(by_pred) > 1:
            ordered = dict(sorted(by_pred.items(), key=lambda kv: (-len(kv[1]), str(kv[0]))))
            out.append(SplitError(label, ordered))
    out.sort(key=lambda e: (-e.missed_pairs, -e.size, str(e.truth_label)))
    return out


class UnionFind:
    """Connected components over string ids; used to turn candidate pairs into groups."""

    def __init__(self, ids: Iterable[str] = ()) -> None:
        self._parent: dict[str, str] = {i: i for i in ids}

    def find(self, x: str) -> str:
        parent = self._parent
        parent.setdefault(x, x)
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:  # path compression
            parent[x], x = root, parent[x]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            # Smaller id wins so labels are stable from run to run.
            if rb < ra:
                ra, rb = rb, ra
            self._parent[rb] = ra

    def labels(self) -> dict[str, str]:
        return {x: self.find(x) for x in list(self._parent)}
