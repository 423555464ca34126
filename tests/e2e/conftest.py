"""End-to-end fixtures: one real Prefect server and one scheduled run, shared by the e2e tests.

Everything here is real and slow, so it is started once per session: `prefect server start` on a
free 127.0.0.1 port with a temporary PREFECT_HOME (8-20 s to become healthy), then
`python -m flows.serve` with a short interval schedule on a copy of the repository's `raw/`. The
first scheduled run is awaited (bounded), read back through the REST API, and every process is
stopped again, on failure too (process groups, so flow-run subprocesses go with `serve`).

Measured pitfalls this code respects:

* The first scheduled run comes one interval after `serve` registers the deployment; the runner
  picks it up (polling every PREFECT_RUNNER_POLL_FREQUENCY s, 2 here) and starts a subprocess a
  few seconds later.
* Task-run states reach the server through its task-run recorder, asynchronously, after the flow
  run is already COMPLETED: poll until the expected task runs are COMPLETED before asserting.
* A failure should say why: timeouts report the tail of the server and `serve` logs.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from e2e_support import (
    DEPLOYMENT_NAME,
    INTERVAL_SECONDS,
    RAW,
    REPO,
    RUN_TIMEOUT,
    SCHEDULER_GRACE,
    TASKS_TIMEOUT,
    TIMINGS,
    ServedRun,
    log_tail,
    scheduler_hint,
    seconds_between,
    wait_for,
)

from newsclean.flows.server import (
    DEFAULT_HOST,
    ServerProcess,
    ServerStartError,
    find_free_port,
    stop_process,
    wait_until_healthy,
)


@pytest.fixture(scope="session")
def e2e_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("e2e")


@pytest.fixture(scope="session")
def prefect_server(e2e_dir: Path) -> Iterator[ServerProcess]:
    """A real Prefect server on a free loopback port, started the way `newsclean server` does.

    It runs ``python -m flows.server`` (``run_server``, what the CLI calls) rather than
    ``start_server``, so the foreground path users get is the one tested: the environment, the
    printed addresses, and the clean stop on SIGTERM.
    """
    home = e2e_dir / "prefect-home"
    log = e2e_dir / "server.log"
    port = find_free_port()
    started = time.monotonic()
    with log.open("wb") as handle:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "newsclean.flows.server",
                "--port",
                str(port),
                "--prefect-home",
                str(home),
            ],
            cwd=REPO,
            stdin=subprocess.DEVNULL,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    server = ServerProcess(process, DEFAULT_HOST, port, home, 0.0, log)
    served = False
    try:
        try:
            server.startup_seconds = wait_until_healthy(server.api_url, process=process)
        except ServerStartError as exc:
            pytest.fail(f"{exc}\n--- server log:\n{log_tail(log)}")
        TIMINGS["server start -> healthy (s)"] = time.monotonic() - started
        wait_for(
            lambda: f"Prefect UI:  {server.ui_url}" in log.read_text(errors="replace"),
            15,
            "`newsclean server` to print the UI address",
            0.2,
            lambda: log_tail(log),
        )
        yield server
        served = True
    finally:
        stopping = time.monotonic()
        code = stop_process(process, grace=30, first=signal.SIGTERM, group=True)
        TIMINGS["server stop (s)"] = time.monotonic() - stopping
        if served and code != 0:
            pytest.fail(f"`newsclean server` exited {code} on SIGTERM\n{log_tail(log)}")


@pytest.fixture(scope="session")
def api(prefect_server: ServerProcess) -> Iterator[httpx.Client]:
    """A plain HTTP client on the server's REST API (what the UI itself calls)."""
    with httpx.Client(base_url=prefect_server.api_url, timeout=30.0) as client:
        yield client


def _completed_scheduled_run(api: httpx.Client, deployment_id: str) -> dict[str, Any] | None:
    runs = api.post(
        "/flow_runs/filter",
        json={
            "deployments": {"id": {"any_": [deployment_id]}},
            "flow_runs": {"state": {"type": {"any_": ["COMPLETED", "FAILED", "CRASHED"]}}},
            "sort": "END_TIME_DESC",
            "limit": 5,
        },
    )
    runs.raise_for_status()
    for run in runs.json():
        if run["state_type"] != "COMPLETED":
            pytest.fail(f"scheduled run {run['name']} ended {run['state_type']}: {run['state']}")
        return dict(run)
    return None


def _any_run(api: httpx.Client, deployment_id: str) -> bool:
    response = api.post(
        "/flow_runs/filter", json={"deployments": {"id": {"any_": [deployment_id]}}, "limit": 1}
    )
    response.raise_for_status()
    return bool(response.json())


def _finished_task_runs(api: httpx.Client, flow_run_id: str) -> list[dict[str, Any]] | None:
    response = api.post(
        "/task_runs/filter", json={"flow_runs": {"id": {"any_": [flow_run_id]}}, "limit": 200}
    )
    response.raise_for_status()
    runs: list[dict[str, Any]] = response.json()
    names = [r["name"] for r in runs]
    expected = (
        any(n.startswith("clean batch") for n in names)
        and any(n.startswith("group") for n in names)
        and any(n.startswith("write") for n in names)
    )
    if expected and all(r["state_type"] == "COMPLETED" for r in runs):
        return runs
    return None


