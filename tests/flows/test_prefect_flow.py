"""The Prefect flow for real: a temporary Prefect server, named batch tasks, artifacts, same output.

Slow by nature (Prefect starts a local server, ~15 s), so the whole module shares one server.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from newsclean.flows.executors.direct import DirectExecutor
from newsclean.run import RunOptions, run_pipeline
from newsclean.settings import Settings


@pytest.fixture(scope="module")
def prefect_server() -> Iterator[None]:
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


def digest(folder: Path) -> dict[str, str]:
    return {
        name: hashlib.sha256((folder / name).read_bytes()).hexdigest()
        for name in ("documents.jsonl", "canonical.jsonl", "quarantine.jsonl", "summary.json")
    }


def test_flow_run_matches_direct_run_and_publishes_artifacts(
    prefect_server: None, seeds_raw: Path, tmp_path: Path
) -> None:
    import logging

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    from newsclean.flows.clean_corpus import clean_corpus

    state = clean_corpus(raw_dir=str(seeds_raw), out_dir=str(tmp_path / "flow"), workers=2, return_state=True)
    assert state.is_completed()
    summary = state.result()
    assert (summary["documents"], summary["clusters"], summary["quarantined"]) == (5, 3, 0)

    run_pipeline(
        RunOptions(seeds_raw, tmp_path / "direct", Settings()), DirectExecutor(1), logging.getLogger("t")
    )
    assert digest(tmp_path / "flow") == digest(tmp_path / "direct")

    flow_run_id = state.state_details.flow_run_id

    async def inspect() -> tuple[str, list[str], dict[str, str]]:
        async with get_client() as client:
            run = await client.read_flow_run(flow_run_id)
            tasks = await client.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
            )
            artifacts = await client.read_artifacts()
            mine = {a.key: a.type for a in artifacts if a.flow_run_id == flow_run_id and a.key}
            return run.name, sorted(t.name for t in tasks), mine

    name, task_names, artifacts = asyncio.run(inspect())
    assert name.startswith("clean raw (5 files)")
    assert "clean batch 1/1" in task_names
    assert any(n.startswith("group") for n in task_names)
    assert any(n.startswith("write outputs") for n in task_names)
    assert len(task_names) <= 10  # batches, never a task per document
    assert artifacts.get("newsclean-summary") == "markdown"
    assert artifacts.get("newsclean-clusters") == "table"
    table_source = json.loads((tmp_path / "flow" / "summary.json").read_text())
    assert table_source["clusters"] == 3


def test_cli_options_reach_the_flow_run(prefect_server: None, seeds_raw: Path, tmp_path: Path) -> None:
    """`newsclean run --prefect` with non-default options gives the direct path's bytes: the flow
    builds its options with the command line's builder, so none is dropped on the way."""
    from prefect.client.orchestration import get_client

    from newsclean.flows.cli import main

    settings = tmp_path / "settings.json"
    settings.write_text(json.dumps({"dedup": {"linkage_threshold": 0.2}}), encoding="utf-8")
    common = ["--raw", str(seeds_raw), "--settings", str(settings), "--debug-removals", "--batch-size", "2"]
    common += ["--workers", "2", "--quiet"]
    assert main(["run", "--prefect", "--out", str(tmp_path / "flow"), *common]) == 0
    assert main(["run", "--no-prefect", "--out", str(tmp_path / "direct"), *common]) == 0
    assert digest(tmp_path / "flow") == digest(tmp_path / "direct")
    records = [json.loads(line) for line in (tmp_path / "flow" / "documents.jsonl").open(encoding="utf-8")]
    assert records and all("removals" in r for r in records)  # --debug-removals reached the flow

    async def batch_tasks() -> list[str]:
        async with get_client() as client:
            runs = await client.read_flow_runs()
            newest = max(runs, key=lambda r: r.created or 0)
            tasks = await client.read_task_runs()
            return sorted(
                t.name for t in tasks if t.flow_run_id == newest.id and t.name.startswith("clean batch")
            )

    # 5 files at --batch-size 2: three batches, so three batch tasks in the flow run.
    assert asyncio.run(batch_tasks()) == ["clean batch 1/3", "clean batch 2/3", "clean batch 3/3"]
