"""Serve the cleaning flow as a scheduled Prefect deployment: ``newsclean serve``.

``Flow.serve`` is the lightest way to get scheduled runs: one long-lived process registers a
deployment with the server, polls it for due runs and executes each in a subprocess. No work pool
or worker is needed (teams that have those use ``prefect.yaml`` instead).

Decisions, and why:

* **A real server is required.** Without ``PREFECT_API_URL`` the client starts an *ephemeral*
  in-process API that has no scheduler service: the deployment would be created and then no
  scheduled run would ever be made. We refuse up front instead of serving silently forever.
* **One run at a time, twice over.** ``limit=1`` stops this process from starting a second run
  while one is going; the deployment concurrency limit of 1 holds across every process serving
  the deployment (a second ``newsclean serve`` on another shell or host) and across manual runs
  started from the UI.
* **CANCEL_NEW, not ENQUEUE.** Every run brings the same output folder up to date with the raw
  folder as it is when the run starts (guarded by the flow's lock file). A run queued behind a
  running one would only redo that on nearly the same input, and with a schedule faster than a
  run the queue would grow without bound. Cancelling the newcomer loses nothing (the next tick
  picks up any files that arrived meanwhile), and it shows in the UI as *Cancelled* with the
  reason, rather than as a run that waits for ever or fails on the lock.
* **Absolute paths as parameters.** Runs execute in subprocesses, possibly after the caller's
  shell has moved on; relative paths would be resolved against whatever directory that is.
* **Module entrypoint** (``newsclean.flows.clean_corpus.clean_corpus``), not a file path relative to the
  current directory, so runs load the installed package wherever ``serve`` was started.
"""

from __future__ import annotations

import datetime
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from prefect import Flow

DEFAULT_DEPLOYMENT_NAME = "newsclean-scheduled"
FLOW_NAME = "clean-corpus"


class ServeConfigError(RuntimeError):
    """The deployment cannot be served as asked (no server, bad schedule, missing folder)."""


def require_real_server() -> str:
    """Return the configured API URL, or raise ServeConfigError explaining what to do.

    Checks both that ``PREFECT_API_URL`` is set (else Prefect would use an ephemeral API with no
    scheduler) and that the server answers its health check (else ``serve`` would retry quietly).
    """
    from prefect.client.orchestration import get_client
    from prefect.settings import get_current_settings

    url = get_current_settings().api.url
    if not url:
        raise ServeConfigError(
            "No Prefect server is configured (PREFECT_API_URL is unset), so runs would go to an "
            "ephemeral in-process API that never starts scheduled runs.\n"
            "Start one with `newsclean server` (UI and API on http://127.0.0.1:4200), then:\n"
            "    export PREFECT_API_URL=http://127.0.0.1:4200/api"
        )
    with get_client(sync_client=True) as client:
        error = client.api_healthcheck()
    if error is not None:
        raise ServeConfigError(
            f"The Prefect server at PREFECT_API_URL={url} does not answer ({error!r}). "
            "Is `newsclean server` running?"
        )
    return str(url)


def check_schedule(cron: str | None, interval: int | None) -> None:
    """Validate the schedule before registering anything, with a message a user can act on."""
    if cron is not None and interval is not None:
        raise ServeConfigError("Give either a cron schedule or an interval, not both.")
    if interval is not None and interval <= 0:
        raise ServeConfigError(f"The interval must be a positive number of seconds: {interval}")
    if cron is not None:
        from prefect.client.schemas.schedules import CronSchedule

        try:
            CronSchedule(cron=cron)
        except ValueError as exc:
            raise ServeConfigError(f"Invalid cron schedule {cron!r}: {exc}") from exc


def run_parameters(
    raw_dir: str | Path, out_dir: str | Path, settings_file: str | Path | None
) -> dict[str, Any]:
    """The deployment's parameters: absolute paths, checked now rather than at the first run."""
    raw = Path(raw_dir).expanduser().resolve()
    if not raw.is_dir():
        raise ServeConfigError(f"Raw folder not found: {raw}")
    settings: str | None = None
    if settings_file is not None:
        path = Path(settings_file).expanduser().resolve()
        if not path.is_file():
            raise ServeConfigError(f"Settings file not found: {path}")
        settings = str(path)
    return {
        "raw_dir": str(raw),
        "out_dir": str(Path(out_dir).expanduser().resolve()),
        "settings_file": settings,
    }


