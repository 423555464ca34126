"""Stage 3, group: the stored documents into clusters; corpus-learned lines removed.

Three ways, chosen from the run state (`group_batches`):
- full: no grouping model (a first run, `--full`, or settings or code that change the outputs):
  every stored document is grouped from scratch (`newsclean.dedup.grouping`); cluster ids are
  the full grouping's (`c_<canonical id>`), and the result is byte-identical whatever came before.
- refresh: the documents added since the statistics snapshot reached `snapshot_refresh_share` of
  it, or the outputs are not as the last run left them: everything is regrouped with fresh
  statistics, earlier clusters entering as blocks (`newsclean.dedup.incremental.refresh_grouping`):
  clusters only grow or merge, and keep their ids.
- incremental: only the documents of new and changed files are added to the kept model, and
  those of changed and deleted files taken out (`newsclean.dedup.incremental.add_documents`);
  the run state lists those files (`RunState.ungrouped`), so no stage compares every stamp.

Full and refresh leave `documents.jsonl`, `quarantine.jsonl` and `groups.json` in the work
folder for the write stage to write everything; incremental leaves `changes.json` (the lines to
write and the clusters whose rows change) and the new documents, and the write stage streams
the previous outputs with those changes. Either way the model goes to the work folder (its
parts as `model-*.bin`, its live file in `model/`, new scoring-row segments in `rows/`), and the
write stage keeps it in the run state once the outputs are published.
"""

from __future__ import annotations

import json
import logging
import secrets
import zipfile
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from newsclean.corpus import LineKeys, RepeatedLines
from newsclean.dedup import DedupDoc
from newsclean.dedup.grouping import EventGraph, event_graph
from newsclean.dedup.incremental import (
    Arrival,
    GroupingModel,
    SignatureTee,
    Split,
    add_documents,
    model_from_graph,
    refresh_grouping,
)
from newsclean.dedup.memory import map_large_blocks_apart, release_freed_memory
from newsclean.dedup.signing import DocSignature
from newsclean.dedup.types import Grouping
from newsclean.output import pack, write_atomic, write_jsonl
from newsclean.records import CleanedDocument, Quarantined
from newsclean.settings import Settings
from newsclean.stages.write import output_stamps
from newsclean.state import MODEL_DIR, ROWS_DIR, ROWS_LIST, RunState, model_file, rows_folder

log = logging.getLogger("newsclean.group")

MODEL_KEY = "key"  # model part: the outputs key the model was made under
MODEL_BASE = "base"  # model part: statistics snapshot and base LSH indexes
MODEL_LIVE = "live"  # model part: the name of the file of documents, units, clusters, edges, delta indexes
MODEL_OUTPUTS = "outputs"  # model part: the output stamps it was published with (the write stage's)


def grouping_input(document: CleanedDocument) -> DedupDoc:
    """A stored document as grouping sees it: its metadata; grouping reads signatures, never
    texts (see `group_batches`)."""
    return DedupDoc(document.id, "", document.title, document.published, document.outlet)


def _frequent_lines(repeated: RepeatedLines) -> dict[str, set[int]]:
    """The outlet lines `repeated` learned (the snapshot's, for incremental runs). Hook wanted in
    newsclean.corpus: `RepeatedLines.frequent` / `RepeatedLines.known(frequent)`."""
    return dict(repeated._frequent or {})


def _use_frequent_lines(repeated: RepeatedLines, frequent: dict[str, set[int]]) -> None:
    """Strip with lines learned before (the snapshot's) instead of learning from the documents."""
    repeated._frequent = frequent


