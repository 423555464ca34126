"""The run, stage by stage: plan → clean batches → group → write.

Stages exchange files, not lists of documents: a batch writes its cleaned documents and
quarantine records to a work file and returns the file's path and counts. That keeps Prefect task
results small (the per-task cost stays milliseconds), lets batches run in separate processes, and
gives each stage an on-disk contract that can be inspected when a run goes wrong.

How stages are executed is the caller's choice (`StageExecutor`): directly, with a process pool,
or as Prefect tasks. The functions and the output are the same either way.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import shutil
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

from newsclean.cleaners import clean_html, clean_text
from newsclean.cleaners.markup import is_html_document
from newsclean.cleaners.types import CleanedText, Metadata
from newsclean.corpus import LineKeys, RepeatedLines
from newsclean.dedup import DedupDoc
from newsclean.dedup.grouping import event_graph
from newsclean.dedup.memory import map_large_blocks_apart, release_freed_memory
from newsclean.dedup.signing import DocSignature, Signer
from newsclean.lock import output_lock
from newsclean.output import pack, read_jsonl, write_atomic, write_jsonl
from newsclean.report import RunSummary, canonical_markdown
from newsclean.settings import RunSettings, Settings
from newsclean.sources import Quarantined, SourceDoc, display_path, read_file, scan
from newsclean.state import FileStamp, RunState, StoredResult, state_path

T = TypeVar("T")
Logger = logging.Logger | logging.LoggerAdapter[Any]


@dataclass(frozen=True, slots=True)
class BatchSpec:
    """One unit of cleaning work: which files, and where its results go."""

    number: int
    total: int
    raw_root: str
    paths: tuple[str, ...]
    work_file: str

    @property
    def label(self) -> str:
        return f"clean batch {self.number}/{self.total}"


WORKER_PHASES = ("read_decode", "clean", "sign", "write")


@dataclass(frozen=True, slots=True)
class BatchResult:
    """What a cleaned batch left on disk and how it went."""

    number: int
    work_file: str
    files: int
    documents: int
    quarantined: int
    seconds: float
    # Worker time by phase (WORKER_PHASES): the cleaning stage runs all of them inside each
    # batch, so its wall time alone cannot say which one is slow.
    phases: dict[str, float] = field(default_factory=dict)


class StageExecutor(Protocol):
    """Runs stage functions: directly, in a process pool, or as Prefect tasks."""

    def map_batches(
        self, fn: Callable[[BatchSpec, Settings], BatchResult], specs: Sequence[BatchSpec], settings: Settings
    ) -> list[BatchResult]: ...

    def run(self, name: str, fn: Callable[..., T], *args: Any) -> T: ...


def _counted(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


class DirectExecutor:
    """No orchestration: batches in a process pool when there is more than one, else inline."""

    def __init__(self, workers: int, progress: Callable[[str], None] | None = None) -> None:
        self.workers = workers
        self.progress = progress or (lambda _msg: None)

    def map_batches(
        self, fn: Callable[[BatchSpec, Settings], BatchResult], specs: Sequence[BatchSpec], settings: Settings
    ) -> list[BatchResult]:
        results: list[BatchResult] = []
        if not specs:
            return results
        workers = 1 if len(specs) <= 1 else min(self.workers, len(specs))
        batches, processes = _counted(len(specs), "batch", "batches"), _counted(workers, "worker", "workers")
        self.progress(f"clean {batches} on {processes}")
        if workers <= 1:
            for spec in specs:
                results.append(fn(spec, settings))
                self.progress(f"{spec.label}: {results[-1].files} files")
            return results
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(fn, spec, settings) for spec in specs]
            for spec, future in zip(specs, futures, strict=True):
                results.append(future.result())
                self.progress(f"{spec.label}: {results[-1].files} files")
        return results

    def run(self, name: str, fn: Callable[..., T], *args: Any) -> T:
        self.progress(name)
        return fn(*args)


# --------------------------------------------------------------------------- stage: plan


@dataclass(frozen=True, slots=True)
class RunPlan:
    """What this run must clean (new or changed files, in batches), and what it can reuse."""

    specs: list[BatchSpec]
    stamps: dict[str, FileStamp]
    deleted: list[str]
    unchanged: int
    files: int


def batch_count(files: int, run: RunSettings) -> int:
    """How many batches `files` files make: none larger than `run.batch_size`, and enough to keep
    every worker busy (`run.batches_per_worker` each, for balance: HTML pages cost ten times a
    text file) once there are `run.min_batch_files` files per batch; a handful of files is cleaned inline,
    where starting worker processes would cost more than it saves."""
    if files <= 0:
        return 0
    by_size = -(-files // run.batch_size)
    by_workers = 1
    if run.workers > 1:
        by_workers = min(run.batches_per_worker * run.workers, files // run.min_batch_files)
    return max(by_size, by_workers)


def plan_batches(raw_root: Path, work_dir: Path, run: RunSettings, known: dict[str, FileStamp]) -> RunPlan:
    """Compare the raw folder with the state; batch the files that are new or changed."""
    found = scan(raw_root)
    stamps: dict[str, FileStamp] = {}  # by the path as reported (display_path)
    todo: list[str] = []  # the paths as opened
    for rel, stat in found:
        stamp = FileStamp(stat.st_size, stat.st_mtime_ns) if stat else FileStamp(-1, -1)
        shown = display_path(rel)
        if known.get(shown) != stamp or stat is None:
            stamps[shown] = stamp
            todo.append(rel)
    # Interleaved, not contiguous: files of one kind sit together in path order (a scraper's
    # folder of whole pages, which cost ten times a text file each), and in contiguous batches
    # the last few of a 10k perf run held all of its HTML pages and ran alone on the cores.
    count = batch_count(len(todo), run)
    chunks = [tuple(todo[k::count]) for k in range(count)]
    specs = [
        BatchSpec(n, len(chunks), str(raw_root), chunk, str(work_dir / f"batch-{n:05d}.jsonl"))
        for n, chunk in enumerate(chunks, start=1)
    ]
    present = {display_path(rel) for rel, _ in found}
    deleted = sorted(p for p in known if p not in present)
    return RunPlan(specs, stamps, deleted, len(found) - len(todo), len(found))


# The code whose output the run state caches (cleaned documents and their signatures): a change
# to any of it invalidates the cache.
_CLEANING_SOURCES = (
    "cleaners/*.py",
    "newsclean/decode.py",
    "newsclean/sources.py",
    "dedup/features.py",
    "dedup/minhash.py",
    "dedup/signing.py",
    "dedup/event_space.py",
    "newsclean/corpus.py",  # the line keys stored with each document
)
# The dedup settings a signature depends on; thresholds only matter to grouping, which reruns.
_SIGNING_SETTINGS = {"seed", "near_num_perm", "near_shingle_words", "event_num_perm", "event_terms_per_doc"}


def settings_fingerprint(settings: Settings) -> str:
    """Cached cleaning results are valid only for the settings and code that produced them."""
    digest = hashlib.sha256()
    digest.update(settings.decode.model_dump_json().encode())
    digest.update(settings.cleaning.model_dump_json().encode())
    digest.update(json.dumps(settings.dedup.model_dump(include=_SIGNING_SETTINGS), sort_keys=True).encode())
    _digest_sources(digest, _CLEANING_SOURCES)
    return digest.hexdigest()


def _digest_sources(digest: Any, patterns: Sequence[str]) -> None:
    """Add the project's source files matching `patterns` (names and bytes) to `digest`."""
    root = Path(__file__).resolve().parent.parent
    for pattern in patterns:
        for source in sorted(root.glob(pattern)):
            digest.update(source.relative_to(root).as_posix().encode())
            digest.update(source.read_bytes())


