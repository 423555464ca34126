"""Stage 2, clean: read, decode, clean and sign a batch of files; store the batches in the state.

Runs in worker processes, one batch at a time. A batch writes one JSON line per document or
quarantine record to its work file (`BatchSpec.work_file`), each document with what grouping
needs from it alone (its signature and line keys), so grouping and later runs never recompute
them; `record_batches` then moves every batch into the run state in one transaction.
"""

from __future__ import annotations

import base64
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from newsclean.cleaners import clean_html, clean_text
from newsclean.cleaners.types import CleanedText, Metadata
from newsclean.corpus import LineKeys
from newsclean.dedup.signing import Signer
from newsclean.output import pack, read_jsonl, write_jsonl
from newsclean.records import CleanedDocument, Quarantined, SourceDoc, text_sha256
from newsclean.settings import Settings
from newsclean.sources import display_path, read_file
from newsclean.stages.plan import BatchSpec, RunPlan
from newsclean.state import RunState, StoredResult

WORKER_PHASES = ("read_decode", "clean", "sign", "write")


@dataclass(frozen=True, slots=True)
class BatchResult:
    """What a cleaned batch left on disk (`work_file`) and how it went."""

    number: int
    work_file: str
    files: int
    documents: int
    quarantined: int
    seconds: float
    # Worker seconds by phase (WORKER_PHASES): the stage's wall time cannot say which is slow.
    phases: dict[str, float] = field(default_factory=dict)


def clean_source(doc: SourceDoc, settings: Settings) -> CleanedText:
    """A document's cleaned text, by the kind its reader decided: a whole page goes through
    article extraction (and repair with `settings.decode`); a fragment or text does not (a
    fragment has no page chrome for an extractor to remove, and extractors drop short ones)."""
    known = Metadata(title=doc.title, published=doc.published, outlet=doc.outlet, url=doc.url)
    if doc.kind == "page":
        decode = settings.decode
        return clean_html(doc.content, settings.cleaning, url=doc.url, known=known, decode_options=decode)
    return clean_text(doc.content, settings.cleaning, known=known)


def cleaned_document(doc: SourceDoc, cleaned: CleanedText) -> CleanedDocument:
    """The stage's record of a cleaned `SourceDoc`: the outlet from metadata first, then the
    folder the file was filed under, then what the text says."""
    meta = cleaned.metadata
    removed = cleaned.removed_counts()
    if doc.mojibake_fixed:
        removed = dict(sorted({**removed, "mojibake": 1}.items()))
    return CleanedDocument(
        id=doc.id,
        source_path=doc.source_path,
        record_id=doc.record_id,
        outlet=doc.outlet or doc.folder_outlet or meta.outlet,
        url=doc.url or meta.url,
        title=meta.title,
        published=meta.published,
        author=meta.author,
        text=cleaned.text,
        content_sha256=text_sha256(cleaned.text),
        removed=removed,
        removals=[asdict(r) for r in cleaned.removals],
    )


def clean_one(item: SourceDoc, settings: Settings) -> CleanedDocument | Quarantined:
    """A document cleaned, or its quarantine record: a cleaner's exception or an empty result
    costs this document, never the batch."""
    try:
        cleaned = clean_source(item, settings)
    except Exception as exc:
        return Quarantined(item.source_path, item.record_id, "cleaning error", f"{type(exc).__name__}: {exc}")
    if not cleaned.text.strip():
        kinds = ", ".join(f"{k}={v}" for k, v in cleaned.removed_counts().items())
        return Quarantined(item.source_path, item.record_id, "no article text", f"removed: {kinds}")
    return cleaned_document(item, cleaned)


def clean_batch(spec: BatchSpec, settings: Settings) -> BatchResult:
    """Read, decode, clean and sign a batch of files; write its documents and quarantine records
    to `spec.work_file`. Every file of the batch yields at least one line there."""
    started = time.perf_counter()
    raw_root = Path(spec.raw_root)
    lines: list[dict[str, Any]] = []
    documents: list[CleanedDocument] = []
    quarantined = 0
    reading = cleaning = 0.0
    for opened in spec.paths:
        rel_path = display_path(opened)
        t = time.perf_counter()
        try:
            results = read_file(raw_root, opened, settings.decode)
        except Exception as exc:  # a reader bug must cost one file, not the run
            results = [Quarantined(rel_path, None, "read error", f"{type(exc).__name__}: {exc}")]
        t_read = time.perf_counter()
        reading += t_read - t
        for item in results:
            outcome = item if isinstance(item, Quarantined) else clean_one(item, settings)
            if isinstance(outcome, Quarantined):
                lines.append({"path": rel_path, "quarantine": outcome.to_json()})
                quarantined += 1
            else:
                lines.append({"path": rel_path, "document": outcome.to_json()})
                documents.append(outcome)
        cleaning += time.perf_counter() - t_read
    t = time.perf_counter()
    _sign(lines, documents, settings)
    t_sign = time.perf_counter()
    write_jsonl(Path(spec.work_file), lines, pack)
    finished = time.perf_counter()
    return BatchResult(
        spec.number,
        spec.work_file,
        len(spec.paths),
        len(documents),
        quarantined,
        round(finished - started, 4),
        dict(zip(WORKER_PHASES, (reading, cleaning, t_sign - t, finished - t_sign), strict=True)),
    )


def _sign(lines: list[dict[str, Any]], documents: list[CleanedDocument], settings: Settings) -> None:
    """Add to each document's line what grouping needs from the document alone: its signature
    (`newsclean.dedup.signing`) and, when corpus-learned lines are on, its line keys."""
    if not documents:
        return
    signatures = iter(Signer(settings.dedup).sign([d.text for d in documents], [d.title for d in documents]))
    max_words = settings.cleaning.repeated_line_max_words
    for line in lines:
        if "document" in line:
            line["signature"] = next(signatures).to_text()
            if settings.cleaning.repeated_lines:
                line["line_keys"] = LineKeys.of(line["document"]["text"], max_words).to_text()


def record_batches(state_file: str, fingerprint: str, plan: RunPlan, work_files: Sequence[str]) -> int:
    """Store the cleaned batches in the run state and forget deleted files, in one transaction;
    returns the number of files recorded.

    One batch file is held at a time. A raw file is read by exactly one batch, so its lines all
    sit in one batch file; a path seen in two would lose lines, and is refused."""
    planned = [display_path(path) for spec in plan.specs for path in spec.paths]
    pending = {path: plan.stamps[path] for path in planned}
    with RunState.open(Path(state_file).parent.parent, fingerprint) as state, state.transaction():
        state.forget_outputs()
        state.forget(plan.deleted)
        for work_file in work_files:
            by_path: dict[str, list[StoredResult]] = defaultdict(list)
            for line in read_jsonl(Path(work_file)):
                by_path[line.pop("path")].append(_stored(line))
            for path in sorted(by_path):
                if path not in pending:
                    raise ValueError(f"{path}: results in more than one batch, or not planned")
                state.replace_file(path, pending.pop(path), by_path[path])
        for path in sorted(pending):  # a planned file that produced no line at all
            state.replace_file(path, pending[path], [])
    return len(planned)


def _stored(line: dict[str, Any]) -> StoredResult:
    """A batch file's line as the run state keeps it: the signature and line keys (base64 in the
    JSON batch file) leave the record as bytes."""
    signature, keys = line.pop("signature", None), line.pop("line_keys", None)
    return StoredResult(
        line,
        None if signature is None else base64.b64decode(signature),
        None if keys is None else base64.b64decode(keys),
    )