def group_batches(
    state_file: str, fingerprint: str, work_dir: str, settings: Settings, outputs_key: str = ""
) -> str:
    """Group the stored documents (full, refresh or incremental: the module's docstring); leave
    what the write stage needs in `work_dir` (returned)."""
    state_root = Path(state_file).parent.parent
    # Large arrays from the C heap go back to the OS when freed, in every mode: the model's
    # parts, the gathered scoring rows and the writer follow each other in one process.
    map_large_blocks_apart(settings.dedup.large_block_bytes)
    with RunState.open(state_root, fingerprint) as state:
        parts = state.model_parts()
        changed, gone = state.ungrouped()
    previous: GroupingModel | None = None
    if parts.get(MODEL_KEY, b"").decode() == outputs_key and MODEL_BASE in parts and MODEL_LIVE in parts:
        try:
            live = model_file(state_root, parts[MODEL_LIVE]).read_bytes()
            previous = GroupingModel.from_bytes(parts[MODEL_BASE], live, rows_folder(state_root))
            del live
            previous.rows.check()
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:  # damaged: start over
            log.warning("regrouping everything: the kept grouping model cannot be read (%r)", exc)
            previous = None
    if previous is None:
        del parts
        return _group_all(state_root, fingerprint, work_dir, settings, outputs_key, None, "full")
    published = json.loads(parts.get(MODEL_OUTPUTS, b"null")) == json.loads(
        json.dumps(output_stamps(state_root))
    )
    del parts
    release_freed_memory()
    reason = ""
    if not published:
        reason = "the outputs are not as the last run left them"
    else:
        with RunState.open(state_root, fingerprint) as state:
            arriving = sum(1 for _, _, r in state.located_results(paths=changed) if "document" in r.line)
        share = (previous.since_snapshot + arriving) / max(previous.snapshot_docs, 1)
        if share >= settings.dedup.snapshot_refresh_share:
            reason = (
                f"{previous.since_snapshot + arriving} documents added since the statistics snapshot of run "
                f"{previous.snapshot_run}, {share:.0%} of its {previous.snapshot_docs} (refresh at "
                f"{settings.dedup.snapshot_refresh_share:.0%})"
            )
    if reason:
        log.info("regrouping with fresh statistics, cluster ids kept: %s", reason)
        return _group_all(state_root, fingerprint, work_dir, settings, outputs_key, previous, reason, changed)
    return _group_new(state_root, fingerprint, work_dir, settings, outputs_key, previous, changed, gone)


def _group_all(
    state_root: Path,
    fingerprint: str,
    work_dir: str,
    settings: Settings,
    outputs_key: str,
    previous: GroupingModel | None,
    reason: str,
    changed: Sequence[str] = (),
) -> str:
    """Full grouping, or a refresh when `previous` is given (ids kept; the documents of
    `changed` files leave their clusters and come back as new).

    The state is read twice, so that no cleaned text is held while the event graph lives: first
    each document's metadata, signature and line keys, streamed into the event graph (each
    signature goes once it has given what the graph and the model need) and into the
    corpus-learned lines; then, once the graph is gone, the documents, stripped of those lines
    as they are read."""
    repeated = RepeatedLines(settings.cleaning)
    tee = SignatureTee()
    places: dict[str, tuple[str, int]] = {}

    renewed = previous.documents_of(changed) if previous is not None else frozenset()
    # Streamed: no signature outlives its use; the shingle sets wait in a file in work_dir.
    graph = event_graph(
        _signed(state_root, fingerprint, repeated, tee, places), settings.dedup, spill_dir=work_dir
    )
    grouping, retired, born, splits = _cluster(graph, previous, [], renewed)
    # Corpus-learned boilerplate needs the clusters (a line counts once per event), so it is
    # learned after grouping; it removes furniture lines only, which decide no grouping. A
    # document left with no text leaves the clustering (rare), before the graph goes.
    emptied = repeated.learn({doc_id: a.cluster_id for doc_id, a in grouping.assignments.items()})
    if emptied:
        grouping, retired, born, splits = _cluster(graph, previous, emptied, renewed)
    run = previous.run + 1 if previous is not None else 1
    when = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    issued = [*previous.cluster_id, *previous.retired_ids] if previous is not None else []
    model = model_from_graph(graph, grouping, tee, places, run, born, when, issued)
    del graph, tee, places
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
    model.emptied = left_empty
    model.frequent = {outlet: sorted(lines) for outlet, lines in sorted(_frequent_lines(repeated).items())}
    documents.sort(key=lambda d: d["id"])
    work = Path(work_dir)
    write_jsonl(work / "documents.jsonl", documents, pack)
    write_jsonl(work / "quarantine.jsonl", quarantine, pack)
    del documents, quarantine
    stats: dict[str, Any] = {
        **grouping.stats,
        "mode": "full" if previous is None else "refresh",
        "reason": reason,
        "run": run,
        "new": float(model.live_docs - (previous.live_docs if previous is not None else 0)),
        "merged": float(len(retired)),
        "split": float(sum(len(split.doc_ids) for split in splits)),
        "snapshot_run": run,
    }
    payload = {
        "assignments": {k: v.as_dict() for k, v in sorted(grouping.assignments.items())},
        "stats": stats,
        "merges": [{"retired_cluster_id": a, "into_cluster_id": b, "run": run} for a, b in retired],
        "splits": [
            {"from_cluster_id": x.from_id, "to_cluster_id": x.to_id, "document_ids": x.doc_ids, "run": run}
            for x in splits
        ],
    }
    write_atomic(work / "groups.json", json.dumps(payload, sort_keys=True))
    _leave_model(work, model, outputs_key, base=True)
    return str(work)