# The code the outputs depend on beyond the cached cleaning results: grouping, corpus-learned
# lines, the writers. Any change to it, or to any setting that is not about execution, means the
# outputs must be made again even when no input changed.
_OUTPUT_SOURCES = ("cleaners/*.py", "dedup/*.py", "newsclean/*.py")
OUTPUT_FILES = ("documents.jsonl", "canonical.jsonl", "quarantine.jsonl", "summary.json")


# Settings about how a run executes, not what it produces: changing them keeps the outputs.
_EXECUTION_SETTINGS: dict[str, Any] = {"run": True, "dedup": {"threads", "large_block_bytes"}}


def outputs_key(fingerprint: str, settings: Settings, debug_removals: bool) -> str:
    """What the outputs are a function of, besides the stored results: see `_OUTPUT_SOURCES`."""
    digest = hashlib.sha256(fingerprint.encode())
    digest.update(settings.model_dump_json(exclude=_EXECUTION_SETTINGS).encode())
    digest.update(b"debug-removals" if debug_removals else b"-")
    _digest_sources(digest, _OUTPUT_SOURCES)
    return digest.hexdigest()


def output_stamps(out: Path) -> dict[str, list[int]] | None:
    """Size and modification time of every file of the output contract (None if one is missing):
    the same rule that says a raw file is unchanged says an output was not touched since."""
    names = [*OUTPUT_FILES, *sorted(f"canonical/{p.name}" for p in (out / "canonical").glob("*.md"))]
    stamps: dict[str, list[int]] = {}
    for name in names:
        try:
            stat = (out / name).stat()
        except OSError:
            return None
        stamps[name] = [stat.st_size, stat.st_mtime_ns]
    return stamps


