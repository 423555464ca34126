"""Stage 2, clean: read, decode, clean and sign a batch of files; store the batches in the state.

Runs in worker processes, one batch at a time. A batch writes one JSON line per document or
quarantine record to its work file (`BatchSpec.work_file`), each document with what grouping
needs from it alone (its signature and line keys), so grouping and later runs never recompute
them; `record_batches` then moves every batch into the run state in one transaction.

Each step of a file runs under a time limit (`run.file_seconds`, `StepClock`): reading it, and
cleaning each of its documents. A step over it costs that file or record (quarantined as
"timeout"), never the batch.
"""

from __future__ import annotations

import base64
import signal
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any, TypeVar

from newsclean.cleaners import clean_html, clean_text
from newsclean.cleaners.types import CleanedText, Metadata
from newsclean.corpus import LineKeys
from newsclean.dedup.signing import Signer
from newsclean.output import pack, read_jsonl, write_jsonl
from newsclean.records import CleanedDocument, Quarantined, SourceDoc, text_sha256
from newsclean.settings import Settings
from newsclean.sources import display_path, read_file
from newsclean.stages.plan import BatchSpec, RunPlan
from newsclean.state import FileStamp, RunState, StoredResult

WORKER_PHASES = ("read_decode", "clean", "sign", "write")
TIMEOUT = "timeout"  # the quarantine reason of a step over its time limit
# The stamp a file with a timed-out step is stored under: planned again on every run, since a
# timeout says how the run went (its limit, the machine's load), not what the file holds.
_RETRY_STAMP = FileStamp(-1, -1, -1)

T = TypeVar("T")


class StepTimeout(BaseException):
    """A step of a file ran past its time limit. A `BaseException`, so that no `except Exception`
    on the way (a cleaner's, a reader's, the batch's own) takes it for an error of the file."""

    def __init__(self, step: str, seconds: float) -> None:
        super().__init__(step, seconds)
        self.step = step
        self.seconds = seconds

    @property
    def detail(self) -> str:
        return f"{self.step}: over the {self.seconds:g} s limit (run.file_seconds)"


class StepClock:
    """Runs each step of a file under a time limit of `seconds` (0: none), as a context that
    holds SIGALRM for its duration (the previous handler is restored on leaving).

    A one-shot real-time timer (`setitimer`) is armed for each step; its handler raises
    `StepTimeout` in the step, and only while a step runs. Python runs signal handlers between
    bytecodes, in the main thread: a step inside one long C call is stopped when the call returns
    (regular expressions and BeautifulSoup's lxml parsing return to Python often). A step that
    swallows the exception (a bare `except:` in a library) runs to its end, and is then refused
    all the same. No limit where a signal cannot be used: outside the process's main thread
    (where the clean stage never runs: pool workers and the inline executor run batches in their
    main thread), on systems without `setitimer`, or while another real-time timer is running."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.enabled = False
        self._step: str | None = None
        self._fired = False
        self._previous: Any = None

    def __enter__(self) -> StepClock:
        usable = (
            self.seconds > 0
            and hasattr(signal, "setitimer")
            and threading.current_thread() is threading.main_thread()
        )
        if usable and signal.getitimer(signal.ITIMER_REAL)[0] == 0:
            try:
                self._previous = signal.signal(signal.SIGALRM, self._on_alarm)
                self.enabled = True
            except ValueError:  # not the main thread of the main interpreter
                self.enabled = False
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.enabled:
            self._step = None
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self._previous)
            self.enabled = False

    def run(self, step: str, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)`, or `StepTimeout` once it has run `seconds`."""
        if not self.enabled:
            return fn(*args)
        self._fired = False
        self._step = step
        signal.setitimer(signal.ITIMER_REAL, self.seconds)
        try:
            result = fn(*args)
        finally:
            # The timer fires once: after it, or once the step is None, no alarm raises again.
            self._step = None
            signal.setitimer(signal.ITIMER_REAL, 0)
        if self._fired:  # raised, but swallowed inside the step
            raise StepTimeout(step, self.seconds)
        return result

    def _on_alarm(self, signum: int, frame: FrameType | None) -> None:
        step = self._step
        if step is None:
            return
        self._step = None
        self._fired = True
        raise StepTimeout(step, self.seconds)


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
    with StepClock(settings.run.file_seconds) as clock:
        for opened in spec.paths:
            rel_path = display_path(opened)
            t = time.perf_counter()
            try:
                results = clock.run("read", read_file, raw_root, opened, settings.decode)
            except StepTimeout as timeout:
                results = [Quarantined(rel_path, None, TIMEOUT, timeout.detail)]
            except Exception as exc:  # a reader bug must cost one file, not the run
                results = [Quarantined(rel_path, None, "read error", f"{type(exc).__name__}: {exc}")]
            t_read = time.perf_counter()
            reading += t_read - t
            for item in results:
                outcome = item if isinstance(item, Quarantined) else _clean_limited(clock, item, settings)
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


def _clean_limited(clock: StepClock, item: SourceDoc, settings: Settings) -> CleanedDocument | Quarantined:
    """`clean_one` under the clock: a document over the limit is quarantined as "timeout"."""
    try:
        return clock.run("clean", clean_one, item, settings)
    except StepTimeout as timeout:
        return Quarantined(item.source_path, item.record_id, TIMEOUT, timeout.detail)


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

    A file with a timed-out step is stored as changed (`_RETRY_STAMP`): the next run cleans it
    again. One batch file is held at a time. A raw file is read by exactly one batch, so its lines all
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
                stamp = pending.pop(path)
                if any(_timed_out(result) for result in by_path[path]):
                    stamp = _RETRY_STAMP
                state.replace_file(path, stamp, by_path[path])
        for path in sorted(pending):  # a planned file that produced no line at all
            state.replace_file(path, pending[path], [])
    return len(planned)


def _timed_out(result: StoredResult) -> bool:
    quarantine = result.line.get("quarantine")
    return isinstance(quarantine, dict) and quarantine.get("reason") == TIMEOUT


def _stored(line: dict[str, Any]) -> StoredResult:
    """A batch file's line as the run state keeps it: the signature and line keys (base64 in the
    JSON batch file) leave the record as bytes."""
    signature, keys = line.pop("signature", None), line.pop("line_keys", None)
    return StoredResult(
        line,
        None if signature is None else base64.b64decode(signature),
        None if keys is None else base64.b64decode(keys),
    )
