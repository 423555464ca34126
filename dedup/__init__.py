"""Exact, near-copy and same-event grouping of cleaned news documents (MinHash + LSH at the core).

`group_documents` is imported on first use: the cleaning workers import `newsclean.dedup.signing`
(and so this package) without needing the grouping, whose imports (the scoring space, scipy's
sparse matrices, the linkage) would cost every worker time and memory.
"""

from typing import Any

from newsclean.dedup.types import Assignment, DedupDoc, Grouping, Relation

__all__ = ["Assignment", "DedupDoc", "Grouping", "Relation", "group_documents"]


def __getattr__(name: str) -> Any:
    if name == "group_documents":
        from newsclean.dedup.grouping import group_documents

        return group_documents
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
