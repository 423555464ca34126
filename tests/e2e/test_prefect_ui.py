"""The Prefect UI shows the scheduled run as a person would see it: headless Chromium, real pages.

Debian's Chromium (/usr/bin/chromium, installed by .ci/install-browser.sh) renders the UI's pages
with a virtual-time budget and dumps the DOM; no browser driver package is needed (Playwright's
Python package would download its own browser build, which this CI cannot fetch). The run graph
is a canvas, so assertions are on text: the run's name and state, its task runs, and the summary
artifact's table, whose figures must equal the files the run wrote.

Screenshots are saved in the test's tmp folder; with NEWSCLEAN_UPDATE_UI_SCREENSHOT=1 the flow-run
page is also copied to docs/prefect-ui.png (not by default: a test run should not dirty the tree).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from bs4 import BeautifulSoup
from e2e_support import IN_CI, REPO, ServedRun, jsonl_count, read_summary

from newsclean.flows.server import stop_process

pytestmark = pytest.mark.e2e

CHROMIUM = Path(os.environ.get("NEWSCLEAN_CHROMIUM", "/usr/bin/chromium"))
# The flags that keep headless Chromium quiet and offline on a machine with no network but
# loopback (without the background-networking ones it keeps trying Google's hosts).
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--window-size=1400,1000",
]
# Virtual time lets the single-page app fetch and render; longer budgets are retries for a slow
# machine, not the normal case (a page renders in 3-6 s of wall time here).
BUDGETS_MS = (15_000, 30_000, 60_000)


@pytest.fixture(scope="session")
def chromium() -> Path:
    """The browser, or a skip (locally) / failure (CI) that says how to install it."""
    if CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK):
        return CHROMIUM
    message = f"{CHROMIUM} not found: install it with `bash .ci/install-browser.sh`"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


class Browser:
    """One headless Chromium process per page, each with a fresh profile in the tmp folder."""

    def __init__(self, executable: Path, workdir: Path) -> None:
        self.executable = executable
        self.workdir = workdir
        self.calls = 0

    def _run(self, url: str, budget_ms: int, output: list[str]) -> str:
        self.calls += 1
        profile = self.workdir / f"profile-{self.calls}"
        command = [
            str(self.executable),
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            f"--virtual-time-budget={budget_ms}",
            *output,
            url,
        ]
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # so its renderer/GPU helpers can be stopped with it
            text=True,
        )
        try:
            stdout, _ = process.communicate(timeout=budget_ms / 1000 + 90)
        except subprocess.TimeoutExpired:
            pytest.fail(f"chromium did not finish rendering {url}")
        finally:
            stop_process(process, grace=5)
        shutil.rmtree(profile, ignore_errors=True)
        return stdout

    def page_text(self, url: str, ready: Callable[[str], bool]) -> tuple[str, BeautifulSoup]:
        """The rendered page's text and DOM, retried with longer budgets until ``ready``."""
        text = ""
        soup = BeautifulSoup("", "html.parser")
        for budget in BUDGETS_MS:
            soup = BeautifulSoup(self._run(url, budget, ["--dump-dom"]), "html.parser")
            text = " ".join(soup.get_text(" ", strip=True).split())
            if ready(text):
                break
        return text, soup

    def screenshot(self, url: str, path: Path) -> Path:
        self._run(url, BUDGETS_MS[0], [f"--screenshot={path}"])
        assert path.is_file() and path.stat().st_size > 10_000, f"no screenshot of {url}"
        return path


def ui_base(served_run: ServedRun) -> str:
    """Where the UI lives: 3.8 serves the new UI under /v2 (and the old one at /); ask it."""
    settings = httpx.get(f"{served_run.server.ui_url}/ui-settings", timeout=10).json()
    assert settings["api_url"] == served_run.server.api_url, "the UI would call the wrong port"
    base = settings.get("v2_base_url") or settings.get("v1_base_url") or ""
    return served_run.server.ui_url + base.rstrip("/")


def test_ui_shows_the_scheduled_run_and_its_summary(
    served_run: ServedRun, chromium: Path, tmp_path: Path
) -> None:
    browser = Browser(chromium, tmp_path)
    base = ui_base(served_run)
    run = served_run.flow_run
    run_url = f"{base}/runs/flow-run/{run['id']}"

    # The flow-run page, Task Runs tab: name, state, deployment, every task run by name.
    task_names = sorted(t["name"] for t in served_run.task_runs)
    expected = [run["name"], "Completed", served_run.deployment["name"], *task_names]
    text, _ = browser.page_text(f"{run_url}?tab=TaskRuns", lambda t: all(e in t for e in expected))
    missing = [e for e in expected if e not in text]
    assert not missing, f"not on the flow-run page: {missing}\npage text: {text[:3000]}"
    assert f"{len(task_names)} Task runs" in text

    # The Artifacts tab lists both artifacts.
    keys = ["newsclean-summary", "newsclean-clusters"]
    text, _ = browser.page_text(f"{run_url}?tab=Artifacts", lambda t: all(k in t for k in keys))
    assert all(k in text for k in keys), f"artifacts not listed: {text[:2000]}"

    # The summary artifact's page renders its Markdown table; its figures match the output.
    artifact = served_run.artifacts["newsclean-summary"]
    text, soup = browser.page_text(
        f"{base}/artifacts/artifact/{artifact['id']}", lambda t: "documents cleaned" in t
    )
    figures = rendered_table(soup)
    out = served_run.out_dir
    summary = read_summary(out)
    raw_files = [p for p in served_run.raw_dir.iterdir() if p.is_file()]
    assert figures, f"no rendered summary table: {text[:2000]}"
    assert figures.get("files read") == str(len(raw_files)), figures
    assert figures.get("documents cleaned") == str(jsonl_count(out / "documents.jsonl")), figures
    assert figures.get("quarantined") == str(jsonl_count(out / "quarantine.jsonl")), figures
    assert figures.get("clusters") == str(summary["clusters"]), figures
    assert figures.get("canonical documents") == str(jsonl_count(out / "canonical.jsonl")), figures
    assert run["name"] in text  # the artifact page links back to its run

    # What a person sees, kept with the test's files (and optionally for the README).
    shot = browser.screenshot(f"{run_url}?tab=Artifacts", tmp_path / "flow-run.png")
    browser.screenshot(f"{base}/artifacts/artifact/{artifact['id']}", tmp_path / "summary.png")
    if os.environ.get("NEWSCLEAN_UPDATE_UI_SCREENSHOT") == "1":
        (REPO / "docs").mkdir(exist_ok=True)
        shutil.copyfile(shot, REPO / "docs" / "prefect-ui.png")


def rendered_table(soup: BeautifulSoup) -> dict[str, str]:
    """Two-column rows of the rendered tables (label -> value), as the browser laid them out."""
    rows: dict[str, str] = {}
    for tr in soup.find_all("tr"):
        cells = [c.get_text(" ", strip=True) for c in tr.find_all(["td", "th"])]
        if len(cells) == 2:
            rows.setdefault(cells[0], cells[1])
    return rows