def _cluster(
    graph: EventGraph, previous: GroupingModel | None, leave_out: list[str], renewed: frozenset[str]
) -> tuple[Grouping, list[tuple[str, str | None]], dict[str, int], list[Split]]:
    """The full grouping's clusters (no model) or a refresh's (ids kept; `renewed`: documents of
    files changed since `previous`): (grouping, retired ids with the id each went into or None,
    the run each kept cluster was made in, documents split off earlier clusters)."""
    if previous is None:
        return (graph.grouping(leave_out=leave_out) if leave_out else graph.grouping()), [], {}, []
    refreshed = refresh_grouping(graph, previous, leave_out, renewed)
    return refreshed.grouping, refreshed.retired, refreshed.born, refreshed.splits


def _signed(
    state_root: Path,
    fingerprint: str,
    repeated: RepeatedLines,
    tee: SignatureTee,
    places: dict[str, tuple[str, int]],
) -> Iterator[tuple[DedupDoc, DocSignature]]:
    """Every stored document with its signature, for the event graph; its line keys go to
    `repeated`, what the model keeps of its signature to `tee`, its place to `places`."""
    with RunState.open(state_root, fingerprint) as state:
        for path, seq, stored in state.located_results(signatures=True, line_keys=True):
            if "document" not in stored.line:
                continue  # a quarantine record
            document = CleanedDocument.from_json(stored.line["document"])
            if stored.signature is None:  # the record read would then find it unassigned
                raise ValueError(f"{document.id}: stored without its signature")
            # Keys made by the cleaning workers (`clean_batch`); from the text if missing.
            keys = None if stored.line_keys is None else LineKeys.from_bytes(stored.line_keys)
            repeated.add(document, keys)
            signature = DocSignature.from_bytes(stored.signature)
            tee.add(document.id, signature)
            places[document.id] = (path, seq)
            yield grouping_input(document), signature


def _leave_model(work: Path, model: GroupingModel, outputs_key: str, *, base: bool) -> None:
    """The model's parts, for the write stage to keep once the outputs are published: this
    run's scoring rows as a new segment folder in `work/rows/`, the list of the segments the
    model uses, then the parts (which name them)."""
    name = f"{'base' if base else 'run'}-{model.run}-{secrets.token_hex(4)}"
    block = model.rows.pending_segment(name, always=base)  # a snapshot always has its segment
    if block is not None:
        # The snapshot's segment also holds the statistics and base indexes (mapped when read).
        block.save(
            work / ROWS_DIR / name,
            extra={f"snapshot.{k}": v for k, v in model.base_arrays().items()} if base else None,
        )
    if base:
        model.snapshot_segment = name
    (work / ROWS_LIST).write_text(json.dumps(model.row_segments), encoding="utf-8")
    (work / f"model-{MODEL_KEY}.bin").write_bytes(outputs_key.encode())
    live = f"live-{name}.npz"
    (work / MODEL_DIR).mkdir(exist_ok=True)
    (work / MODEL_DIR / live).write_bytes(model.live_bytes())
    (work / f"model-{MODEL_LIVE}.bin").write_bytes(live.encode("utf-8"))
    if base:
        (work / f"model-{MODEL_BASE}.bin").write_bytes(model.snapshot_segment.encode("utf-8"))


