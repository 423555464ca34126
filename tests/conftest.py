"""Shared fixtures: paths to the committed sample inputs (never ../shared, which users lack)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
SEEDS = FIXTURES / "seeds"
INPUTS = FIXTURES / "inputs"
GOLD = FIXTURES / "seeds_gold.json"


@pytest.fixture
def seeds_raw(tmp_path: Path) -> Path:
    """A raw folder holding the five sample articles."""
    raw = tmp_path / "raw"
    shutil.copytree(SEEDS, raw)
    return raw


def seed_text(name: str) -> str:
    return (SEEDS / name).read_text(encoding="utf-8")


# No network here: Prefect's telemetry would only log failures.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
