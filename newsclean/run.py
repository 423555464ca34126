"""A run: the stages in order, under the output lock, executed by the caller's executor.

`run_pipeline` is the one path every run takes: the command line, the Prefect flow and the
tests call it with `RunOptions` made by `build_options`, and pick only the executor
(`StageExecutor`: inline or in a process pool, or as Prefect tasks, in `newsclean.flows`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from newsclean.fingerprint import outputs_key, settings_fingerprint
from newsclean.lock import output_lock
from newsclean.objectstore import StoreBatch
from newsclean.report import RunSummary
from newsclean.settings import Settings
from newsclean.stages.plan import RunPlan, plan_batches
from newsclean.stages.write import output_stamps, publish_to_store, remove_leftovers
from newsclean.state import PLAN_TABLES, RunState, state_path
from newsclean.walk import is_store_url

if TYPE_CHECKING:  # the clean and group stages are imported when a run has work for them
    from newsclean.stages.clean import BatchResult
    from newsclean.stages.plan import BatchSpec

T = TypeVar("T")
Logger = logging.Logger | logging.LoggerAdapter[Any]


class StageExecutor(Protocol):
    """Runs stage functions. `map_batches` runs the clean stage on every batch (in any order, on
    any number of processes) and returns their results; `run` runs one stage function, named for
    progress and monitoring. An executor changes how a run executes, never what it produces."""

    def map_batches(
        self, fn: Callable[[BatchSpec, Settings], BatchResult], specs: Sequence[BatchSpec], settings: Settings
    ) -> list[BatchResult]: ...

    def run(self, name: str, fn: Callable[..., T], *args: Any) -> T: ...


@dataclass(frozen=True)
class RunOptions:
    """A run's folders and switches beyond the settings."""

    raw_dir: Path
    out_dir: Path
    settings: Settings = field(default_factory=Settings)
    wait_seconds: float = 0.0
    debug_removals: bool = False
    full: bool = False  # ignore the run state: re-clean every file
    # What `build_options` changed of what was asked (e.g. workers capped at the cores), to log.
    notes: tuple[str, ...] = ()
    # An object-store raw prefix (read in place of `raw_dir`) and output (`out_dir` is then the
    # local folder of its run state, lock and last published output; `store_state_dir`).
    raw_url: str | None = None
    out_url: str | None = None


WORK_PREFIX = ".work-"


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity where the system tells it)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def check_folders(raw_dir: Path, out_dir: Path) -> None:
    """Refuse (`ValueError`, one line) an output folder that is the raw folder or inside it: the
    run would read its own output as input."""
    raw, out = raw_dir.resolve(), out_dir.resolve()
    if out == raw or raw in out.parents:
        raise ValueError(f"the output folder {out_dir} must not be the raw folder {raw_dir} or inside it")


