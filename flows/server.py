"""Start, probe and stop a local Prefect server for newsclean's scheduled runs and its UI.

Why a wrapper around ``prefect server start`` at all:

* The server must keep its SQLite database in a project-local ``PREFECT_HOME`` (``.prefect/`` in
  the repository) so that runs of this project never mix with whatever a developer keeps in
  ``~/.prefect``, and so that tests can use a throw-away home.
* ``prefect server start --port N`` alone is not enough for the UI: the browser asks
  ``/ui-settings`` for the API address, which is derived from ``PREFECT_SERVER_API_PORT`` /
  ``PREFECT_API_URL`` and would still say 4200. We set both to the chosen port.
* Analytics are switched off and the task-run recorder / event persister batch sizes are raised
  (their defaults write one row per transaction), which keeps SQLite writes cheap on 2 cores.
* ``prefect server start`` takes 8-18 s to answer on ``/api/health`` on this class of machine, so
  callers need a bounded "wait until healthy" that also notices when the process died.

``run_server`` is the foreground entry point behind ``newsclean server``; ``start_server`` /
``ServerProcess`` are for code (tests, scripts) that need a server in the background.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 4200
HEALTH_PATH = "/api/health"
# Measured 8-18 s on a 2-core machine (first start also copies the UI bundle); 90 s leaves room for
# a loaded CI machine without hiding a server that will never come up.
DEFAULT_START_TIMEOUT = 90.0

# Server tuning. Names verified against prefect/settings/models/server/services.py (3.8.8).
# The defaults (task-run recorder: 1 row per read and per insert; event persister: 1 event per
# read) make SQLite commit once per task-run state change; batching keeps the write load low while
# the 5 s flush interval still bounds how long a state waits before it is visible in the API.
SERVER_TUNING: dict[str, str] = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE": "50",
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_READ_BATCH_SIZE": "10",
    "PREFECT_SERVER_SERVICES_EVENT_PERSISTER_BATCH_SIZE": "50",
    "PREFECT_SERVER_SERVICES_EVENT_PERSISTER_READ_BATCH_SIZE": "10",
    # No upgrade banners in a local, offline UI (and in the documentation screenshot).
    "PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT": "false",
}


class ServerStartError(RuntimeError):
    """The Prefect server exited or did not become healthy in time."""


def project_root() -> Path:
    """The repository root (the folder holding pyproject.toml), else the current directory.

    The server's home is project-local; resolving it from this file rather than from the current
    directory means ``newsclean server`` uses the same database wherever it is started from.
    """
    here = Path(__file__).resolve().parent.parent
    return here if (here / "pyproject.toml").is_file() else Path.cwd()


def default_prefect_home() -> Path:
    """``<repo>/.prefect``: where the server keeps its SQLite database and UI state."""
    return project_root() / ".prefect"


def _url_host(host: str) -> str:
    """Host as it appears in a URL; a wildcard bind is reached through loopback."""
    if host in ("0.0.0.0", "", "::"):
        return DEFAULT_HOST
    return f"[{host}]" if ":" in host else host


def base_url(host: str, port: int) -> str:
    """``http://host:port`` — the UI's address."""
    return f"http://{_url_host(host)}:{port}"


def api_url(host: str, port: int) -> str:
    """``http://host:port/api`` — the value clients need in ``PREFECT_API_URL``."""
    return f"{base_url(host, port)}/api"


def prepare_home(prefect_home: Path) -> Path:
    """Create the home folder, with a ``.gitignore`` of ``*`` so the database is never committed.

    The self-ignoring folder keeps working even in a checkout whose top-level .gitignore does not
    list ``.prefect/``.
    """
    prefect_home = prefect_home.expanduser().resolve()
    prefect_home.mkdir(parents=True, exist_ok=True)
    ignore = prefect_home / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# Prefect server state (SQLite DB, UI build): never commit.\n*\n")
    return prefect_home


