"""Boilerplate learned from the corpus: short lines repeated across many stories.

Rules cannot know every site's furniture ("Sign up for The Herald's morning briefing", a
standard disclaimer, a CMS's share-button labels); the corpus can: such a line recurs whatever
the story. As in C4, Gopher and datatrove, a short line is boilerplate when enough documents
carry it, with one difference that matters for news: documents are counted once per event
cluster, so a quotation every outlet repeats about one event, or ten syndicated copies of one
article, never looks like furniture. Two rules, each in one sentence:

- outlet furniture: a short line that documents of one outlet carry in at least
  `repeated_line_min_docs` event clusters is removed from that outlet's documents;
- corpus furniture: a short line that documents of at least `corpus_line_min_events` event
  clusters and at least `corpus_line_min_outlets` outlets carry is removed from every document,
  whatever its outlet (a blog CMS's "Posted on <date> by" on many small sites).

Lines are compared after numbers, months and weekdays are normalised
(`newsclean.cleaners.blocks.furniture_key`). The statistics come from every document in the run
state, so scheduled runs keep learning as the corpus grows, and a full rebuild computes the same
ones.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import numpy.typing as npt

from newsclean.cleaners.blocks import short_line_keys
from newsclean.cleaners.types import Removal
from newsclean.records import CleanedDocument, Quarantined, text_sha256
from newsclean.settings import CleaningOptions


@dataclass(frozen=True, slots=True)
class LineKeys:
    """A document's short lines as statistics count them: each line's index in the text (split on
    newlines) and a 64-bit hash of its `newsclean.cleaners.blocks.line_key`.

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


class _KeyTable:
    """Every document's line keys in a few flat arrays, with its outlet, by document.

    Flat, in chunks of `_CHUNK` documents, because the group stage holds every document's keys
    while the event graph (its memory peak) lives: an object per document cost 25 times the keys'
    bytes (docs/tuning.md, "Measured implementation choices")."""

    _CHUNK = 4096

    def __init__(self) -> None:
        self.row_of: dict[str, int] = {}
        self.outlet_names: dict[str, int] = {}
        self._outlets: list[int] = []
        self._counts: list[int] = []
        self._pending: list[LineKeys] = []
        self._positions: list[npt.NDArray[np.uint32]] = []
        self._hashes: list[npt.NDArray[np.uint64]] = []
        self._starts: npt.NDArray[np.int64] | None = None

    def add(self, doc_id: str, outlet: str, keys: LineKeys) -> None:
        if doc_id in self.row_of:
            raise ValueError(f"line keys of {doc_id!r} twice")
        self.row_of[doc_id] = len(self._counts)
        self._outlets.append(self.outlet_names.setdefault(outlet, len(self.outlet_names)))
        self._counts.append(len(keys.hashes))
        self._pending.append(keys)
        if len(self._pending) >= self._CHUNK:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            self._positions.append(np.concatenate([k.positions for k in self._pending]).astype(np.uint32))
            self._hashes.append(np.concatenate([k.hashes for k in self._pending]).astype(np.uint64))
            self._pending = []
        if len(self._hashes) > 1:
            self._positions = [np.concatenate(self._positions)]
            self._hashes = [np.concatenate(self._hashes)]
        self._starts = np.concatenate(([0], np.cumsum(self._counts, dtype=np.int64)))

    def keys(self, doc_id: str) -> LineKeys:
        """One document's keys (views); after `frequent`."""
        if self._starts is None:
            self._flush()
        starts = self._starts
        assert starts is not None  # set by _flush
        row = self.row_of[doc_id]
        lo, hi = int(starts[row]), int(starts[row + 1])
        return LineKeys(self._positions[0][lo:hi], self._hashes[0][lo:hi])

    def frequent(
        self, clusters: Mapping[str, str], min_clusters: int, corpus_min: tuple[int, int] | None = None
    ) -> dict[str, set[int]]:
        """Per outlet, the line hashes its documents carry in at least `min_clusters` clusters;
        with `corpus_min` = (events, outlets), under `CORPUS` the line hashes that documents of
        at least that many clusters and outlets carry (documents without an outlet, kept under
        "", count as one outlet and learn no outlet lines).

        Counted on arrays: one row per line occurrence (outlet, line hash, cluster), distinct rows
        by one sort, then clusters per (outlet, line); not a Python set per distinct line."""
        self._flush()
        if not self._hashes or not len(self._hashes[0]):
            return {}
        cluster_ids: dict[str, int] = {}
        cluster_of_row = np.fromiter(  # rows are numbered in the order row_of holds them
            (cluster_ids.setdefault(clusters.get(d, d), len(cluster_ids)) for d in self.row_of),
            dtype=np.int64,
            count=len(self.row_of),
        )
        counts = np.asarray(self._counts, dtype=np.int64)
        line = self._hashes[0]
        outlet_of = np.repeat(np.asarray(self._outlets, dtype=np.int64), counts)
        cluster_of = np.repeat(cluster_of_row, counts)
        order = np.lexsort((cluster_of, line, outlet_of))
        outlet_of, line, cluster_of = outlet_of[order], line[order], cluster_of[order]
        same_line = (outlet_of[1:] == outlet_of[:-1]) & (line[1:] == line[:-1])
        new_cluster = np.concatenate(([True], ~same_line | (cluster_of[1:] != cluster_of[:-1])))
        # distinct (outlet, line, cluster)
        outlet_of, line, cluster_of = outlet_of[new_cluster], line[new_cluster], cluster_of[new_cluster]
        found: dict[str, set[int]] = {}
        if corpus_min is not None:
            corpus = _corpus_lines(outlet_of, line, cluster_of, *corpus_min)
            if corpus:
                found[CORPUS] = corpus
        new_line = (outlet_of[1:] != outlet_of[:-1]) | (line[1:] != line[:-1])
        starts = np.flatnonzero(np.concatenate(([True], new_line)))
        per_line = np.diff(np.concatenate((starts, [len(line)])))
        frequent = starts[per_line >= min_clusters]
        names = list(self.outlet_names)
        for outlet, key in zip(outlet_of[frequent].tolist(), line[frequent].tolist(), strict=True):
            if names[outlet]:  # documents without an outlet learn no outlet lines
                found.setdefault(names[outlet], set()).add(key)
        return found


