"""Shared fixtures: a raw folder of the sample articles; no network for Prefect."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from support import SEEDS


@pytest.fixture
def seeds_raw(tmp_path: Path) -> Path:
    """A raw folder holding the five sample articles."""
    raw = tmp_path / "raw"
    shutil.copytree(SEEDS, raw)
    return raw


# No network here: Prefect's telemetry would only log failures.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
