"""Disjoint sets, for relations that are transitive (exact and near copies)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Generic, TypeVar

K = TypeVar("K", str, int)


class UnionFind(Generic[K]):
    """Disjoint sets over ids; the smallest id is each set's root, so results are stable."""

    def __init__(self, items: Iterable[K]) -> None:
        self.parent: dict[K, K] = {item: item for item in items}

    def find(self, item: K) -> K:
        root = item
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[item] != root:
            self.parent[item], item = root, self.parent[item]
        return root

    def union(self, a: K, b: K) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            if rb < ra:
                ra, rb = rb, ra
            self.parent[rb] = ra

    def groups(self) -> dict[K, list[K]]:
        out: dict[K, list[K]] = defaultdict(list)
        for item in sorted(self.parent):
            out[self.find(item)].append(item)
        return dict(out)