def server_env(
    host: str, port: int, prefect_home: Path, base: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Environment for the server process.

    Everything that decides where data goes and where the UI points is set explicitly, so a
    ``PREFECT_API_URL`` or database URL inherited from the caller's shell cannot redirect it.
    """
    env = dict(os.environ if base is None else base)
    url = api_url(host, port)
    env.update(SERVER_TUNING)
    env.update(
        {
            "PREFECT_HOME": str(prefect_home),
            "PREFECT_SERVER_DATABASE_CONNECTION_URL": (f"sqlite+aiosqlite:///{prefect_home / 'prefect.db'}"),
            "PREFECT_SERVER_API_HOST": host,
            "PREFECT_SERVER_API_PORT": str(port),
            # /ui-settings reports PREFECT_SERVER_UI_API_URL (default: PREFECT_API_URL); without
            # these the browser would call port 4200 whatever --port said.
            "PREFECT_API_URL": url,
            "PREFECT_SERVER_UI_API_URL": url,
            "PREFECT_UI_URL": base_url(host, port),
        }
    )
    # A profile file elsewhere could carry its own API URL / database: keep the home's own.
    env.pop("PREFECT_PROFILES_PATH", None)
    env.pop("PREFECT_PROFILE", None)
    return env


def server_command(host: str, port: int) -> list[str]:
    """``python -m prefect server start`` with this interpreter (the project venv's Prefect)."""
    return [
        sys.executable,
        "-m",
        "prefect",
        "server",
        "start",
        "--host",
        host,
        "--port",
        str(port),
    ]


def get_json(url: str, timeout: float = 5.0) -> Any:
    """GET a JSON document with the standard library (no extra client dependency)."""
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read().decode("utf-8"))


def is_healthy(api: str, timeout: float = 2.0) -> bool:
    """True when ``<api>/health`` answers 200 with ``true``."""
    try:
        return bool(get_json(f"{api.rstrip('/')}/health", timeout=timeout))
    except (OSError, ValueError):
        return False


def wait_until_healthy(
    api: str,
    timeout: float = DEFAULT_START_TIMEOUT,
    process: subprocess.Popen[Any] | None = None,
    interval: float = 0.25,
) -> float:
    """Poll ``<api>/health`` until it answers; return the seconds waited.

    Raises ServerStartError when ``process`` exits first (a port clash or a broken install would
    otherwise be reported only as a timeout) or when ``timeout`` passes.
    """
    start = time.monotonic()
    while True:
        if is_healthy(api):
            return time.monotonic() - start
        if process is not None and process.poll() is not None:
            raise ServerStartError(
                f"Prefect server exited with code {process.returncode} before {api} was healthy"
            )
        if time.monotonic() - start > timeout:
            raise ServerStartError(f"Prefect server at {api} not healthy after {timeout:.0f} s")
        time.sleep(interval)


def port_is_free(host: str, port: int) -> bool:
    """True when nothing listens on host:port (checked by binding, as uvicorn will)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def find_free_port(host: str = DEFAULT_HOST) -> int:
    """A port the OS reports free now (tests run beside a developer's server on 4200)."""
    with socket.socket(socket.AF_INET) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def stop_process(
    process: subprocess.Popen[Any],
    grace: float = 20.0,
    first: signal.Signals = signal.SIGTERM,
    group: bool | None = None,
) -> int | None:
    """Stop a process and, if it leads its own process group, the rest of that group.

    ``first`` goes to the process alone, so it can shut down cleanly (``serve`` pauses its
    schedule; the server, given SIGINT, stops its services and closes its database). Then SIGKILL
    goes to the whole group of a process started with ``start_new_session=True``: that group holds
    exactly what we started (e.g. the flow-run subprocesses of ``serve``) and nothing of the
    caller's, so no stray process survives a test. ``group=None`` detects a group leader, which
    only works while the process has not been reaped; pass True when you started it so.
    """
    if group is None:
        try:
            group = os.getpgid(process.pid) == process.pid
        except ProcessLookupError:
            group = False
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(first)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=grace)
    if group:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
    elif process.poll() is None:
        process.kill()
    try:
        return process.wait(timeout=10.0)
    except subprocess.TimeoutExpired:
        return None


@dataclass
class ServerProcess:
    """A Prefect server started by ``start_server``; ``stop()`` ends it and only it."""

    process: subprocess.Popen[Any]
    host: str
    port: int
    prefect_home: Path
    startup_seconds: float
    log_path: Path | None = None
    _log_file: IO[bytes] | None = field(default=None, repr=False)

    @property
    def api_url(self) -> str:
        return api_url(self.host, self.port)

    @property
    def ui_url(self) -> str:
        return base_url(self.host, self.port)

    def client_env(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """Environment for a client (``serve``, a flow run) that must talk to this server."""
        env = dict(os.environ if base is None else base)
        env["PREFECT_API_URL"] = self.api_url
        env["PREFECT_UI_URL"] = self.ui_url
        env.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
        env.setdefault("DO_NOT_TRACK", "1")
        return env

    def stop(self, grace: float = 20.0) -> int | None:
        """Stop the server (idempotent) and close its log file.

        SIGINT, not SIGTERM: measured on 3.8.8, the server exits at once on SIGTERM (code -15,
        no shutdown), while on SIGINT uvicorn shuts down cleanly in 3-4 s and exits 0.
        """
        code = stop_process(self.process, grace=grace, first=signal.SIGINT, group=True)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        return code

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_server(
    host: str = DEFAULT_HOST,
    port: int | None = None,
    prefect_home: Path | None = None,
    log_path: Path | None = None,
    timeout: float = DEFAULT_START_TIMEOUT,
) -> ServerProcess:
    """Start ``prefect server start`` in the background and return once it is healthy.

    ``port=None`` picks a free port. Output goes to ``log_path`` (default: ``server.log`` in the
    home) rather than a pipe nobody reads, which would eventually block the server. On failure the
    process is stopped before the error is raised, so nothing is left behind.
    """
    home = prepare_home(prefect_home or default_prefect_home())
    port = find_free_port(host) if port is None else port
    if not port_is_free(host, port):
        raise ServerStartError(f"{host}:{port} is already in use")
    log_path = log_path or home / "server.log"
    log_file = log_path.open("ab")
    process = subprocess.Popen(
        server_command(host, port),
        env=server_env(host, port, home),
        stdin=subprocess.DEVNULL,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        cwd=home,
    )
    server = ServerProcess(process, host, port, home, 0.0, log_path, log_file)
    try:
        server.startup_seconds = wait_until_healthy(server.api_url, timeout, process)
    except BaseException:
        server.stop()
        raise
    return server


@contextlib.contextmanager
def running_server(
    host: str = DEFAULT_HOST,
    port: int | None = None,
    prefect_home: Path | None = None,
    log_path: Path | None = None,
    timeout: float = DEFAULT_START_TIMEOUT,
) -> Iterator[ServerProcess]:
    """``with running_server() as server:`` — a healthy server that is stopped on exit."""
    server = start_server(host, port, prefect_home, log_path, timeout)
    try:
        yield server
    finally:
        server.stop()


def run_server(
    host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, prefect_home: Path | str | None = None
) -> int:
    """Run the server in the foreground until Ctrl-C / SIGTERM: ``newsclean server``.

    The server's own output goes to the terminal; once it is healthy we print the UI address and
    the ``PREFECT_API_URL`` that ``newsclean serve`` needs in its shell. Returns an exit code.
    """
    home = prepare_home(Path(prefect_home) if prefect_home else default_prefect_home())
    api = api_url(host, port)
    if is_healthy(api):
        print(f"A Prefect server already answers at {api}; UI: {base_url(host, port)}")
        return 1
    if not port_is_free(host, port):
        print(f"{host}:{port} is in use by something else; choose another --port", file=sys.stderr)
        return 1
    print(f"Starting Prefect server on {host}:{port} (PREFECT_HOME={home}) ...", flush=True)
    # Same process group as us: Ctrl-C in the terminal reaches the server directly, and whoever
    # stops our group (a test, a supervisor) stops the server with it.
    process = subprocess.Popen(
        server_command(host, port), env=server_env(host, port, home), stdin=subprocess.DEVNULL, cwd=home
    )

    def _on_sigterm(signum: int, _frame: object) -> None:
        # A SIGTERM sent to us alone: pass it on as the SIGINT the server shuts down cleanly on.
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGINT)
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        seconds = wait_until_healthy(api, process=process)
        print(
            f"\nPrefect UI:  {base_url(host, port)}   (healthy after {seconds:.1f} s)\n"
            f"Prefect API: {api}\n"
            f"In the shell that runs `newsclean serve`:  export PREFECT_API_URL={api}\n"
            "Stop with Ctrl-C.",
            flush=True,
        )
        return process.wait()
    except KeyboardInterrupt:
        print("\nStopping Prefect server ...", flush=True)
        # It already has its SIGINT (from the terminal, or forwarded above): give it time to
        # close the database before anything harsher.
        try:
            process.wait(timeout=20)
        except (subprocess.TimeoutExpired, KeyboardInterrupt):
            process.kill()
            process.wait()
        return 0
    except ServerStartError as exc:
        stop_process(process, grace=10, first=signal.SIGINT, group=False)
        print(str(exc), file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: list[str] | None = None) -> int:
    """``python -m flows.server [--host H] [--port P] [--prefect-home DIR]``."""
    import argparse

    parser = argparse.ArgumentParser(description=run_server.__doc__)
    parser.add_argument("--host", default=DEFAULT_HOST)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--prefect-home", default=None, help="default: <repo>/.prefect")
    args = parser.parse_args(argv)
    return run_server(args.host, args.port, args.prefect_home)


if __name__ == "__main__":
    raise SystemExit(main())
