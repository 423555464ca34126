"""Stage 1, plan: which raw files this run must clean, in batches, and which it can reuse."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from newsclean.settings import RunSettings
from newsclean.sources import display_path, scan
from newsclean.state import FileStamp


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
    `stamps` holds the new or changed files' stamps by reported path (`display_path`)."""

    specs: list[BatchSpec]
    stamps: dict[str, FileStamp]
    deleted: list[str]
    unchanged: int
    files: int


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
    list the deleted ones. Every file found is either planned or counted unchanged."""
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
    # folder of whole pages), and contiguous batches would leave those on one core at the end.
    count = batch_count(len(todo), run)
    chunks = [tuple(todo[k::count]) for k in range(count)]
    specs = [
        BatchSpec(n, len(chunks), str(raw_root), chunk, str(work_dir / f"batch-{n:05d}.jsonl"))
        for n, chunk in enumerate(chunks, start=1)
    ]
    present = {display_path(rel) for rel, _ in found}
    deleted = sorted(p for p in known if p not in present)
    return RunPlan(specs, stamps, deleted, len(found) - len(todo), len(found))