def _group_new(
    state_root: Path,
    fingerprint: str,
    work_dir: str,
    settings: Settings,
    outputs_key: str,
    model: GroupingModel,
    changed: list[str],
    gone: list[str],
) -> str:
    """The incremental step: documents of `changed` files (new or changed) in, those of
    `changed` and `gone` files out."""
    leaving_paths = set(changed) | set(gone)
    departures = model.documents_of(leaving_paths)
    for doc_id in [d for d, q in model.emptied.items() if q["source_path"] in leaving_paths]:
        del model.emptied[doc_id]
    repeated = RepeatedLines(settings.cleaning)
    _use_frequent_lines(repeated, {outlet: set(lines) for outlet, lines in model.frequent.items()})
    arrivals: list[Arrival] = []
    records: list[dict[str, Any]] = []
    with RunState.open(state_root, fingerprint) as state:
        found: list[tuple[CleanedDocument, bytes, str, int]] = []
        for path, seq, stored in state.located_results(signatures=True, line_keys=True, paths=changed):
            if "document" not in stored.line:
                continue
            document = CleanedDocument.from_json(stored.line["document"])
            if stored.signature is None:
                raise ValueError(f"{document.id}: stored without its signature")
            keys = None if stored.line_keys is None else LineKeys.from_bytes(stored.line_keys)
            repeated.add(document, keys)  # every document before the first strip (RepeatedLines' use)
            found.append((document, stored.signature, path, seq))
        for document, signature, path, seq in found:
            outcome = repeated.strip(document)
            if isinstance(outcome, Quarantined):  # the snapshot's outlet lines left nothing
                model.emptied[document.id] = outcome.to_json()
                continue
            records.append(outcome.to_json())
            arrivals.append(Arrival(grouping_input(document), DocSignature.from_bytes(signature), path, seq))
        del found
        quarantine = state.quarantine_records()

        def read(rows: Any) -> list[DocSignature]:
            places = [(model.doc_path[r], model.doc_seq[r]) for r in rows]
            return [DocSignature.from_bytes(b) for b in state.signatures_at(places)]

        run = model.run + 1
        changes = add_documents(model, arrivals, departures, read, settings.dedup, run)
    release_freed_memory()
    model.since_snapshot += len(arrivals)
    quarantine.extend(model.emptied[d] for d in sorted(model.emptied))
    work = Path(work_dir)
    records.sort(key=lambda d: d["id"])
    write_jsonl(work / "documents.jsonl", records, pack)
    write_jsonl(work / "quarantine.jsonl", quarantine, pack)
    counts = changes.counts
    stats: dict[str, Any] = {
        "mode": "incremental",
        "run": run,
        "snapshot_run": model.snapshot_run,
        "snapshot_time": model.snapshot_time,
        "changed_files": len(changed),
        "deleted_files": len(gone),
        "departed": len(changes.departed),
        **{k: float(v) for k, v in counts.items()},
        "candidate_pairs": 0.0,
    }
    payload = {
        "assignments": {k: v.as_dict() for k, v in sorted(changes.assignments.items())},
        "clusters": dict(sorted(changes.clusters.items())),
        "retired": [list(r) for r in changes.retired],
        "departed": sorted(changes.departed),
        "stats": stats,
        "merges": [{"retired_cluster_id": a, "into_cluster_id": b, "run": run} for a, b in changes.retired],
    }
    write_atomic(work / "groups.json", json.dumps(payload, sort_keys=True))
    write_atomic(work / "changes.json", "incremental\n")
    _leave_model(work, model, outputs_key, base=False)
    return str(work)