# The key under which `_KeyTable.frequent` returns the corpus furniture (no outlet is named so:
# an outlet name is a site's name or host).
CORPUS = "\x00corpus"


def _corpus_lines(
    outlet_of: npt.NDArray[np.int64],
    line: npt.NDArray[np.uint64],
    cluster_of: npt.NDArray[np.int64],
    min_events: int,
    min_outlets: int,
) -> set[int]:
    """The line hashes carried in at least `min_events` clusters and `min_outlets` outlets,
    from distinct (outlet, line, cluster) rows."""

    def per_line(other: npt.NDArray[np.int64]) -> dict[int, int]:
        order = np.lexsort((other, line))
        lines, values = line[order], other[order]
        first = np.concatenate(([True], (lines[1:] != lines[:-1]) | (values[1:] != values[:-1])))
        lines = lines[first]  # distinct (line, value), sorted by line
        starts = np.flatnonzero(np.concatenate(([True], lines[1:] != lines[:-1])))
        counts = np.diff(np.concatenate((starts, [len(lines)])))
        return dict(zip(lines[starts].tolist(), counts.tolist(), strict=True))

    events = per_line(cluster_of)
    wide = {key for key, n in events.items() if n >= min_events}
    if not wide:
        return set()
    outlets = per_line(outlet_of)
    return {key for key in wide if outlets[key] >= min_outlets}


def frequent_outlet_lines(
    outlets: Mapping[str, str | None],
    clusters: Mapping[str, str],
    keys: Mapping[str, LineKeys],
    min_clusters: int,
) -> dict[str, set[int]]:
    """Per outlet, the short lines (by hash) that its documents carry in at least `min_clusters`
    event clusters (a document without a cluster counts as one of its own). `outlets` maps each
    document's id to its outlet; a document with none takes no part."""
    table = _KeyTable()
    for doc_id, outlet in outlets.items():
        if outlet:
            table.add(doc_id, outlet, keys[doc_id])
    return table.frequent(clusters, min_clusters)