@pytest.fixture(scope="session")
def served_run(prefect_server: ServerProcess, api: httpx.Client, e2e_dir: Path) -> Iterator[ServedRun]:
    """Serve the deployment, wait for its first scheduled run, read it back, stop `serve`."""
    raw = e2e_dir / "raw"
    shutil.copytree(RAW, raw)
    out = e2e_dir / "clean"
    serve_log = e2e_dir / "serve.log"
    env = prefect_server.client_env()
    env.update(
        {
            "PREFECT_HOME": str(e2e_dir / "client-home"),  # not the developer's ~/.prefect
            "PREFECT_RUNNER_POLL_FREQUENCY": "2",  # pick the due run up quickly
            "PYTHONUNBUFFERED": "1",
        }
    )
    command = [
        sys.executable, "-m", "newsclean.flows.serve", "--raw", str(raw), "--out", str(out),
        "--interval", str(INTERVAL_SECONDS), "--name", DEPLOYMENT_NAME,
    ]  # fmt: skip
    started = time.monotonic()
    with serve_log.open("wb") as log:
        process = subprocess.Popen(
            command,
            env=env,
            cwd=REPO,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def logs() -> str:
        alive = "running" if process.poll() is None else f"exited {process.returncode}"
        return (
            f"--- serve ({alive}) log:\n{log_tail(serve_log)}\n"
            f"--- server log:\n{log_tail(prefect_server.log_path)}"
        )

    try:

        def deployment() -> dict[str, Any] | None:
            if process.poll() is not None:
                pytest.fail(f"`serve` exited early\n{logs()}")
            response = api.get(f"/deployments/name/clean-corpus/{DEPLOYMENT_NAME}")
            return dict(response.json()) if response.status_code == 200 else None

        deployment_row = wait_for(deployment, 60, "the deployment to be registered", 0.5, logs)
        registered = time.monotonic()

        def completed() -> dict[str, Any] | None:
            if process.poll() is not None:
                pytest.fail(f"`serve` exited early\n{logs()}")
            if time.monotonic() - registered > SCHEDULER_GRACE and not _any_run(api, deployment_row["id"]):
                pytest.fail(
                    f"the server's scheduler made no run in {SCHEDULER_GRACE:.0f} s"
                    f"{scheduler_hint(prefect_server.log_path)}\n{logs()}"
                )
            return _completed_scheduled_run(api, deployment_row["id"])

        flow_run = wait_for(completed, RUN_TIMEOUT, "a COMPLETED scheduled run", 1.0, logs)
        done = time.monotonic()
        # The deployment is paused when `serve` stops: no second run touches the output folder
        # while the tests read it.
        stopping = time.monotonic()
        stop_process(process, grace=20, group=True)
        TIMINGS["serve stop on SIGTERM (s)"] = time.monotonic() - stopping
        task_runs = wait_for(
            lambda: _finished_task_runs(api, flow_run["id"]),
            TASKS_TIMEOUT,
            "the run's task runs to be COMPLETED",
            1.0,
            logs,
        )
        artifacts_response = api.post(
            "/artifacts/filter", json={"artifacts": {"flow_run_id": {"any_": [flow_run["id"]]}}}
        )
        artifacts_response.raise_for_status()
        artifacts = {a["key"]: a for a in artifacts_response.json() if a.get("key")}
        run_logs = wait_for(
            lambda: api.post(
                "/logs/filter", json={"logs": {"flow_run_id": {"any_": [flow_run["id"]]}}}
            ).json(),
            TASKS_TIMEOUT,
            "the run's logs",
        )
        deployment_row = api.get(f"/deployments/{deployment_row['id']}").json()
        timings = {
            "serve start -> deployment registered (s)": registered - started,
            "deployment registered -> first scheduled run COMPLETED (s)": done - registered,
            "scheduled start -> run start, pickup latency (s)": seconds_between(
                flow_run["expected_start_time"], flow_run["start_time"]
            ),
            "run start -> end (s)": seconds_between(flow_run["start_time"], flow_run["end_time"]),
        }
        TIMINGS.update(timings)
        yield ServedRun(
            server=prefect_server,
            raw_dir=raw,
            out_dir=out,
            deployment=deployment_row,
            flow_run=flow_run,
            task_runs=task_runs,
            artifacts=artifacts,
            logs=run_logs,
            serve_log=serve_log,
            timings=timings,
        )
    finally:
        stop_process(process, grace=20, group=True)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print what the e2e run measured, so CI logs keep the numbers."""
    if TIMINGS:
        terminalreporter.section("newsclean e2e timings")
        for name, seconds in TIMINGS.items():
            terminalreporter.write_line(f"{name}: {seconds:.1f}")
