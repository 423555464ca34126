"""The cleaning flow: the run's stages as Prefect tasks, one task per batch of files.

Orchestration only. The run is `newsclean.run.run_pipeline` with options from
`newsclean.run.build_options` (the command line's builder, so the flow takes the same options
and means the same by them); this module picks the Prefect executor and decides what the UI
shows (logs, progress, artifacts).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.runtime import flow_run

from newsclean.flows.executors.prefect import PrefectExecutor
from newsclean.run import build_options, run_pipeline
from newsclean.sources import discover

MAX_TABLE_ROWS = 500


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
    batch_size: int | None = None,
    wait_seconds: float = 0.0,
    debug_removals: bool = False,
    full: bool = False,
    engine: str | None = None,
    dask_address: str | None = None,
    work_url: str | None = None,
) -> dict[str, Any]:
    """Clean a raw folder into canonical documents, one per event, every source listed; the
    parameters are `newsclean run`'s options. Returns the run summary (`RunSummary.to_json`).
    On the dask engine the stages run as a child flow run on a Dask cluster (see
    `newsclean.flows.executors.prefect_dask`)."""
    logger = get_run_logger()
    options = build_options(
        raw_dir,
        out_dir,
        settings_file=settings_file,
        workers=workers,
        batch_size=batch_size,
        wait_seconds=wait_seconds,
        debug_removals=debug_removals,
        full=full,
        engine=engine,
        dask_address=dask_address,
        work_url=work_url,
    )
    dashboard: str | None = None
    if options.settings.run.engine == "dask":
        from newsclean.flows.executors.prefect_dask import run_on_dask  # imports Dask: only here

        summary, dashboard = run_on_dask(options)
    else:
        summary = run_pipeline(options, PrefectExecutor(options.settings.run.workers), logger)
    if summary.quarantined:
        logger.warning(
            "%d input(s) quarantined: %s (see %s/quarantine.jsonl)",
            summary.quarantined,
            ", ".join(f"{k} x{v}" for k, v in summary.quarantine_reasons.items()),
            out_dir,
        )
    markdown = summary.markdown()
    if options.settings.run.engine == "dask":
        run = options.settings.run
        where = run.dask_address or f"a LocalCluster of {run.workers} workers"
        markdown += f"\n\nEngine: dask, on {where}; Dask dashboard: {dashboard or 'none'}\n"
    create_markdown_artifact(key="newsclean-summary", markdown=markdown, description="newsclean run summary")
    create_table_artifact(
        key="newsclean-clusters",
        table=_cluster_table(Path(out_dir)),
        description=f"Clusters (largest first, at most {MAX_TABLE_ROWS})",
    )
    return summary.to_json()