def store_state_dir(out_url: str) -> Path:
    """The default local folder of an object-store output's run state, lock and last published
    output (`--state-dir` chooses another): one a URL, under the user's cache folder."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    digest = hashlib.sha256(out_url.rstrip("/").encode("utf-8")).hexdigest()[:16]
    return cache / "newsclean" / "outputs" / digest


def check_store_folders(raw: str | Path, out: str | Path) -> None:
    """`check_folders` for URLs: the output must not be the raw prefix or under it."""
    raw_text, out_text = str(raw).rstrip("/"), str(out).rstrip("/")
    if out_text == raw_text or out_text.startswith(raw_text + "/"):
        raise ValueError(f"the output {out} must not be the raw prefix {raw} or inside it")


def build_options(
    raw_dir: str | Path,
    out_dir: str | Path,
    *,
    settings_file: str | Path | None = None,
    workers: int | None = None,
    batch_size: int | None = None,
    wait_seconds: float = 0.0,
    debug_removals: bool = False,
    full: bool = False,
    engine: str | None = None,
    dask_address: str | None = None,
    work_url: str | None = None,
    state_dir: str | Path | None = None,
) -> RunOptions:
    """The options of a run from what a user gives (the command line's or the flow's
    parameters, which are the same): the settings file, then `workers`, `batch_size` and the
    engine's options over its `run` section, validated by the settings model like the file
    itself (a `ValueError`, e.g. pydantic's `ValidationError`, names a bad value). Both the
    command line and the flow build their options here, so a run means the same whichever
    starts it."""
    settings = Settings.from_file(Path(settings_file) if settings_file else None)
    given: dict[str, object] = {"workers": workers, "batch_size": batch_size, "engine": engine}
    given |= {"dask_address": dask_address, "work_url": work_url}  # the engine's: execution only
    overrides = {k: v for k, v in given.items() if v is not None}
    if overrides:
        run = settings.run.model_dump() | overrides
        settings = Settings.model_validate({**settings.model_dump(), "run": run})
    notes: list[str] = []
    cores = available_cores()
    if settings.run.workers > cores:
        # More processes than cores only add start-up time and memory (and the batch count
        # follows the workers: 1,000,000 asked for once made 20 processes for 1,000 files).
        notes.append(f"workers capped at {cores} (the cores available), not {settings.run.workers}")
        settings = settings.model_copy(update={"run": settings.run.model_copy(update={"workers": cores})})
    # `raw_dir` or `out_dir` as an object-store URL (`s3://...`): see RunOptions.
    raw_url = str(raw_dir) if is_store_url(raw_dir) else None
    out_url = str(out_dir) if is_store_url(out_dir) else None
    local_out = Path(state_dir) if state_dir else store_state_dir(out_url) if out_url else Path(out_dir)
    return RunOptions(
        Path(raw_dir), local_out, settings, wait_seconds, debug_removals, full, tuple(notes), raw_url, out_url
    )


def run_pipeline(options: RunOptions, executor: StageExecutor, log: Logger) -> RunSummary:
    """Clean `raw_dir` into `out_dir` (the output contract) and return the run's summary; the
    caller decides how stages execute.

    Only new and changed files are cleaned; everything is regrouped from the run state, so the
    output equals a full rebuild's byte for byte. Raises `OutputLocked` when another run holds
    the output folder, `FileNotFoundError` or `ValueError` for unusable folders."""
    out = options.out_dir.resolve()
    raw: Path | str
    if options.raw_url is not None or options.out_url is not None:
        check_store_folders(options.raw_url or options.raw_dir.resolve(), options.out_url or out)
    if options.raw_url is not None:
        raw = options.raw_url  # listed by the plan (`walk.scan_store`): a missing prefix raises
    else:
        raw = options.raw_dir.resolve()
        if not raw.is_dir():
            raise FileNotFoundError(f"raw folder not found: {options.raw_dir}")
        check_folders(raw, out)
    for note in options.notes:
        log.info(note)
    warnings: list[str] = []

    def warn(message: str) -> None:
        log.warning(message)
        warnings.append(message)

    started = time.perf_counter()
    seconds: dict[str, float] = {}
    fingerprint = settings_fingerprint(options.settings)
    key = outputs_key(fingerprint, options.settings, options.debug_removals)
    worker_seconds: dict[str, float] = {}  # by phase; none when nothing was cleaned
    with output_lock(out, options.wait_seconds, warn):
        leftovers = _remove_leftovers(out)
        if leftovers:
            log.info("removed what an interrupted run left: %s", ", ".join(leftovers))
        # The first open checks only what the plan reads (all of it before a --full reset); a run
        # with work checks the rest below.
        tables = None if options.full else PLAN_TABLES
        state_file = str(state_path(out))
        work_dir = Path(tempfile.mkdtemp(prefix=WORK_PREFIX, dir=out))
        try:
            t = time.perf_counter()
            with RunState.open(out, fingerprint, reset=options.full, check=True, tables=tables) as state:
                if state.recovered:
                    warn(state.recovered)
                written = state.written_outputs()
                # The stamps are read only when the walk differs from the one they were recorded
                # from (`plan_batches`' listing).
                listing = written.get("listing") if written is not None else None
                plan = executor.run(
                    "plan", plan_batches, raw, work_dir, options.settings.run, state.stamps, listing
                )
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
                with RunState.open(out, fingerprint, check=True) as state:  # the whole store
                    if state.recovered:  # set aside: a new store, so every file is cleaned
                        warn(state.recovered)
                        plan = executor.run("plan", plan_batches, raw, work_dir, options.settings.run, {})
                summary, candidate_pairs, worker_seconds = _clean_group_write(
                    options, executor, plan, state_file, fingerprint, work_dir, out, seconds
                )
                # The walk the state's stamps now all come from, unless a file timed out (stored
                # to be cleaned again: see `stages.clean.record_batches`).
                from newsclean.stages.clean import TIMEOUT  # imported by the clean stage above

                timed_out = TIMEOUT in summary.get("quarantine_reasons", {})
                record = {"key": key, "stamps": output_stamps(out), "candidate_pairs": candidate_pairs}
                record["listing"] = None if timed_out else plan.listing
                with RunState.open(out, fingerprint) as state, state.transaction():
                    state.record_outputs(record)
            if options.out_url is not None:  # also when current: a killed run's copy finished
                t = time.perf_counter()
                published = publish_to_store(out, options.out_url)
                seconds["publish"] = time.perf_counter() - t
                log.info("published to %s", published)
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
        out_dir=options.out_url or str(out),
        outputs_current=current,
        warnings=warnings,
        grouping=summary.get("grouping", {}),
    )
    log.info(result.one_line())
    return result


def _remove_leftovers(out: Path) -> list[str]:
    """What runs that were killed left: their work folders (made here, by `run_pipeline`), then
    what the write stage leaves (`stages.write.remove_leftovers`: temporary files, unpublished
    generations). Only ever called under the output lock: no live run owns them."""
    removed = []
    for folder in sorted(out.glob(f"{WORK_PREFIX}*")):
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder.name)
    return removed + remove_leftovers(out)


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
    # Imported here, not at the top: a run with nothing new (a scheduled run's common case) ends
    # after the plan, and these stages' imports (cleaners, dedup: numpy, scipy, numba) cost
    # seconds.
    from newsclean.stages.clean import WORKER_PHASES, clean_batch, record_batches
    from newsclean.stages.group import group_batches
    from newsclean.stages.write import write_outputs

    t = time.perf_counter()
    # A raw prefix on an object store: each batch's objects copied where it is cleaned.
    clean: Callable[[BatchSpec, Settings], BatchResult] = clean_batch
    if options.raw_url is not None:
        clean = StoreBatch(clean_batch)
    batches = executor.map_batches(clean, plan.specs, options.settings)
    work_files = [b.work_file for b in sorted(batches, key=lambda b: b.number)]
    worker_seconds = {
        phase: round(sum(b.phases.get(phase, 0.0) for b in batches), 3) for phase in WORKER_PHASES
    }
    executor.run("record state", record_batches, state_file, fingerprint, plan, work_files)
    seconds["read_clean"] = time.perf_counter() - t

    t = time.perf_counter()
    key = outputs_key(fingerprint, options.settings, options.debug_removals)  # the model is valid under it
    grouped = executor.run(
        "group", group_batches, state_file, fingerprint, str(work_dir), options.settings, key
    )
    seconds["group"] = time.perf_counter() - t

    t = time.perf_counter()
    summary = executor.run("write outputs", write_outputs, grouped, str(out), options.debug_removals)
    seconds["write"] = time.perf_counter() - t
    group_stats = json.loads((Path(grouped) / "groups.json").read_text(encoding="utf-8"))["stats"]
    return summary, int(group_stats.get("candidate_pairs", 0)), worker_seconds
