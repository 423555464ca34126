"""Exact, near-copy and same-event grouping of cleaned news documents (MinHash + LSH at the core)."""

from dedup.grouping import group_documents
from dedup.types import Assignment, DedupDoc, Grouping, Relation

__all__ = ["Assignment", "DedupDoc", "Grouping", "Relation", "group_documents"]
