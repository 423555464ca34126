"""Values passed between cleaning steps.

A cleaner never just deletes: it reports each removed span with its artifact kind and the rule
that fired, so a run can count removals by kind and `newsclean explain` can show them.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Removal:
    """One span taken out of the text: which kind of artifact it was and which rule saw it."""

    kind: str
    rule: str
    text: str


@dataclass(frozen=True, slots=True)
class Metadata:
    """What the text or markup states about the article, lifted out of the body."""

    title: str | None = None
    published: str | None = None  # ISO 8601 date (YYYY-MM-DD) or datetime
    author: str | None = None
    outlet: str | None = None
    url: str | None = None

    def merged(self, other: Metadata) -> Metadata:
        """Fill this record's gaps from `other`; what is already known wins."""
        return Metadata(
            title=self.title or other.title,
            published=self.published or other.published,
            author=self.author or other.author,
            outlet=self.outlet or other.outlet,
            url=self.url or other.url,
        )


@dataclass(frozen=True, slots=True)
class CleanedText:
    """A cleaned article body, its metadata and the log of what was removed to get there."""

    text: str
    metadata: Metadata = Metadata()
    removals: tuple[Removal, ...] = field(default_factory=tuple)

    def removed_counts(self) -> dict[str, int]:
        """Counts by artifact kind, sorted by kind so output stays byte-stable."""
        counts: dict[str, int] = {}
        for removal in self.removals:
            counts[removal.kind] = counts.get(removal.kind, 0) + 1
        return dict(sorted(counts.items()))