# --------------------------------------------------------------------------- stage: clean


def clean_source(doc: SourceDoc, settings: Settings) -> CleanedText:
    """Whole pages go through extraction (whatever the file is called); fragments and text do not.

    A fragment (a feed's `html` field, a saved snippet) has no page chrome for an extractor to
    remove, and extractors drop short fragments outright; the text cleaner renders its markup.
    """
    known = Metadata(title=doc.title, published=doc.published, outlet=doc.outlet, url=doc.url)
    if is_html_document(doc.content):
        return clean_html(doc.content, settings.cleaning, url=doc.url, known=known)
    return clean_text(doc.content, settings.cleaning, known=known)


def _document_record(doc: SourceDoc, cleaned: CleanedText, mojibake: bool) -> dict[str, Any]:
    meta = cleaned.metadata
    removed = cleaned.removed_counts()
    if mojibake:
        removed = dict(sorted({**removed, "mojibake": 1}.items()))
    return {
        "id": doc.id,
        "source_path": doc.source_path,
        "record_id": doc.record_id,
        # Metadata first, then the folder the file was filed under, then what the text says.
        "outlet": doc.outlet or doc.folder_outlet or meta.outlet,
        "url": doc.url or meta.url,
        "title": meta.title,
        "published": meta.published,
        "author": meta.author,
        "text": cleaned.text,
        "content_sha256": hashlib.sha256(cleaned.text.encode("utf-8")).hexdigest(),
        "removed": removed,
        "removals": [asdict(r) for r in cleaned.removals],
    }


def clean_batch(spec: BatchSpec, settings: Settings) -> BatchResult:
    """Read, decode and clean a batch of files; write documents and quarantine records."""
    started = time.perf_counter()
    raw_root = Path(spec.raw_root)
    lines: list[dict[str, Any]] = []
    documents = quarantined = 0
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
            if isinstance(item, Quarantined):
                lines.append({"path": rel_path, "quarantine": item.to_json()})
                quarantined += 1
                continue
            try:
                cleaned = clean_source(item, settings)
            except Exception as exc:
                q = Quarantined(
                    item.source_path, item.record_id, "cleaning error", f"{type(exc).__name__}: {exc}"
                )
                lines.append({"path": rel_path, "quarantine": q.to_json()})
                quarantined += 1
                continue
            if not cleaned.text.strip():
                kinds = ", ".join(f"{k}={v}" for k, v in cleaned.removed_counts().items())
                q = Quarantined(item.source_path, item.record_id, "no article text", f"removed: {kinds}")
                lines.append({"path": rel_path, "quarantine": q.to_json()})
                quarantined += 1
                continue
            lines.append({"path": rel_path, "document": _document_record(item, cleaned, item.mojibake_fixed)})
            documents += 1
        cleaning += time.perf_counter() - t_read
    t = time.perf_counter()
    _sign_lines(lines, settings)
    if settings.cleaning.repeated_lines:  # keyed once here, counted by every later run's grouping
        for line in lines:
            if "document" in line:
                keys = LineKeys.of(line["document"]["text"], settings.cleaning.repeated_line_max_words)
                line["line_keys"] = keys.to_text()
    t_sign = time.perf_counter()
    write_jsonl(Path(spec.work_file), lines, pack)
    finished = time.perf_counter()
    return BatchResult(
        spec.number,
        spec.work_file,
        len(spec.paths),
        documents,
        quarantined,
        round(finished - started, 4),
        dict(zip(WORKER_PHASES, (reading, cleaning, t_sign - t, finished - t_sign), strict=True)),
    )


