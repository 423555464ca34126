"""The Dask executor: `newsclean run --engine dask`. Each batch a Dask task on a cluster's
workers; the other stages in the calling process, as with the direct executor, except that
grouping's pair steps (candidates, scores, per-story choices, clustering) run on the cluster
(`newsclean.distributed.grouping.DaskGraphSteps`): the run's process never holds every
candidate pair.

Imports Dask (`pip install 'newsclean[dask]'`): only the dask engine imports this module, so a
local run never pays for, or depends on, Dask.

A fresh client per run, and without an address a fresh `LocalCluster` per run: a long-lived
scheduler grows by ~80 MiB a run (prefect#21697). A batch is one task of a few seconds: the
~3-5 ms a Dask task costs is lost in it, and a run of thousands of batches is one graph, not
thousands of Prefect tasks (prefect#12877).
"""

from __future__ import annotations

import importlib.util
import logging
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import dask
from distributed import Client, Future, LocalCluster, as_completed

from newsclean.dedup.grouping import use_steps
from newsclean.dedup.memory import map_large_blocks_apart
from newsclean.distributed.clean import clean_partition, fetch_partition, new_store, remove_store, stop_child
from newsclean.distributed.grouping import DaskGraphSteps
from newsclean.flows.progress import Progress, QuietProgress
from newsclean.settings import Settings
from newsclean.stages.clean import BatchResult
from newsclean.stages.plan import BatchSpec

T = TypeVar("T")
# Workers that may start a child process: batches with a time limit run in one (see
# `newsclean.distributed.clean`).
NON_DAEMONIC_WORKERS = {"distributed.worker.daemon": False}
LOOPBACK_DASHBOARD = "127.0.0.1:0"
# Grouping's pair blocks per worker: an owner's share of each story's candidates is ~1-(1-1/b)^2
# of the pairs of b blocks, and its choice is the workers' peak. At 100k (group stage alone, 2
# workers, docs/scale-out.md): 2 a worker 1,111/1,216 MB in 223 s, 4 a worker 1,076/1,094 MB in
# 198 s (largest task 18.6M -> 10.2M pairs).
GROUP_PARTITIONS_PER_WORKER = 4
# ... but no block of fewer stories than this: a small corpus's grouping is a few blocks' tasks.
GROUP_MIN_BLOCK_ITEMS = 5_000
log = logging.getLogger("newsclean.dask")


@contextmanager
def dask_client(address: str | None, workers: int) -> Iterator[Client]:
    """A client of the scheduler at `address`, or of a new `LocalCluster` of `workers`
    single-threaded worker processes (the cleaning is CPU-bound Python: one thread a core, as
    the local engine's process pool); closed, with the local cluster, on leaving."""
    if address:
        client = Client(address, set_as_default=False)
        try:
            yield client
        finally:
            client.close()
        return
    # Scheduler and dashboard on loopback only (a free port): a run's cluster serves nobody else.
    dashboard = LOOPBACK_DASHBOARD if importlib.util.find_spec("bokeh") else None  # needs bokeh
    with (
        dask.config.set(NON_DAEMONIC_WORKERS),
        LocalCluster(
            n_workers=max(1, workers),
            host="127.0.0.1",
            threads_per_worker=1,
            processes=True,
            dashboard_address=dashboard,
            silence_logs=logging.ERROR,
        ) as cluster,
        Client(cluster, set_as_default=False) as client,
    ):
        yield client


def dashboard_link(client: Client) -> str | None:
    """The cluster's dashboard URL, when it has one."""
    try:
        link = client.dashboard_link
    except Exception:  # no dashboard (bokeh missing, or the scheduler serves none)
        return None
    return str(link) if link else None


class DaskExecutor:
    """Batches as Dask tasks on `client`'s workers (`clean_partition`: `clean_batch` there, its
    results back through a Parquet file under `store_url`, default the run's work folder); the
    other stages in this process. Progress is reported as with the direct executor."""

    def __init__(
        self, client: Client, progress: Progress | None = None, store_url: str | None = None
    ) -> None:
        self.client = client
        self.progress = progress or QuietProgress()
        self.store_url = store_url

    def workers(self) -> int:
        return max(1, len(self.client.scheduler_info(n_workers=-1).get("workers", {})))

    def map_batches(
        self, fn: Callable[[BatchSpec, Settings], BatchResult], specs: Sequence[BatchSpec], settings: Settings
    ) -> list[BatchResult]:
        if not specs:
            self._ready_to_group(settings)
            return []
        store = new_store(self.store_url or str(Path(specs[0].work_file).parent / "partitions"))
        self.progress.cleaning(specs, min(self.workers(), len(specs)))
        run = uuid.uuid4().hex[:8]
        [remote_settings] = self.client.scatter([settings], broadcast=True)  # once, not per batch
        futures: dict[Future, BatchSpec] = {
            self.client.submit(
                clean_partition, fn, spec, remote_settings, store, key=f"clean-batch-{spec.number}-{run}"
            ): spec
            for spec in specs
        }
        results: dict[int, BatchResult] = {}
        try:
            for future in as_completed(futures, loop=self.client.loop):
                spec = futures[future]
                result = fetch_partition(future.result(), spec.work_file)
                results[spec.number] = result
                self.progress.batch_done(spec, result)
        except BaseException:
            self.client.cancel(list(futures))
            raise
        finally:
            remove_store(store)
        self._ready_to_group(settings)
        unlimited = sum(1 for r in results.values() if r.phases.get("no_time_limit"))
        if unlimited:
            logging.getLogger("newsclean").warning(
                "%d batches ran without run.file_seconds: the cluster's workers are daemonic "
                "(set distributed.worker.daemon: false, docs/scale-out.md)",
                unlimited,
            )
        return [results[spec.number] for spec in specs]

    def _ready_to_group(self, settings: Settings) -> None:
        """The workers after the clean stage: their cleaning children stopped (not needed by
        later stages: their ~0.5 GB would sit beside grouping's blocks), and large blocks mapped
        apart as in the local group stage (`dedup.large_block_bytes`: grouping's freed arrays go
        back to the system instead of staying in the C library's heap)."""
        self.client.run(stop_child)
        self.client.run(map_large_blocks_apart, settings.dedup.large_block_bytes)

    def run(self, name: str, fn: Callable[..., T], *args: Any) -> T:
        self.progress.stage(name)
        steps = DaskGraphSteps(
            self.client, GROUP_PARTITIONS_PER_WORKER * self.workers(), GROUP_MIN_BLOCK_ITEMS
        )
        with use_steps(steps):  # read by grouping only: the other stages have no pair steps
            result = fn(*args)
        if steps.largest_block:
            log.info("%s: the largest task held %d candidate pairs", name, steps.largest_block)
        return result
