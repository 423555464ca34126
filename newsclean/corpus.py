"""Boilerplate learned from the corpus: short lines an outlet repeats across many stories.

Rules cannot know every site's furniture ("Sign up for The Herald's morning briefing", a
standard disclaimer); the corpus can: such a line recurs on an outlet's pages whatever the story.
As in C4, Gopher and datatrove, a short line is boilerplate when enough of the outlet's documents
carry it, with one difference that matters for news: documents are counted once per event
cluster, so a quotation every outlet repeats about one event, or ten syndicated copies of one
article, never looks like furniture. The statistics come from every document in the run state,
so scheduled runs keep learning as the corpus grows, and a full rebuild computes the same ones.
"""

from __future__ import annotations

import base64
import hashlib
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from cleaners.blocks import short_line_keys
from newsclean.settings import CleaningOptions


@dataclass(frozen=True, slots=True)
class LineKeys:
    """A document's short lines as statistics count them: each line's index in the text (split on
    newlines) and a 64-bit hash of its `cleaners.blocks.line_key`.

    Why hashes, made where the document is cleaned: keying every short line of every document
    again (a regex and a split per line) took 22 s of the 100k run's grouping stage, on one
    core, each run; the cleaning workers key a document once, and the run state keeps the keys
    with it. Two of a corpus's few million distinct lines share a hash with odds below 1e-6."""

    positions: npt.NDArray[np.uint32]
    hashes: npt.NDArray[np.uint64]

    @classmethod
    def of(cls, text: str, max_words: int) -> LineKeys:
        found = list(short_line_keys(text, max_words=max_words))
        return cls(
            np.fromiter((i for i, _ in found), dtype=np.uint32, count=len(found)),
            np.fromiter((_key_hash(key) for _, key in found), dtype=np.uint64, count=len(found)),
        )

    def to_bytes(self) -> bytes:
        """The little-endian positions, then the hashes (the run state keeps these bytes)."""
        return self.positions.astype("<u4").tobytes() + self.hashes.astype("<u8").tobytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> LineKeys:
        if len(data) % 12:
            raise ValueError(f"line keys: {len(data)} bytes is not a whole number of lines")
        n = len(data) // 12
        return cls(
            np.frombuffer(data, dtype="<u4", count=n).astype(np.uint32),
            np.frombuffer(data, dtype="<u8", count=n, offset=4 * n).astype(np.uint64),
        )

    def to_text(self) -> str:
        """For the cleaning workers' JSON batch files: base64 of `to_bytes`."""
        return base64.b64encode(self.to_bytes()).decode("ascii")

    @classmethod
    def from_text(cls, text: str) -> LineKeys:
        return cls.from_bytes(base64.b64decode(text))


def _key_hash(key: str) -> int:
    digest = hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def frequent_outlet_lines(
    documents: list[dict[str, Any]],
    clusters: Mapping[str, str],
    keys: Mapping[str, LineKeys],
    min_clusters: int,
) -> dict[str, set[int]]:
    """Per outlet, the short lines (by hash) that its documents carry in at least `min_clusters`
    event clusters (a document without a cluster counts as one of its own).

    Counted on arrays: one row per line occurrence (outlet, line hash, cluster), distinct rows
    by one sort, then clusters per (outlet, line). The group stage holds every cleaned text at
    this point, and a set of clusters per distinct line per outlet, as Python objects, added
    160 MB there at 100k documents, for the few lines that turn out to be frequent (a probe of
    the stage; the whole run's measured peak did not drop with it)."""
    outlets: dict[str, int] = {}
    cluster_ids: dict[str, int] = {}
    hashes: list[npt.NDArray[np.uint64]] = []
    owners: list[tuple[int, int, int]] = []  # (outlet, cluster, how many lines)
    for doc in documents:
        outlet = doc["outlet"]
        if not outlet:
            continue
        line_hashes = keys[doc["id"]].hashes
        if not len(line_hashes):
            continue
        cluster = clusters.get(doc["id"], doc["id"])
        outlet_id = outlets.setdefault(outlet, len(outlets))
        owners.append((outlet_id, cluster_ids.setdefault(cluster, len(cluster_ids)), len(line_hashes)))
        hashes.append(line_hashes)
    if not hashes:
        return {}
    owner = np.array(owners, dtype=np.int64)
    line = np.concatenate(hashes)
    outlet_of = np.repeat(owner[:, 0], owner[:, 2])
    cluster_of = np.repeat(owner[:, 1], owner[:, 2])
    order = np.lexsort((cluster_of, line, outlet_of))
    outlet_of, line, cluster_of = outlet_of[order], line[order], cluster_of[order]
    same_line = (outlet_of[1:] == outlet_of[:-1]) & (line[1:] == line[:-1])
    new_cluster = np.concatenate(([True], ~same_line | (cluster_of[1:] != cluster_of[:-1])))
    outlet_of, line = outlet_of[new_cluster], line[new_cluster]  # distinct (outlet, line, cluster)
    new_line = (outlet_of[1:] != outlet_of[:-1]) | (line[1:] != line[:-1])
    starts = np.flatnonzero(np.concatenate(([True], new_line)))
    counts = np.diff(np.concatenate((starts, [len(line)])))
    frequent = starts[counts >= min_clusters]
    names = list(outlets)
    found: dict[str, set[int]] = {}
    for outlet, key in zip(outlet_of[frequent].tolist(), line[frequent].tolist(), strict=True):
        found.setdefault(names[outlet], set()).add(key)
    return found


def remove_repeated_lines(
    documents: list[dict[str, Any]],
    clusters: Mapping[str, str],
    options: CleaningOptions,
    keys: Mapping[str, LineKeys] | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(documents with their outlet's repeated lines removed, records left with no text).

    `keys`: documents' `LineKeys` by id, as the run state keeps them (made here for any
    document not in it). Removals are counted under `removed["repeated_line"]`; a document that had nothing
    but such lines becomes a quarantine record rather than an empty document."""
    if not options.repeated_lines:
        return documents, []
    given = keys or {}
    max_words = options.repeated_line_max_words
    keys = {
        doc["id"]: given[doc["id"]] if doc["id"] in given else LineKeys.of(doc["text"], max_words)
        for doc in documents
    }
    # Only lines counted in enough clusters can go: an outlet with none keeps every document as
    # it is, unread (most outlets of a corpus).
    frequent = frequent_outlet_lines(documents, clusters, keys, options.repeated_line_min_docs)
    kept: list[dict[str, Any]] = []
    emptied: list[dict[str, Any]] = []
    for doc in documents:
        outlet_lines = frequent.get(doc["outlet"] or "")
        if not outlet_lines:
            kept.append(doc)
            continue
        mine = keys[doc["id"]]
        pairs = zip(mine.positions.tolist(), mine.hashes.tolist(), strict=True)
        drop = {i for i, key in pairs if key in outlet_lines}
        if not drop:
            kept.append(doc)
            continue
        lines = doc["text"].split("\n")
        text = "\n".join(line for i, line in enumerate(lines) if i not in drop).strip("\n")
        while "\n\n\n" in text:
            text = text.replace("\n\n\n", "\n\n")
        removed = Counter(doc["removed"])
        removed["repeated_line"] += len(drop)
        if not text.strip():
            emptied.append(
                {
                    "source_path": doc["source_path"],
                    "record_id": doc["record_id"],
                    "reason": "no article text",
                    "detail": f"only lines its outlet repeats across stories ({len(drop)})",
                }
            )
            continue
        kept.append(
            {
                **doc,
                "text": text,
                "content_sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
                "removed": dict(sorted(removed.items())),
            }
        )
    return kept, emptied
