"""A Prefect flow run on `--engine dask` against a real (temporary) Prefect server: it completes,
runs the stages as tasks of a child flow run on a Dask cluster (one clean task submitting every
batch), publishes its artifacts with the dashboard link, and writes the local engine's bytes."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from distributed import Client

from newsclean.flows.executors.direct import DirectExecutor
from newsclean.run import RunOptions, run_pipeline
from newsclean.settings import Settings

OUTPUTS = ("documents.jsonl", "canonical.jsonl", "quarantine.jsonl", "summary.json")


@pytest.fixture(scope="module")
def prefect_server() -> Iterator[None]:
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


def digest(folder: Path) -> dict[str, str]:
    return {name: hashlib.sha256((folder / name).read_bytes()).hexdigest() for name in OUTPUTS}


def test_a_flow_run_on_the_dask_engine_completes_with_its_artifacts(
    prefect_server: None, client: Client, seeds_raw: Path, tmp_path: Path
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId, FlowRunFilterParentFlowRunId

    from newsclean.flows.clean_corpus import clean_corpus

    state = clean_corpus(
        raw_dir=str(seeds_raw),
        out_dir=str(tmp_path / "flow"),
        engine="dask",
        dask_address=client.scheduler.address,
        return_state=True,
    )
    assert state.is_completed()
    assert state.result()["documents"] == 5
    run_pipeline(
        RunOptions(seeds_raw, tmp_path / "local", Settings()), DirectExecutor(1), logging.getLogger("t")
    )
    assert digest(tmp_path / "flow") == digest(tmp_path / "local")
    flow_run_id = state.state_details.flow_run_id

    async def inspect() -> tuple[list[str], dict[str, str]]:
        async with get_client() as prefect:
            children = await prefect.read_flow_runs(
                flow_run_filter=FlowRunFilter(
                    parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[flow_run_id])
                )
            )
            ids = [flow_run_id, *(c.id for c in children)]
            tasks = await prefect.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=ids)))
            artifacts = await prefect.read_artifacts()
            mine = {a.key: str(a.data) for a in artifacts if a.flow_run_id == flow_run_id and a.key}
            return sorted(t.name for t in tasks), mine

    task_names, artifacts = asyncio.run(inspect())
    assert {"plan", "record state", "group", "write outputs"} <= set(task_names)
    assert "clean 1 batches" in task_names  # one task for the stage, its batches on the cluster
    assert "Engine: dask" in artifacts["newsclean-summary"]
    assert "Dask dashboard: " in artifacts["newsclean-summary"]
    assert "newsclean-clusters" in artifacts
