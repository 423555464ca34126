"""Stage 1, plan: which raw files this run must clean, in batches, and which it can reuse."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from newsclean.settings import RunSettings
from newsclean.state import FileStamp
from newsclean.walk import UNLISTABLE_FOLDER, display_path, scan

log = logging.getLogger("newsclean.plan")

# The stamp of an entry that cannot be examined (or used): it is planned on every run.
_UNKNOWN = FileStamp(-1, -1, -1)


@dataclass(frozen=True, slots=True)
class BatchSpec:
    """One unit of cleaning work: which files (as opened, relative to `raw_root`), and the work
    file its results go to."""

    number: int
    total: int
    raw_root: str
    paths: tuple[str, ...]
    work_file: str

    @property
    def label(self) -> str:
        return f"clean batch {self.number}/{self.total}"


@dataclass(frozen=True, slots=True)
class RunPlan:
    """What this run must clean (new or changed files, in batches), and what it can reuse.
    `stamps` holds the new or changed files' stamps by reported path (`display_path`). `kept`
    lists the files known from earlier runs inside folders this run could not list: neither
    read nor deleted, their results stay (counted unchanged)."""

    specs: list[BatchSpec]
    stamps: dict[str, FileStamp]
    deleted: list[str]
    unchanged: int
    files: int
    kept: list[str] = field(default_factory=list)


def batch_count(files: int, run: RunSettings) -> int:
    """How many batches `files` files make: none larger than `run.batch_size`, and enough to keep
    every worker busy (`run.batches_per_worker` each, for balance: an HTML page costs ten text
    files) once there are `run.min_batch_files` files per batch; a handful of files is cleaned
    inline, where starting worker processes would cost more than it saves."""
    if files <= 0:
        return 0
    by_size = -(-files // run.batch_size)
    by_workers = 1
    if run.workers > 1:
        by_workers = min(run.batches_per_worker * run.workers, files // run.min_batch_files)
    return max(by_size, by_workers)


def plan_batches(raw_root: Path, work_dir: Path, run: RunSettings, known: dict[str, FileStamp]) -> RunPlan:
    """Compare the raw folder with the state's stamps (`known`); batch the new or changed files,
    list the deleted ones. Every entry found is either planned or counted unchanged; an entry
    the walk cannot use (`scan`: a folder it cannot list, a dangling link, ...) is planned on
    every run, and reading it gives its quarantine record. A folder that cannot be listed does
    not delete what earlier runs found in it (a full run, with no earlier state, has none)."""
    found = scan(raw_root)
    stamps: dict[str, FileStamp] = {}  # by the path as reported (display_path)
    todo: list[str] = []  # the paths as opened
    unlisted: list[str] = []
    present: set[str] = set()
    # One pass, stamps compared as tuples (FileStamp is one): at 100k files the per-file objects
    # and calls of a plainer loop cost a run that finds nothing new a second.
    get = known.get
    for rel, stat, problem in found:
        shown = rel if rel.isascii() else display_path(rel)  # an ASCII name is shown as it is
        present.add(shown)
        if stat is None:
            stamps[shown] = _UNKNOWN
            todo.append(rel)
            if problem == UNLISTABLE_FOLDER:
                unlisted.append(shown + "/")
            continue
        stamp = (stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)
        if get(shown) != stamp:
            stamps[shown] = FileStamp(*stamp)
            todo.append(rel)
    # Interleaved, not contiguous: files of one kind sit together in path order (a scraper's
    # folder of whole pages), and contiguous batches would leave those on one core at the end.
    count = batch_count(len(todo), run)
    chunks = [tuple(todo[k::count]) for k in range(count)]
    specs = [
        BatchSpec(n, len(chunks), str(raw_root), chunk, str(work_dir / f"batch-{n:05d}.jsonl"))
        for n, chunk in enumerate(chunks, start=1)
    ]
    gone = sorted(p for p in known if p not in present)
    prefixes = tuple(unlisted)
    kept = [p for p in gone if p.startswith(prefixes)] if prefixes else []
    deleted = [p for p in gone if not p.startswith(prefixes)] if prefixes else gone
    for folder in unlisted:
        inside = sum(1 for p in kept if p.startswith(folder))
        log.warning("cannot list %s: its %d file(s) from earlier runs are kept as they were", folder, inside)
    unchanged = len(found) - len(todo) + len(kept)
    return RunPlan(specs, stamps, deleted, unchanged, len(found) + len(kept), kept)