def _sign_lines(lines: list[dict[str, Any]], settings: Settings) -> None:
    """The "sign" stage, run inside the cleaning worker: what grouping needs from each document
    alone (see dedup.signing), stored beside it so grouping and later runs never recompute it."""
    docs = [line["document"] for line in lines if "document" in line]
    if not docs:
        return
    signatures = Signer(settings.dedup).sign([d["text"] for d in docs], [d["title"] for d in docs])
    signed = iter(signatures)
    for line in lines:
        if "document" in line:
            line["signature"] = next(signed).to_text()


# --------------------------------------------------------------------------- stage: group


def grouping_input(document: dict[str, Any]) -> DedupDoc:
    """A stored document as grouping sees it: its metadata; grouping reads signatures, never
    texts (see `group_batches`)."""
    return DedupDoc(document["id"], "", document["title"], document["published"], document["outlet"])


def record_batches(state_file: str, fingerprint: str, plan: RunPlan, work_files: Sequence[str]) -> int:
    """Store the cleaned batches in the run state and forget deleted files, in one transaction.

    One batch file is held at a time: all of a 100k run's results at once took 1.9 GB, more
    than any later stage needs. A raw file is read by exactly one batch, so its lines all sit in
    one batch file; a path seen in two would lose lines, and is refused."""
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


def group_batches(state_file: str, fingerprint: str, work_dir: str, settings: Settings) -> str:
    """Group every stored document; leave the run's final records and assignments in work_dir.

    The state is read twice. First each document's metadata, signature and line keys, streamed
    into the event graph, which lets each signature go once it has taken what it needs, and into
    the corpus-learned lines, which keep the keys. Then, once the graph is gone, the documents
    themselves, stripped of those lines as they are read. Holding 100k cleaned texts (and their
    removal records) while the graph lived cost 1.75 GB; a second read costs seconds. With the
    shingle sets spilled (`ShingleSets`), the 100k perf run's group stage peaked at 1.67 GB
    instead of 1.96 (RSS probes of the stage on one kept state)."""
    state_root = Path(state_file).parent.parent
    repeated = RepeatedLines(settings.cleaning)

    def signed() -> Iterator[tuple[DedupDoc, DocSignature]]:
        with RunState.open(state_root, fingerprint) as state:
            for stored in state.results(signatures=True, line_keys=True):
                if "document" not in stored.line:
                    continue  # a quarantine record
                document = stored.line["document"]
                if stored.signature is None:  # the record read would then find it unassigned
                    raise ValueError(f"{document['id']}: stored without its signature")
                # Keys made by the cleaning workers (`clean_batch`); from the text if missing.
                keys = None if stored.line_keys is None else LineKeys.from_bytes(stored.line_keys)
                repeated.add(document, keys)
                yield grouping_input(document), DocSignature.from_bytes(stored.signature)

    map_large_blocks_apart(settings.dedup.large_block_bytes)
    # Streamed: no signature outlives its use; the shingle sets wait in a file in work_dir.
    graph = event_graph(signed(), settings.dedup, spill_dir=work_dir)
    grouping = graph.grouping()
    # Corpus-learned boilerplate needs the clusters (a line counts once per event), so it is
    # learned after grouping; it removes furniture lines only, which do not decide any grouping.
    # A document left with no text leaves the clustering (rare), before the graph goes.
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
            document, quarantined = repeated.strip(stored.line["document"])
            if document is not None:
                documents.append(document)
            elif quarantined is not None:
                left_empty[stored.line["document"]["id"]] = quarantined
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


# --------------------------------------------------------------------------- stage: write


def _sources_order(source: dict[str, Any]) -> tuple[int, str]:
    return (0 if source["relation"] == "canonical" else 1, source["id"])


