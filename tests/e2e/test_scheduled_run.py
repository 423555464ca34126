"""A scheduled run, for real: real server, `serve` with an interval schedule, REST read-back.

The figures the run reports to Prefect (summary artifact, clusters table, task runs) must agree
with the files it wrote, so monitoring in the UI tells the truth about the output folder.
"""

from __future__ import annotations

import re

import pytest
from e2e_support import (
    DEPLOYMENT_NAME,
    INTERVAL_SECONDS,
    ServedRun,
    jsonl_count,
    markdown_table,
    read_summary,
    table_rows,
)

pytestmark = pytest.mark.e2e


def test_deployment_is_served_with_one_run_at_a_time(served_run: ServedRun) -> None:
    deployment = served_run.deployment
    assert deployment["name"] == DEPLOYMENT_NAME
    assert deployment["global_concurrency_limit"]["limit"] == 1
    assert deployment["concurrency_options"]["collision_strategy"] == "CANCEL_NEW"
    assert deployment["entrypoint"] == "newsclean.flows.clean_corpus.clean_corpus"
    assert [s["schedule"].get("interval") for s in deployment["schedules"]] == [float(INTERVAL_SECONDS)]
    # `serve` was stopped after the first run: the schedule must be paused, not left to pile up.
    assert deployment["paused"] is True


def test_scheduled_run_completes_and_reports_what_it_wrote(served_run: ServedRun) -> None:
    run, out = served_run.flow_run, served_run.out_dir
    # A run made by the scheduler (not a manual one), with the absolute paths serve resolved.
    assert run["state_type"] == "COMPLETED"
    assert run["auto_scheduled"] is True
    assert "auto-scheduled" in run["tags"]
    assert run["parameters"]["raw_dir"] == str(served_run.raw_dir)
    assert run["parameters"]["out_dir"] == str(out)
    raw_files = sorted(p for p in served_run.raw_dir.iterdir() if p.is_file())
    assert run["name"].startswith(f"clean raw ({len(raw_files)} files")

    # Task runs: batches and stages, all COMPLETED (the fixture waited for the recorder).
    names = [t["name"] for t in served_run.task_runs]
    assert all(t["state_type"] == "COMPLETED" for t in served_run.task_runs)
    assert any(re.fullmatch(r"clean batch \d+/\d+", n) for n in names), names
    assert any(n.startswith("group") for n in names), names
    assert any(n.startswith("write") for n in names), names
    assert len(names) <= 20, "a task per batch and per stage, never per document"

    # The files on disk.
    for name in ("documents.jsonl", "canonical.jsonl", "quarantine.jsonl", "summary.json"):
        assert (out / name).is_file(), name
    summary = read_summary(out)
    documents, canonical = jsonl_count(out / "documents.jsonl"), jsonl_count(out / "canonical.jsonl")
    quarantined = jsonl_count(out / "quarantine.jsonl")
    assert summary["documents"] == documents
    assert summary["canonical_documents"] == canonical
    assert summary["quarantined"] == quarantined

    # The summary artifact says the same.
    summary_artifact = served_run.artifacts["newsclean-summary"]
    assert summary_artifact["type"] == "markdown"
    figures = markdown_table(summary_artifact["data"])
    assert int(figures["files read"]) == len(raw_files)
    assert int(figures["documents cleaned"]) == documents
    assert int(figures["quarantined"]) == quarantined
    assert int(figures["clusters"]) == summary["clusters"]
    assert int(figures["canonical documents"]) == canonical
    for kind, count in summary["removed"].items():
        assert int(figures[kind]) == count, kind

    # And the clusters table: one row per cluster, members adding up to the documents.
    clusters_artifact = served_run.artifacts["newsclean-clusters"]
    assert clusters_artifact["type"] == "table"
    rows = table_rows(clusters_artifact["data"])
    assert len(rows) == summary["clusters"]
    assert sum(int(r["members"]) for r in rows) == documents

    # The run logged through Prefect's run logger (what the UI's Logs tab shows).
    assert served_run.logs