class RepeatedLines:
    """An outlet's repeated lines, learned from a stream of documents, then removed from them.

    In steps, so that no cleaned text is held while the event graph lives: the group stage learns
    while it streams the run state into the graph, and removes after the graph is gone, reading
    the texts again. Which documents the removal empties must be known while the graph lives
    (they leave the clustering), so a document that could be emptied (every non-blank line a
    counted short line) is kept whole and put through the same removal once the lines are known.

    Use: `add` every document, `learn` once, then `strip` each document."""

    def __init__(self, options: CleaningOptions) -> None:
        self.options = options
        self._table = _KeyTable()
        self._could_empty: list[CleanedDocument] = []
        self._frequent: dict[str, set[int]] | None = None

    def add(self, document: CleanedDocument, keys: LineKeys | None = None) -> None:
        """Count a document's short lines; `keys` as the run state keeps them (made from the
        text when None). A document without an outlet counts for corpus furniture only."""
        if not self.options.repeated_lines:
            return
        text = document.text
        found = LineKeys.of(text, self.options.repeated_line_max_words) if keys is None else keys
        self._table.add(document.id, document.outlet or "", found)
        if len(found.positions) and _every_line_counted(text, found):
            self._could_empty.append(document)

    def learn(self, clusters: Mapping[str, str]) -> list[str]:
        """Find each outlet's frequent lines (counted once per event cluster); return the ids,
        sorted, of the documents that their removal leaves with no text."""
        corpus = (self.options.corpus_line_min_events, self.options.corpus_line_min_outlets)
        corpus_min = corpus if self.options.corpus_lines else None
        self._frequent = self._table.frequent(clusters, self.options.repeated_line_min_docs, corpus_min)
        emptied = sorted(doc.id for doc in self._could_empty if isinstance(self.strip(doc), Quarantined))
        self._could_empty = []
        return emptied

    def strip(self, document: CleanedDocument) -> CleanedDocument | Quarantined:
        """The document without its outlet's frequent lines, or its quarantine record when
        nothing is left of it. Removals are counted under `removed["repeated_line"]` (its
        outlet's lines) and `removed["corpus_line"]` (the corpus's); a document with nothing to
        remove is returned as it is."""
        if self._frequent is None:
            raise RuntimeError("RepeatedLines.strip before learn")
        outlet_lines = self._frequent.get(document.outlet or "", set()) if document.outlet else set()
        corpus_lines = self._frequent.get(CORPUS, set())
        if not outlet_lines and not corpus_lines:  # most outlets of a corpus: not read
            return document
        mine = self._table.keys(document.id)
        pairs = zip(mine.positions.tolist(), mine.hashes.tolist(), strict=True)
        drop = {i: key in outlet_lines for i, key in pairs if key in outlet_lines or key in corpus_lines}
        if not drop:
            return document
        lines = document.text.split("\n")
        text = "\n".join(line for i, line in enumerate(lines) if i not in drop).strip("\n")
        while "\n\n\n" in text:
            text = text.replace("\n\n\n", "\n\n")
        if not text.strip():
            detail = f"only lines its outlet or the corpus repeats across stories ({len(drop)})"
            return Quarantined(document.source_path, document.record_id, "no article text", detail)
        removed = Counter(document.removed)
        outlet_count = sum(drop.values())
        if outlet_count:
            removed["repeated_line"] += outlet_count
        if len(drop) > outlet_count:
            removed["corpus_line"] += len(drop) - outlet_count
        return replace(
            document, text=text, content_sha256=text_sha256(text), removed=dict(sorted(removed.items()))
        )

    def explain(self, text: str, outlet: str | None) -> tuple[str, tuple[Removal, ...]]:
        """A cleaned text (not one of the learned documents: `newsclean explain FILE --run OUT`)
        without the learned lines, and each removed line with its rule: "outlet-furniture" (kind
        repeated_line) or "corpus-furniture" (kind corpus_line)."""
        if self._frequent is None:
            raise RuntimeError("RepeatedLines.explain before learn")
        outlet_lines = self._frequent.get(outlet, set()) if outlet else set()
        corpus_lines = self._frequent.get(CORPUS, set())
        lines = text.split("\n")
        keys = LineKeys.of(text, self.options.repeated_line_max_words)
        removals: list[Removal] = []
        drop: set[int] = set()
        for i, key in zip(keys.positions.tolist(), keys.hashes.tolist(), strict=True):
            if key in outlet_lines:
                removals.append(Removal("repeated_line", "outlet-furniture", lines[i].strip()))
            elif key in corpus_lines:
                removals.append(Removal("corpus_line", "corpus-furniture", lines[i].strip()))
            else:
                continue
            drop.add(i)
        return "\n".join(line for i, line in enumerate(lines) if i not in drop), tuple(removals)


def learned_from_run(out_dir: Path, options: CleaningOptions) -> RepeatedLines:
    """The corpus-learned lines of the finished run that wrote `out_dir`: learned, as the run
    learned them, from the documents its state stores and the clusters its documents.jsonl
    gives them. Read-only."""
    from newsclean.state import read_signed_documents

    clusters: dict[str, str] = {}
    listing = out_dir / "documents.jsonl"
    if listing.is_file():
        with listing.open(encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    record = json.loads(line)
                    clusters[record["id"]] = record.get("cluster_id") or record["id"]
    learned = RepeatedLines(options)
    for stored, _signature in read_signed_documents(out_dir):
        learned.add(CleanedDocument.from_json(stored))
    learned.learn(clusters)
    return learned


def _every_line_counted(text: str, keys: LineKeys) -> bool:
    """Whether each non-blank line of the text has a key: only then can removing lines by key
    leave nothing. Stops at the first long line, most often the first paragraph."""
    counted = set(keys.positions.tolist())
    return all(i in counted for i, line in enumerate(text.split("\n")) if line.strip())


def remove_repeated_lines(
    documents: list[CleanedDocument],
    clusters: Mapping[str, str],
    options: CleaningOptions,
    keys: Mapping[str, LineKeys] | None = None,
) -> tuple[list[CleanedDocument], list[Quarantined]]:
    """(documents with their outlet's repeated lines removed, records left with no text): the
    `RepeatedLines` steps over a list. `keys`: documents' `LineKeys` by id, as the run state keeps
    them (made here for any document not in it)."""
    if not options.repeated_lines:
        return documents, []
    lines = RepeatedLines(options)
    given = keys or {}
    for doc in documents:
        lines.add(doc, given.get(doc.id))
    lines.learn(clusters)
    kept: list[CleanedDocument] = []
    emptied: list[Quarantined] = []
    for doc in documents:
        outcome = lines.strip(doc)
        if isinstance(outcome, Quarantined):
            emptied.append(outcome)
        else:
            kept.append(outcome)
    return kept, emptied
