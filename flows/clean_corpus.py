"""The cleaning flow: the pipeline's stages as Prefect tasks, one task per batch of files.

Orchestration only. Every stage is a library function from `newsclean.pipeline`; this module
decides how they run under Prefect (named tasks, retries on file I/O, a process pool under the
batch tasks so cleaning uses every core) and what the UI shows (logs, progress, artifacts).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar, cast
from uuid import UUID

from prefect import flow, get_run_logger, task
from prefect.artifacts import (
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run
from prefect.utilities.annotations import quote

from newsclean.pipeline import BatchResult, BatchSpec, RunOptions, run_pipeline
from newsclean.settings import Settings
from newsclean.sources import discover

T = TypeVar("T")
# File stages can meet a busy disk or a network mount hiccup: retry them, with backoff.
FILE_RETRIES = 2
FILE_RETRY_DELAYS: list[float] = [2.0, 10.0]
MAX_TABLE_ROWS = 500


def _as_is(value: T) -> T:
    """`value` for a task argument that Prefect passes on without walking it (`quote`).

    Why: Prefect visits every argument looking for futures to resolve: every path of a batch,
    every field of the settings, every batch's result. None of them holds a future, and the walk
    cost about a second of a 10k run. Typed as `value` itself: the task receives it unwrapped."""
    return cast(T, quote(value))


class PrefectExecutor:
    """Runs each stage as a task; batch tasks hand their work to a shared process pool."""

    def __init__(self, workers: int) -> None:
        self.workers = workers

    def map_batches(
        self,
        fn: Callable[[BatchSpec, Settings], BatchResult],
        specs: Sequence[BatchSpec],
        settings: Settings,
    ) -> list[BatchResult]:
        logger = get_run_logger()
        # Called from a sync flow, Prefect's dual sync/async API returns the id itself.
        progress_id = cast(
            UUID,
            create_progress_artifact(
                progress=0.0, key="newsclean-progress", description="Share of batches cleaned"
            ),
        )
        with ProcessPoolExecutor(max_workers=max(1, self.workers)) as pool:

            def run_batch(spec: BatchSpec, settings: Settings) -> BatchResult:
                result = pool.submit(fn, spec, settings).result()
                get_run_logger().info(
                    "%s: %d files, %d documents, %d quarantined in %.2fs",
                    spec.label, result.files, result.documents, result.quarantined, result.seconds,
                )  # fmt: skip
                return result

            batch_task = task(
                name="clean batch",
                retries=FILE_RETRIES,
                retry_delay_seconds=FILE_RETRY_DELAYS,
                cache_policy=NO_CACHE,
                persist_result=False,
            )(run_batch)
            futures = [
                batch_task.with_options(task_run_name=spec.label).submit(_as_is(spec), _as_is(settings))
                for spec in specs
            ]
            results: list[BatchResult] = []
            for future in futures:
                results.append(future.result())
                if progress_id is not None:
                    update_progress_artifact(progress_id, progress=100.0 * len(results) / len(specs))
        logger.info("cleaned %d batches", len(results))
        return results

    def run(self, name: str, fn: Callable[..., T], *args: Any) -> T:
        stage = task(
            name=name,
            task_run_name=name,  # "group", not Prefect's default "group-3f2"
            retries=FILE_RETRIES,
            retry_delay_seconds=FILE_RETRY_DELAYS,
            cache_policy=NO_CACHE,
            persist_result=False,
        )(fn)
        return stage(*(_as_is(arg) for arg in args))


def _run_name() -> str:
    """`clean raw (5 files, 3 outlets) 2026-11-23 18:00 UTC`: what the UI lists."""
    params = flow_run.parameters
    raw = Path(params.get("raw_dir", "raw"))
    try:
        files = discover(raw)
    except OSError:
        files = []
    outlets = {p.split("/", 1)[0] for p in files if "/" in p}
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    outlet_part = f", {len(outlets)} outlets" if outlets else ""
    return f"clean {raw.name or raw} ({len(files)} files{outlet_part}) {when}"


def _cluster_table(out_dir: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    path = out_dir / "canonical.jsonl"
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            cluster = json.loads(line)
            sources = cluster["sources"]
            relations = sorted({s["relation"] for s in sources})
            rows.append(
                {
                    "cluster": cluster["cluster_id"],
                    "title": cluster["title"] or "(untitled)",
                    "published": cluster["published"] or "",
                    "outlets": ", ".join(sorted({s["outlet"] or "?" for s in sources})),
                    "members": len(sources),
                    "relations": ", ".join(relations),
                }
            )
    rows.sort(key=lambda r: (-r["members"], r["cluster"]))
    return rows[:MAX_TABLE_ROWS]


@flow(name="clean-corpus", flow_run_name=_run_name, log_prints=False)
def clean_corpus(
    raw_dir: str = "raw",
    out_dir: str = "clean",
    settings_file: str | None = None,
    workers: int | None = None,
    wait_seconds: float = 0.0,
    full: bool = False,
) -> dict[str, Any]:
    """Clean a raw folder into canonical documents, one per event, every source listed."""
    logger = get_run_logger()
    settings = Settings.from_file(Path(settings_file) if settings_file else None)
    n_workers = workers or settings.run.workers or os.cpu_count() or 1
    options = RunOptions(Path(raw_dir), Path(out_dir), settings, wait_seconds=wait_seconds, full=full)
    summary = run_pipeline(options, PrefectExecutor(n_workers), logger)
    if summary.quarantined:
        logger.warning(
            "%d input(s) quarantined: %s (see %s/quarantine.jsonl)",
            summary.quarantined,
            ", ".join(f"{k} x{v}" for k, v in summary.quarantine_reasons.items()),
            out_dir,
        )
    create_markdown_artifact(
        key="newsclean-summary", markdown=summary.markdown(), description="newsclean run summary"
    )
    create_table_artifact(
        key="newsclean-clusters",
        table=_cluster_table(Path(out_dir)),
        description=f"Clusters (largest first, at most {MAX_TABLE_ROWS})",
    )
    return summary.to_json()
