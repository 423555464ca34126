"""Paths to the committed sample inputs (never ../shared, which users lack), shared by the tests."""

from __future__ import annotations

from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"
SEEDS = FIXTURES / "seeds"
INPUTS = FIXTURES / "inputs"
GOLD = FIXTURES / "seeds_gold.json"


def seed_text(name: str) -> str:
    return (SEEDS / name).read_text(encoding="utf-8")