def serve_flow(
    flow: Flow[..., Any],
    parameters: dict[str, Any],
    cron: str | None = None,
    interval: int | None = None,
    name: str = DEFAULT_DEPLOYMENT_NAME,
) -> None:
    """Serve ``flow`` as deployment ``name`` until SIGINT/SIGTERM; see the module docstring.

    Separate from ``serve_cleaning`` so the same policy (server check, limits, pausing the
    schedule on shutdown) applies to any flow with the clean-corpus signature.
    """
    from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
    from prefect.deployments.runner import EntrypointType

    check_schedule(cron, interval)
    url = require_real_server()
    when = (
        f"cron {cron!r}" if cron else f"every {interval} s" if interval else "no schedule (manual runs only)"
    )
    print(f"Serving {flow.name}/{name} against {url}: {when}", flush=True)
    try:
        flow.serve(
            name=name,
            cron=cron,
            interval=datetime.timedelta(seconds=interval) if interval else None,
            # Starting `serve` means "run the schedule": resume it if an earlier stop paused it.
            paused=False,
            parameters=parameters,
            global_limit=ConcurrencyLimitConfig(
                limit=1, collision_strategy=ConcurrencyLimitStrategy.CANCEL_NEW
            ),
            limit=1,
            tags=["newsclean"],
            description=(
                "Scheduled newsclean cleaning: raw articles in, clean canonical documents out. "
                f"raw={parameters['raw_dir']} out={parameters['out_dir']}"
            ),
            # Stopping `serve` pauses the schedule, so no pile of late runs waits for the next start.
            pause_on_shutdown=True,
            entrypoint_type=EntrypointType.MODULE_PATH,
        )
    finally:
        pause_deployment(f"{flow.name}/{name}")


def pause_deployment(full_name: str) -> None:
    """Pause the deployment's schedule, best effort, when ``serve`` stops for whatever reason.

    ``pause_on_shutdown`` alone is not enough in Prefect 3.8: on SIGTERM while a flow-run
    subprocess is finishing, the runner's handler exits before its pause request completes
    (measured: the deployment stayed active), and a schedule left active with nothing serving it
    piles up late runs. Pausing twice is harmless.
    """
    from prefect.client.orchestration import get_client

    try:
        with get_client(sync_client=True) as client:
            client.pause_deployment(client.read_deployment_by_name(full_name).id)
    except Exception as exc:  # the server may be gone too; never mask why serve stopped
        print(f"newsclean serve: could not pause {full_name}: {exc}", file=sys.stderr)


def serve_cleaning(
    raw_dir: str | Path,
    out_dir: str | Path,
    cron: str | None = None,
    interval: int | None = None,
    settings_file: str | Path | None = None,
    name: str = DEFAULT_DEPLOYMENT_NAME,
    engine: dict[str, Any] | None = None,
) -> None:
    """Serve ``newsclean.flows.clean_corpus.clean_corpus`` on a schedule until stopped (Ctrl-C/SIGTERM).

    ``cron`` (e.g. ``"0 * * * *"``) or ``interval`` (seconds) sets the schedule; with neither the
    deployment only runs when triggered from the UI or ``prefect deployment run``. ``engine``:
    the runs' engine parameters (``engine``, ``dask_address``, ``work_url``), if any. Raises
    ServeConfigError (before registering anything) when no reachable server is configured.

    Prefect starts each run in a ``multiprocessing`` *spawn* subprocess, which re-imports the
    main module: a script calling this must do so under ``if __name__ == "__main__":``.
    """
    from newsclean.flows.clean_corpus import clean_corpus

    serve_flow(
        clean_corpus,
        run_parameters(raw_dir, out_dir, settings_file) | (engine or {}),
        cron=cron,
        interval=interval,
        name=name,
    )


def main(argv: list[str] | None = None) -> int:
    """``python -m flows.serve --raw DIR --out DIR (--cron EXPR | --interval SECONDS)``."""
    import argparse

    parser = argparse.ArgumentParser(description=serve_cleaning.__doc__)
    parser.add_argument("--raw", default="raw", help="raw articles folder (default: raw)")
    parser.add_argument("--out", default="clean", help="output folder (default: clean)")
    parser.add_argument("--settings", default=None, help="settings file for the runs")
    parser.add_argument("--name", default=DEFAULT_DEPLOYMENT_NAME, help="deployment name")
    schedule = parser.add_mutually_exclusive_group()
    schedule.add_argument("--cron", default=None, help='cron expression, e.g. "0 * * * *"')
    schedule.add_argument("--interval", type=int, default=None, help="seconds between runs")
    args = parser.parse_args(argv)
    try:
        serve_cleaning(args.raw, args.out, args.cron, args.interval, args.settings, args.name)
    except ServeConfigError as exc:
        print(f"newsclean serve: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
