"""Stage 3, group: every stored document into clusters; corpus-learned lines removed.

Reads the run state, writes to the work folder: `documents.jsonl` (the final `CleanedDocument`s,
sorted by id), `quarantine.jsonl` (stored quarantine records, then documents the corpus-learned
lines left empty) and `groups.json` (each document's `Assignment` and the grouping's stats).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from newsclean.corpus import LineKeys, RepeatedLines
from newsclean.dedup import DedupDoc
from newsclean.dedup.grouping import event_graph
from newsclean.dedup.memory import map_large_blocks_apart, release_freed_memory
from newsclean.dedup.signing import DocSignature
from newsclean.output import pack, write_atomic, write_jsonl
from newsclean.records import CleanedDocument, Quarantined
from newsclean.settings import Settings
from newsclean.state import RunState


def grouping_input(document: CleanedDocument) -> DedupDoc:
    """A stored document as grouping sees it: its metadata; grouping reads signatures, never
    texts (see `group_batches`)."""
    return DedupDoc(document.id, "", document.title, document.published, document.outlet)


def group_batches(state_file: str, fingerprint: str, work_dir: str, settings: Settings) -> str:
    """Group every stored document; leave the run's final records and assignments in `work_dir`
    (returned). Every stored document ends in exactly one of its documents and quarantine files.

    The state is read twice, so that no cleaned text is held while the event graph lives: first
    each document's metadata, signature and line keys, streamed into the event graph (each
    signature goes once it has given what the graph needs) and into the corpus-learned lines;
    then, once the graph is gone, the documents, stripped of those lines as they are read."""
    state_root = Path(state_file).parent.parent
    repeated = RepeatedLines(settings.cleaning)

    def signed() -> Iterator[tuple[DedupDoc, DocSignature]]:
        with RunState.open(state_root, fingerprint) as state:
            for stored in state.results(signatures=True, line_keys=True):
                if "document" not in stored.line:
                    continue  # a quarantine record
                document = CleanedDocument.from_json(stored.line["document"])
                if stored.signature is None:  # the record read would then find it unassigned
                    raise ValueError(f"{document.id}: stored without its signature")
                # Keys made by the cleaning workers (`clean_batch`); from the text if missing.
                keys = None if stored.line_keys is None else LineKeys.from_bytes(stored.line_keys)
                repeated.add(document, keys)
                yield grouping_input(document), DocSignature.from_bytes(stored.signature)

    map_large_blocks_apart(settings.dedup.large_block_bytes)
    # Streamed: no signature outlives its use; the shingle sets wait in a file in work_dir.
    graph = event_graph(signed(), settings.dedup, spill_dir=work_dir)
    grouping = graph.grouping()
    # Corpus-learned boilerplate needs the clusters (a line counts once per event), so it is
    # learned after grouping; it removes furniture lines only, which decide no grouping. A
    # document left with no text leaves the clustering (rare), before the graph goes.
    emptied = repeated.learn({doc_id: a.cluster_id for doc_id, a in grouping.assignments.items()})
    if emptied:
        grouping = graph.grouping(leave_out=emptied)
    del graph
    release_freed_memory()
    documents: list[dict[str, Any]] = []
    quarantine: list[dict[str, Any]] = []
    left_empty: dict[str, dict[str, Any]] = {}
    with RunState.open(state_root, fingerprint) as state:
        for stored in state.results():
            if "quarantine" in stored.line:
                quarantine.append(stored.line["quarantine"])
                continue
            document = CleanedDocument.from_json(stored.line["document"])
            outcome = repeated.strip(document)
            if isinstance(outcome, Quarantined):
                left_empty[document.id] = outcome.to_json()
            else:
                documents.append(outcome.to_json())
    if sorted(left_empty) != emptied:  # the state changed under the stage, or a broken rule
        raise RuntimeError(f"documents emptied on the second read: {sorted(left_empty)}, not {emptied}")
    quarantine.extend(left_empty[doc_id] for doc_id in emptied)
    documents.sort(key=lambda d: d["id"])
    work = Path(work_dir)
    write_jsonl(work / "documents.jsonl", documents, pack)
    write_jsonl(work / "quarantine.jsonl", quarantine, pack)
    del documents, quarantine
    payload = {
        "assignments": {k: v.as_dict() for k, v in sorted(grouping.assignments.items())},
        "stats": grouping.stats,
    }
    write_atomic(work / "groups.json", json.dumps(payload, sort_keys=True))
    return str(work)
