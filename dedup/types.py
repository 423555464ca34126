"""What goes into grouping and what comes out of it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Relation = Literal["canonical", "exact_duplicate", "near_duplicate", "same_event"]


@dataclass(frozen=True, slots=True)
class DedupDoc:
    """The parts of a cleaned document that grouping looks at."""

    id: str
    text: str
    title: str | None = None
    published: str | None = None  # ISO 8601 date; only the date part is used
    outlet: str | None = None


@dataclass(frozen=True, slots=True)
class Assignment:
    """Where one document landed: its cluster, that cluster's canonical, and how it relates to it."""

    cluster_id: str
    canonical_id: str
    relation: Relation
    similarity: float | None
    # The canonical of this document's copy group (exact and near copies of one text), when that
    # is another document: names what a copy copies even when the cluster's canonical is a
    # different article of the event. None for a document that is its copy group's canonical.
    duplicate_of: str | None = None

    def as_dict(self) -> dict[str, str | float | None]:
        """The fields by name, as `dataclasses.asdict` gives them without its recursive deep
        copy, which is slow over a run's many assignments."""
        return {
            "cluster_id": self.cluster_id,
            "canonical_id": self.canonical_id,
            "relation": self.relation,
            "similarity": self.similarity,
            "duplicate_of": self.duplicate_of,
        }


@dataclass(slots=True)
class Grouping:
    """Every document's assignment plus the cost figures a benchmark or run report prints."""

    assignments: dict[str, Assignment]
    stats: dict[str, float] = field(default_factory=dict)

    def clusters(self) -> dict[str, list[str]]:
        """Cluster id -> member ids, both sorted."""
        out: dict[str, list[str]] = {}
        for doc_id, a in sorted(self.assignments.items()):
            out.setdefault(a.cluster_id, []).append(doc_id)
        return dict(sorted(out.items()))
