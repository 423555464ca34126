"""Shared helpers and constants of the e2e tests (imported by conftest.py and the tests).

Kept out of conftest.py because pytest imports a conftest under its own module name: importing it
again from a test would make a second copy of module state such as TIMINGS.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest

from newsclean.flows.server import ServerProcess

REPO = Path(__file__).resolve().parents[2]
RAW = REPO / "raw"
DEPLOYMENT_NAME = "newsclean-e2e"
# Short enough that the first run comes quickly, long enough that a second run is not already
# starting (the runner claims runs 10 s ahead) when the first one completes and `serve` stops.
INTERVAL_SECONDS = 30
RUN_TIMEOUT = 180.0  # registration + first scheduled run COMPLETED
TASKS_TIMEOUT = 60.0  # task-run states trailing the flow run
# The scheduler looks at new deployments every 5 s: no run at all after this long means it fails.
SCHEDULER_GRACE = 45.0
# Chromium in CI must exist (install it with .ci/install-browser.sh); locally its absence skips.
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
TIMINGS: dict[str, float] = {}

T = TypeVar("T")


def log_tail(path: Path | None, lines: int = 40) -> str:
    """Last lines of a log file, for failure messages."""
    if path is None or not path.exists():
        return "(no log)"
    text = path.read_text(encoding="utf-8", errors="replace").splitlines()
    return "\n".join(text[-lines:])


def scheduler_hint(server_log: Path | None) -> str:
    """Name the known cause when the server log shows it (measured with Prefect 3.8.8)."""
    if "bulk_dml" in log_tail(server_log, 400):
        return (
            ": SQLAlchemy 2.1 breaks Prefect 3.8's scheduler (\"Can't evaluate bulk DML statement\"),"
            " pin sqlalchemy<2.1"
        )
    return ""


def wait_for(
    probe: Callable[[], T | None],
    timeout: float,
    what: str,
    interval: float = 1.0,
    on_timeout: Callable[[], str] = lambda: "",
) -> T:
    """Call ``probe`` until it returns something truthy, or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}\n{on_timeout()}")
        time.sleep(interval)


@dataclass
class ServedRun:
    """The first scheduled run of the e2e deployment, as the REST API and the disk show it."""

    server: ServerProcess
    raw_dir: Path
    out_dir: Path
    deployment: dict[str, Any]
    flow_run: dict[str, Any]
    task_runs: list[dict[str, Any]]
    artifacts: dict[str, dict[str, Any]]
    logs: list[dict[str, Any]]
    serve_log: Path
    timings: dict[str, float] = field(default_factory=dict)


def seconds_between(start: str, end: str) -> float:
    from datetime import datetime

    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


def markdown_table(markdown: str) -> dict[str, str]:
    """``| label | value |`` rows of a Markdown document as a dict (header rows included)."""
    rows: dict[str, str] = {}
    for line in markdown.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.strip().startswith("|") and len(cells) == 2 and not set(cells[0]) <= {"-"}:
            rows[cells[0]] = cells[1]
    return rows


def jsonl_count(path: Path) -> int:
    with path.open(encoding="utf-8") as handle:
        return sum(1 for line in handle if line.strip())


def read_summary(out_dir: Path) -> dict[str, Any]:
    return dict(json.loads((out_dir / "summary.json").read_text(encoding="utf-8")))


def table_rows(data: object) -> list[dict[str, Any]]:
    """A table artifact's rows: JSON text of a list of dicts, or of a dict of columns."""
    value = json.loads(data) if isinstance(data, str) else data
    if isinstance(value, dict):
        columns = list(value)
        return [dict(zip(columns, cells, strict=True)) for cells in zip(*value.values(), strict=True)]
    assert isinstance(value, list)
    return [dict(row) for row in value]
