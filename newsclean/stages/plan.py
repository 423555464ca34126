"""Stage 1, plan: which raw files this run must clean, in batches, and which it can reuse."""

from __future__ import annotations

import gc
import logging
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path
from typing import cast

from newsclean.listing import RAW_FIELDS, listing_digest
from newsclean.settings import RunSettings
from newsclean.state import FileStamp
from newsclean.walk import UNLISTABLE_FOLDER, ScanEntry, display_path, scan

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
    # `walk_digest` of the walk the plan was made from (None when an entry could not be used).
    listing: str | None = None


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


def walk_digest(raw_root: Path | str, found: Sequence[ScanEntry]) -> str | None:
    """A digest of a walk: the root, and every entry's path and stamp (size, modification and
    change times) in the walk's order; None when an entry cannot be used (it is planned on
    every run, so no walk with it can stand for "nothing changed")."""
    stats = list(map(itemgetter(1), found))
    if None in stats:
        return None
    names = list(map(itemgetter(0), found))
    return listing_digest(names, cast(list[os.stat_result], stats), RAW_FIELDS, str(raw_root))


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """The cyclic garbage collector paused: the walk and the comparison make a few objects per
    file (no cycles), and at 100k files the collections they trigger cost a tenth of a second."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def plan_batches(
    raw_root: Path,
    work_dir: Path,
    run: RunSettings,
    known: Mapping[str, FileStamp] | Callable[[], Mapping[str, FileStamp]],
    listing: str | None = None,
) -> RunPlan:
    """Compare the raw folder with the state's stamps (`known`); batch the new or changed files,
    list the deleted ones. Every entry found is either planned or counted unchanged; an entry
    the walk cannot use (`scan`: a folder it cannot list, a dangling link, ...) is planned on
    every run, and reading it gives its quarantine record. A folder that cannot be listed does
    not delete what earlier runs found in it (a full run, with no earlier state, has none).

    `listing`: the `walk_digest` of the walk the state's stamps were all recorded from (the run
    records it with its outputs; any change to the stamps forgets it). A walk with that digest
    finds every file as the state has it: nothing to clean or delete, and `known` (then best
    given as the loader of the stamps) is never read. A scheduled run that finds nothing new
    pays for its walk, not for reading and comparing 100k stamps."""
    with _no_cycle_collection():
        return _plan(raw_root, work_dir, run, known, listing)


def _plan(
    raw_root: Path,
    work_dir: Path,
    run: RunSettings,
    known: Mapping[str, FileStamp] | Callable[[], Mapping[str, FileStamp]],
    listing: str | None,
) -> RunPlan:
    found = scan(raw_root)
    digest = walk_digest(raw_root, found)
    if listing is not None and digest == listing:
        return RunPlan([], {}, [], len(found), len(found), [], digest)
    if callable(known):
        known = known()
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
    if len(present) < len(found):  # two names reported as one (display_path): never "unchanged"
        digest = None
    return RunPlan(specs, stamps, deleted, unchanged, len(found) + len(kept), kept, digest)
