"""Exact, near-copy and same-event grouping of cleaned news documents (MinHash + LSH at the core)."""

from newsclean.dedup.grouping import group_documents
from newsclean.dedup.types import Assignment, DedupDoc, Grouping, Relation

__all__ = ["Assignment", "DedupDoc", "Grouping", "Relation", "group_documents"]