def write_outputs(grouped_dir: str, out_dir: str, debug_removals: bool = False) -> dict[str, Any]:
    """Write the output contract; returns the deterministic summary it also writes."""
    out = Path(out_dir)
    grouped = Path(grouped_dir)
    documents = read_jsonl(grouped / "documents.jsonl")
    quarantine = read_jsonl(grouped / "quarantine.jsonl")
    groups = json.loads((grouped / "groups.json").read_text(encoding="utf-8"))
    assignments: dict[str, dict[str, Any]] = groups["assignments"]

    records: list[dict[str, Any]] = []
    for doc in sorted(documents, key=lambda d: d["id"]):
        a = assignments[doc["id"]]
        record = {k: v for k, v in doc.items() if k != "removals"}
        record.update(
            cluster_id=a["cluster_id"],
            canonical_id=a["canonical_id"],
            relation=a["relation"],
            similarity=a["similarity"],
            duplicate_of=a["duplicate_of"],
        )
        if debug_removals:
            record["removals"] = doc["removals"]
        records.append(record)
    write_jsonl(out / "documents.jsonl", records)

    clusters: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        clusters.setdefault(record["cluster_id"], []).append(record)
    canonical_rows: list[dict[str, Any]] = []
    for cluster_id in sorted(clusters):
        members = clusters[cluster_id]
        canonical = next(m for m in members if m["relation"] == "canonical")
        ranked = sorted(members, key=_sources_order)
        dates = sorted(m["published"] for m in members if m["published"])
        row = {
            "cluster_id": cluster_id,
            "canonical_id": canonical["id"],
            # The canonical's own metadata first; gaps filled from the other sources.
            "title": canonical["title"] or next((m["title"] for m in ranked if m["title"]), None),
            "published": canonical["published"] or (dates[0] if dates else None),
            "outlet": canonical["outlet"],
            "text": canonical["text"],
            "sources": [
                {k: m[k] for k in ("id", "source_path", "outlet", "url", "relation", "similarity")}
                for m in ranked
            ],
        }
        canonical_rows.append(row)
    write_jsonl(out / "canonical.jsonl", canonical_rows)

    md_dir = out / "canonical"
    md_dir.mkdir(parents=True, exist_ok=True)
    wanted = {f"{row['cluster_id']}.md" for row in canonical_rows}
    for row in canonical_rows:
        write_atomic(md_dir / f"{row['cluster_id']}.md", canonical_markdown(row), durable=False)
    for stale in md_dir.glob("*.md"):
        if stale.name not in wanted:
            stale.unlink()

    quarantine_sorted = sorted(quarantine, key=lambda q: (q["source_path"], q["record_id"] or ""))
    write_jsonl(out / "quarantine.jsonl", quarantine_sorted)

    removed: Counter[str] = Counter()
    for record in records:
        removed.update(record["removed"])
    relations = Counter(r["relation"] for r in records)
    reasons = Counter(q["reason"] for q in quarantine_sorted)
    summary = {
        "documents": len(records),
        "quarantined": len(quarantine_sorted),
        "quarantine_reasons": dict(sorted(reasons.items())),
        "clusters": len(canonical_rows),
        "canonical_documents": len(canonical_rows),
        "relations": dict(sorted(relations.items())),
        "removed": dict(sorted(removed.items())),
    }
    write_atomic(out / "summary.json", json.dumps(summary, indent=2, sort_keys=True) + "\n")
    return summary


# --------------------------------------------------------------------------- the run


@dataclass
class RunOptions:
    """A run's folders and switches beyond the settings."""

    raw_dir: Path
    out_dir: Path
    settings: Settings = field(default_factory=Settings)
    wait_seconds: float = 0.0
    debug_removals: bool = False
    full: bool = False  # ignore the run state: re-clean every file


