"""The executor without orchestration: what `newsclean run` uses when no Prefect API is set."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from newsclean.flows.progress import Progress, QuietProgress

if TYPE_CHECKING:  # types only: a run with nothing to clean never imports the clean stage
    from newsclean.settings import Settings
    from newsclean.stages.clean import BatchResult
    from newsclean.stages.plan import BatchSpec

T = TypeVar("T")


class DirectExecutor:
    """Batches in a process pool (`worker_pool`: workers die with the run) of at most `workers`
    processes when there is more than one batch, else inline; each stage reported to `progress`
    as it starts and each batch as it ends."""

    def __init__(self, workers: int, progress: Progress | None = None) -> None:
        self.workers = workers
        self.progress = progress or QuietProgress()

    def map_batches(
        self, fn: Callable[[BatchSpec, Settings], BatchResult], specs: Sequence[BatchSpec], settings: Settings
    ) -> list[BatchResult]:
        results: list[BatchResult] = []
        if not specs:
            return results
        workers = 1 if len(specs) <= 1 else min(self.workers, len(specs))
        self.progress.cleaning(specs, workers)
        if workers <= 1:
            for spec in specs:
                results.append(fn(spec, settings))
                self.progress.batch_done(spec, results[-1])
            return results
        # Deferred: multiprocessing and concurrent.futures cost a run with nothing to clean
        # (a scheduled run's common case) a tenth of its second.
        from newsclean.flows.executors.pool import worker_pool

        with worker_pool(workers) as pool:
            futures = [pool.submit(fn, spec, settings) for spec in specs]
            for spec, future in zip(specs, futures, strict=True):
                results.append(future.result())
                self.progress.batch_done(spec, results[-1])
        return results

    def run(self, name: str, fn: Callable[..., T], *args: Any) -> T:
        self.progress.stage(name)
        return fn(*args)
