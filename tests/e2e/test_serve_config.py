"""Fast checks (no server) of what `newsclean server` / `newsclean serve` set up or refuse.

Not marked e2e: they take seconds, and a wrong setting name or a silent serve against the
ephemeral API would otherwise only show up as a slow e2e timeout.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from e2e_support import RAW, REPO

from newsclean.flows.serve import ServeConfigError, check_schedule, run_parameters, serve_cleaning
from newsclean.flows.server import SERVER_TUNING, api_url, find_free_port, prepare_home, server_env


def test_server_env_names_are_real_prefect_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """pydantic-settings ignores unknown variables, so a typo would silently do nothing."""
    from prefect.settings import Settings

    env = server_env("127.0.0.1", 4321, tmp_path, base={})
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    server = Settings().server
    assert server.analytics_enabled is False
    assert server.api.port == 4321 and server.api.host == "127.0.0.1"
    assert server.ui.api_url == "http://127.0.0.1:4321/api"  # what /ui-settings reports
    assert server.ui.show_promotional_content is False
    assert server.services.task_run_recorder.batch_size == int(
        SERVER_TUNING["PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE"]
    )
    assert server.services.task_run_recorder.read_batch_size == int(
        SERVER_TUNING["PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_READ_BATCH_SIZE"]
    )
    assert server.services.event_persister.batch_size == int(
        SERVER_TUNING["PREFECT_SERVER_SERVICES_EVENT_PERSISTER_BATCH_SIZE"]
    )
    assert server.services.event_persister.read_batch_size == int(
        SERVER_TUNING["PREFECT_SERVER_SERVICES_EVENT_PERSISTER_READ_BATCH_SIZE"]
    )
    assert server.database.connection_url is not None
    assert str(tmp_path / "prefect.db") in server.database.connection_url.get_secret_value()
    assert str(Settings().home) == str(tmp_path)


def test_server_env_overrides_an_inherited_api_url(tmp_path: Path) -> None:
    env = server_env("127.0.0.1", 4321, tmp_path, base={"PREFECT_API_URL": "http://elsewhere/api"})
    assert env["PREFECT_API_URL"] == api_url("127.0.0.1", 4321)


def test_home_ignores_itself(tmp_path: Path) -> None:
    home = prepare_home(tmp_path / ".prefect")
    assert (home / ".gitignore").read_text().splitlines()[-1] == "*"


def test_serve_refuses_without_a_server() -> None:
    """Without PREFECT_API_URL, serve would register with an ephemeral API that never schedules."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(restore_defaults={PREFECT_API_URL}), pytest.raises(ServeConfigError) as err:
        serve_cleaning(RAW, REPO / "clean", interval=60)
    assert "PREFECT_API_URL" in str(err.value) and "newsclean server" in str(err.value)


def test_serve_refuses_an_unreachable_server() -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    url = f"http://127.0.0.1:{find_free_port()}/api"
    started = time.monotonic()
    with temporary_settings(updates={PREFECT_API_URL: url}), pytest.raises(ServeConfigError) as err:
        serve_cleaning(RAW, REPO / "clean", cron="0 * * * *")
    assert "does not answer" in str(err.value)
    assert time.monotonic() - started < 60


@pytest.mark.parametrize(
    ("cron", "interval", "message"),
    [
        ("0 * * * *", 60, "not both"),
        ("every hour", None, "Invalid cron"),
        (None, 0, "positive"),
    ],
)
def test_bad_schedules_are_refused(cron: str | None, interval: int | None, message: str) -> None:
    with pytest.raises(ServeConfigError, match=message):
        check_schedule(cron, interval)


def test_parameters_are_absolute_and_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    params = run_parameters("raw", "clean", None)
    assert params == {"raw_dir": str(RAW), "out_dir": str(REPO / "clean"), "settings_file": None}
    with pytest.raises(ServeConfigError, match="Raw folder not found"):
        run_parameters(tmp_path / "missing", tmp_path / "out", None)
    with pytest.raises(ServeConfigError, match="Settings file not found"):
        run_parameters(RAW, tmp_path / "out", tmp_path / "missing.json")


def test_serve_command_exits_2_with_the_reason(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env["PREFECT_HOME"] = str(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "newsclean.flows.serve", "--raw", str(RAW), "--out", str(tmp_path / "o")],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    assert "No Prefect server is configured" in result.stderr
