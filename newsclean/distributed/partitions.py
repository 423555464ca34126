"""Splitting work into partitions: contiguous ranges, the unit every distributed stage maps over."""

from __future__ import annotations

from itertools import pairwise


def bounds(n_items: int, parts: int) -> list[tuple[int, int]]:
    """`parts` contiguous [first, last) ranges covering 0..n_items, sizes differing by at most one
    (empty ranges when there are fewer items than parts)."""
    parts = max(1, parts)
    cuts = [n_items * k // parts for k in range(parts + 1)]
    return list(pairwise(cuts))
