"""The Prefect executor: each stage a named task, each batch a task whose work runs in a process
pool shared by all batches (so cleaning uses every core while the flow run shows every batch).
Imports Prefect: use it only inside a flow run."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar, cast
from uuid import UUID

from prefect import get_run_logger, task
from prefect.artifacts import create_progress_artifact, update_progress_artifact
from prefect.cache_policies import NO_CACHE
from prefect.utilities.annotations import quote

from newsclean.flows.executors.pool import worker_pool
from newsclean.settings import Settings
from newsclean.stages.clean import BatchResult
from newsclean.stages.plan import BatchSpec

T = TypeVar("T")
# File stages can meet a busy disk or a network mount hiccup: retry them, with backoff.
FILE_RETRIES = 2
FILE_RETRY_DELAYS: list[float] = [2.0, 10.0]


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
        # Started here, in the flow's thread (see worker_pool), not by the first batch task's thread.
        with worker_pool(min(self.workers, len(specs))) as pool:

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