def run_pipeline(options: RunOptions, executor: StageExecutor, log: Logger) -> RunSummary:
    """Clean `raw_dir` into `out_dir`; the caller decides how stages execute.

    Only new and changed files are cleaned; everything is regrouped from the run state, so the
    output equals a full rebuild's byte for byte."""
    raw = options.raw_dir.resolve()
    out = options.out_dir.resolve()
    if not raw.is_dir():
        raise FileNotFoundError(f"raw folder not found: {options.raw_dir}")
    if out == raw or raw in out.parents:
        raise ValueError(f"output folder {out} must not be inside the raw folder {raw}")
    started = time.perf_counter()
    seconds: dict[str, float] = {}
    fingerprint = settings_fingerprint(options.settings)
    key = outputs_key(fingerprint, options.settings, options.debug_removals)
    worker_seconds = dict.fromkeys(WORKER_PHASES, 0.0)
    with output_lock(out, options.wait_seconds):
        with RunState.open(out, fingerprint, reset=options.full) as state:
            known = state.stamps()
            written = state.written_outputs()
        state_file = str(state_path(out))
        work_dir = Path(tempfile.mkdtemp(prefix=".work-", dir=out))
        try:
            t = time.perf_counter()
            plan = executor.run("plan", plan_batches, raw, work_dir, options.settings.run, known)
            log.info(
                "%d files: %d to clean in %d batches, %d unchanged, %d deleted",
                plan.files, len(plan.stamps), len(plan.specs), plan.unchanged, len(plan.deleted),
            )  # fmt: skip
            seconds["plan"] = time.perf_counter() - t
            current = (
                not plan.specs
                and not plan.deleted
                and written is not None
                and written.get("key") == key
                and written.get("stamps") == output_stamps(out)
            )
            if current and written is not None:
                # Nothing new, changed or deleted, and the outputs are as the last run left them:
                # regrouping would rebuild them byte for byte (a scheduled run's common case).
                log.info("nothing new, changed or deleted; the outputs in %s are current", out)
                summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
                candidate_pairs = int(written.get("candidate_pairs", 0))
            else:
                summary, candidate_pairs, worker_seconds = _clean_group_write(
                    options, executor, plan, state_file, fingerprint, work_dir, out, seconds
                )
                with RunState.open(out, fingerprint) as state, state.transaction():
                    state.record_outputs(
                        {"key": key, "stamps": output_stamps(out), "candidate_pairs": candidate_pairs}
                    )
        finally:
            shutil.rmtree(work_dir, ignore_errors=True)
    seconds["total"] = time.perf_counter() - started
    result = RunSummary(
        files=plan.files,
        documents=summary["documents"],
        quarantined=summary["quarantined"],
        quarantine_reasons=summary["quarantine_reasons"],
        clusters=summary["clusters"],
        canonical_documents=summary["canonical_documents"],
        relations=summary["relations"],
        removed=summary["removed"],
        candidate_pairs=candidate_pairs,
        files_cleaned=len(plan.stamps),
        files_unchanged=plan.unchanged,
        files_deleted=len(plan.deleted),
        seconds={k: round(v, 3) for k, v in seconds.items()},
        worker_seconds=worker_seconds,
        out_dir=str(out),
        outputs_current=current,
    )
    log.info(result.one_line())
    return result


def _clean_group_write(
    options: RunOptions,
    executor: StageExecutor,
    plan: RunPlan,
    state_file: str,
    fingerprint: str,
    work_dir: Path,
    out: Path,
    seconds: dict[str, float],
) -> tuple[dict[str, Any], int, dict[str, float]]:
    """The stages after the plan: (output summary, candidate pairs, worker seconds by phase);
    fills `seconds` per stage."""
    t = time.perf_counter()
    batches = executor.map_batches(clean_batch, plan.specs, options.settings)
    work_files = [b.work_file for b in sorted(batches, key=lambda b: b.number)]
    worker_seconds = {
        phase: round(sum(b.phases.get(phase, 0.0) for b in batches), 3) for phase in WORKER_PHASES
    }
    executor.run("record state", record_batches, state_file, fingerprint, plan, work_files)
    seconds["read_clean"] = time.perf_counter() - t

    t = time.perf_counter()
    grouped = executor.run("group", group_batches, state_file, fingerprint, str(work_dir), options.settings)
    seconds["group"] = time.perf_counter() - t

    t = time.perf_counter()
    summary = executor.run("write outputs", write_outputs, grouped, str(out), options.debug_removals)
    seconds["write"] = time.perf_counter() - t
    group_stats = json.loads((Path(grouped) / "groups.json").read_text(encoding="utf-8"))["stats"]
    return summary, int(group_stats.get("candidate_pairs", 0)), worker_seconds
