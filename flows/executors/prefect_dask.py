"""The dask engine in a Prefect flow run: the run is a flow on prefect-dask's `DaskTaskRunner`
(a LocalCluster started for the run, or the scheduler at an address), each stage one task, and
the clean stage one task that submits every batch to the cluster through `get_dask_client()`.

Why one task per stage, not one per batch: a Prefect task on `DaskTaskRunner` costs ~230 ms
against ~3-5 ms for a bare Dask task (measured here), and flows of thousands of Dask-run tasks
stall (prefect#12877); the batches are a Dask graph inside the stage's task instead. The other
stages run in the flow's process, as with the Prefect executor: they read and write the run's
folders; grouping's pair steps go to the flow's cluster through a client of it
(`newsclean.distributed.grouping.DaskGraphSteps`), as on the plain dask engine. Imports
Prefect and Dask: use it only in a flow run on the dask engine.
"""

from __future__ import annotations

import importlib.util
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import dask
from distributed import Client, rejoin, secede
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect_dask import DaskTaskRunner, get_dask_client

from newsclean.dedup.grouping import use_steps
from newsclean.dedup.memory import map_large_blocks_apart
from newsclean.distributed.clean import clean_partition, fetch_partition, new_store, remove_store, stop_child
from newsclean.distributed.grouping import DaskGraphSteps
from newsclean.flows.executors.dask import (
    GROUP_MIN_BLOCK_ITEMS,
    GROUP_PARTITIONS_PER_WORKER,
    LOOPBACK_DASHBOARD,
    NON_DAEMONIC_WORKERS,
    dashboard_link,
)
from newsclean.flows.executors.prefect import FILE_RETRIES, FILE_RETRY_DELAYS, PrefectExecutor
from newsclean.report import RunSummary
from newsclean.run import RunOptions, run_pipeline
from newsclean.settings import RunSettings, Settings
from newsclean.stages.clean import BatchResult
from newsclean.stages.plan import BatchSpec

T = TypeVar("T")


def dask_task_runner(run: RunSettings) -> DaskTaskRunner:
    """The run's task runner: a client of `run.dask_address`, or a LocalCluster of `run.workers`
    single-threaded worker processes started for this run alone (a long-lived scheduler grows
    ~80 MiB a run, prefect#21697)."""
    if run.dask_address:
        return DaskTaskRunner(address=run.dask_address)
    dashboard = LOOPBACK_DASHBOARD if importlib.util.find_spec("bokeh") else None
    return DaskTaskRunner(
        cluster_class="distributed.LocalCluster",
        cluster_kwargs={
            "n_workers": run.workers,
            "host": "127.0.0.1",
            "threads_per_worker": 1,
            "processes": True,
            "dashboard_address": dashboard,
        },
    )


def _clean_on_cluster(
    fn: Callable[[BatchSpec, Settings], BatchResult],
    specs: Sequence[BatchSpec],
    settings: Settings,
    store: str,
) -> tuple[list[BatchResult], str | None, str]:
    """The clean stage's task (on a worker): every batch submitted to the cluster as a Dask task
    (`clean_partition`); their results, in order, the cluster's dashboard link and its
    scheduler's address (for grouping's pair steps, which the flow's process submits). The task
    leaves its worker's thread pool while it waits (`secede`), so its own worker cleans too."""
    with get_dask_client() as client:
        run = uuid.uuid4().hex[:8]
        futures = [
            client.submit(clean_partition, fn, spec, settings, store, key=f"clean-batch-{spec.number}-{run}")
            for spec in specs
        ]
        secede()
        try:
            results: list[BatchResult] = client.gather(futures)
        finally:
            rejoin()
        client.run(stop_child)  # the workers' cleaning children: not needed by later stages
        client.run(map_large_blocks_apart, settings.dedup.large_block_bytes)  # as DaskExecutor's
        get_run_logger().info("cleaned %d batches on the cluster", len(results))
        return results, dashboard_link(client), str(client.scheduler.address)


class PrefectDaskExecutor:
    """Stages as Prefect tasks in a flow on `DaskTaskRunner`: the clean stage's task submitted to
    the cluster (where it submits the batches), the others run in the flow's process."""

    def __init__(self, store_url: str | None = None) -> None:
        self.store_url = store_url
        self.dashboard: str | None = None
        self.scheduler: str | None = None  # the flow's cluster, once the clean stage has reached it
        self._stages = PrefectExecutor(1)

    def map_batches(
        self, fn: Callable[[BatchSpec, Settings], BatchResult], specs: Sequence[BatchSpec], settings: Settings
    ) -> list[BatchResult]:
        if not specs:
            return []
        store = new_store(self.store_url or str(Path(specs[0].work_file).parent / "partitions"))

        def clean() -> tuple[list[BatchResult], str | None, str]:
            # The arguments travel in the closure: Prefect's walk of task parameters rebuilt the
            # batch specs (slotted dataclasses) as tuples on DaskTaskRunner.
            return _clean_on_cluster(fn, specs, settings, store)

        stage = task(
            name="clean",
            task_run_name=f"clean {len(specs)} batches",
            retries=FILE_RETRIES,
            retry_delay_seconds=FILE_RETRY_DELAYS,
            cache_policy=NO_CACHE,
            persist_result=False,
        )(clean)
        try:
            results, self.dashboard, self.scheduler = stage.submit().result()
            return [fetch_partition(r, s.work_file) for r, s in zip(results, specs, strict=True)]
        finally:
            remove_store(store)

    def run(self, name: str, fn: Callable[..., T], *args: Any) -> T:
        if self.scheduler is None:  # before the cluster is reached (plan), or nothing to clean
            return self._stages.run(name, fn, *args)
        with Client(self.scheduler, set_as_default=False) as client:  # the flow's cluster
            workers = max(1, len(client.scheduler_info(n_workers=-1).get("workers", {})))
            steps = DaskGraphSteps(client, GROUP_PARTITIONS_PER_WORKER * workers, GROUP_MIN_BLOCK_ITEMS)
            with use_steps(steps):
                return self._stages.run(name, fn, *args)


def run_on_dask(options: RunOptions) -> tuple[RunSummary, str | None]:
    """The run as a child flow run on `DaskTaskRunner`; its summary and the dashboard link."""
    executor = PrefectDaskExecutor(options.settings.run.work_url)

    @flow(
        name="clean-corpus-on-dask",
        task_runner=dask_task_runner(options.settings.run),  # type: ignore[arg-type]
        persist_result=False,
        validate_parameters=False,
    )
    def on_dask() -> RunSummary:
        return run_pipeline(options, executor, get_run_logger())

    with dask.config.set(NON_DAEMONIC_WORKERS):  # read as the LocalCluster starts
        summary = on_dask()
    return summary, executor.dashboard
