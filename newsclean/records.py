"""The typed records that pass between the stages: read → clean → group → write.

- `SourceDoc`: one article as the reader found it (decoded, repaired, its content kind decided).
- `Quarantined`: a file or record that was not processed, and why.
- `CleanedDocument`: what the clean stage makes of a `SourceDoc`; the run state stores it (as
  `to_json`), the group stage strips corpus-learned lines from it, the write stage adds its
  cluster and writes it.

JSON forms are part of the output contract: `CleanedDocument.to_json` gives the fields in the
order `documents.jsonl` shows them, and `from_json(to_json(x)) == x`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, fields
from typing import Any, Literal

# A whole HTML page, an HTML fragment, or plain text (`newsclean.decode.content_kind`).
ContentKind = Literal["page", "fragment", "text"]


@dataclass(frozen=True, slots=True)
class SourceDoc:
    """One article as found in raw/: its decoded, repaired content, the content's kind (decided
    once, when read: `newsclean.decode.content_kind`) and whatever metadata came with it."""

    id: str
    source_path: str
    record_id: str | None
    kind: ContentKind
    content: str
    encoding: str
    folder_outlet: str | None
    outlet: str | None = None
    url: str | None = None
    title: str | None = None
    published: str | None = None
    mojibake_fixed: bool = False


@dataclass(frozen=True, slots=True)
class Quarantined:
    """A file or record that was not processed, and why."""

    source_path: str
    record_id: str | None
    reason: str
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        return _fields_of(self)


def _fields_of(record: Any) -> dict[str, Any]:
    """A dataclass's fields by name, in declaration order (values shared, not copied)."""
    return {f.name: getattr(record, f.name) for f in fields(record)}


def text_sha256(text: str) -> str:
    """The `content_sha256` of a cleaned text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class CleanedDocument:
    """A cleaned article and its metadata: the record between the clean, group and write stages.

    `removed` counts removals by kind (sorted by kind); `removals` lists each removed span
    (`kind`, `rule`, `text`), written only with `--debug-removals`."""

    id: str
    source_path: str
    record_id: str | None
    outlet: str | None
    url: str | None
    title: str | None
    published: str | None
    author: str | None
    text: str
    content_sha256: str
    removed: dict[str, int] = field(default_factory=dict)
    removals: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The fields in declaration order: `documents.jsonl`'s order."""
        return _fields_of(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CleanedDocument:
        return cls(
            data["id"],
            data["source_path"],
            data["record_id"],
            data["outlet"],
            data["url"],
            data["title"],
            data["published"],
            data["author"],
            data["text"],
            data["content_sha256"],
            data["removed"],
            data.get("removals", []),
        )
