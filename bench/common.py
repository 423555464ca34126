"""What the bench scripts share: where the shared data is, printing tables, timing, a Prefect server.

Why one module: each script used to carry its own copy of the table printer, of the "shared data
not found" exit and of the median helpers, and bench/perf.py a second copy of the server start
that newsclean.flows.server already provides. One copy here means a fix to any of them reaches
every script.

The scripts run as `.venv/bin/python bench/X.py` from the repository root, so bench/ is first on
sys.path and `import common` finds this file; newsclean itself is an installed package.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TypeVar

from newsclean.flows.server import ServerProcess, running_server

# --------------------------------------------------------------------------------------------
# The shared data, read in place from <repo>/../shared (never copied into the repository)

REPO = Path(__file__).resolve().parents[1]
SHARED = (REPO / ".." / "shared").resolve()
DATA = SHARED / "data"
EVENTS_PATH = DATA / "events-dev" / "articles.jsonl"
AEB_DIR = DATA / "aeb"
AEB_TRUTH = AEB_DIR / "ground-truth.json"
AEB_HTML = AEB_DIR / "html"
FTFY_CASES = DATA / "ftfy-cases"
SEEDS_DIR = SHARED / "seeds"
SEEDS_GOLD = SHARED / "gold" / "seeds.json"


def require_shared(*paths: Path) -> Path:
    """The shared folder, or exit with a message naming what is missing.

    A user of newsclean does not have `../shared`: the benchmarks are a maintainer's tool and say
    so, rather than fail with a traceback deep inside a loader.
    """
    missing = [p for p in (DATA, *paths) if not p.exists()]
    if missing:
        sys.exit(
            "bench: shared data not found ("
            + ", ".join(str(p) for p in missing)
            + f"). The benchmarks read {SHARED}, next to the repository; it is not shipped with "
            "newsclean."
        )
    return SHARED


# --------------------------------------------------------------------------------------------
# Printing


def heading(title: str) -> None:
    """A section title that stands out in a long terminal log."""
    print(f"\n== {title} " + "=" * max(0, 96 - len(title)), flush=True)


def fixed_cell(value: object) -> str:
    """Floats with 4 decimals (scores), None as '-', anything else as str."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def scaled_cell(value: object) -> str:
    """Floats with 4 decimals below 1, 2 below 1,000, none above; ints with thousands commas."""
    if value is None:
        return "-"
    if isinstance(value, float):
        v = value
        return f"{v:,.4f}" if abs(v) < 1 else f"{v:,.2f}" if abs(v) < 1000 else f"{v:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def table(
    headers: Sequence[str], rows: Iterable[Sequence[object]], cell: Callable[[object], str] = fixed_cell
) -> None:
    """Plain-text table: first column left-aligned, the rest right-aligned.

    A row of one cell is a note spanning the table (it does not set a column's width); a shorter
    row leaves its last columns empty.
    """
    cells = [[cell(v) for v in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        if len(row) == 1:
            continue
        for i, value in enumerate(row):
            widths[i] = max(widths[i], len(value))

    def fmt(row: Sequence[str]) -> str:
        parts = [row[0].ljust(widths[0])]
        parts += [value.rjust(widths[i]) for i, value in enumerate(row[1:], start=1)]
        return "  ".join(parts).rstrip()

    print(fmt(headers))
    print(fmt(["-" * w for w in widths]))
    for row in cells:
        print(row[0] if len(row) == 1 else fmt(row + [""] * (len(headers) - len(row))))
    sys.stdout.flush()


# --------------------------------------------------------------------------------------------
# Timing on a shared, drifting 2-core machine

T = TypeVar("T")


def median_or_none(values: Iterable[float]) -> float | None:
    """The median, or None when there are no values (a measurement that never finished)."""
    values = list(values)
    return statistics.median(values) if values else None


def in_turn(round_number: int, *steps: Callable[[], None]) -> None:
    """The steps of a side-by-side measurement, in order in even rounds and reversed in odd
    ones: this machine's speed drifts (2x within minutes), which favours whichever runs second."""
    for step in steps if round_number % 2 == 0 else reversed(steps):
        step()


def timed_rounds(
    methods: dict[str, Callable[[], T]], runs: int, last: dict[str, T] | None = None
) -> dict[str, tuple[list[float], list[float]]]:
    """(CPU seconds, wall seconds) per call of each method over `runs` interleaved rounds.

    Interleaved, so a busy machine slows every method alike; CPU time is the figure to compare
    (wall time also counts other processes holding the CPU). `last` receives each method's
    result of the last round.
    """
    times: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in methods}
    for _ in range(runs):
        for name, fn in methods.items():
            c0, w0 = time.process_time(), time.perf_counter()
            result = fn()
            times[name][0].append(time.process_time() - c0)
            times[name][1].append(time.perf_counter() - w0)
            if last is not None:
                last[name] = result
    return times


# --------------------------------------------------------------------------------------------
# A local Prefect server: newsclean's own start (newsclean.flows.server), not a copy of it


def prefect_server(home: Path, timeout: float = 120.0) -> AbstractContextManager[ServerProcess]:
    """`with prefect_server(home) as server:` a healthy server on a free loopback port, with its
    database in `home`, stopped (with its process group) on exit. Raises
    newsclean.flows.server.ServerStartError (a RuntimeError) when it does not come up."""
    return running_server(prefect_home=home, log_path=home / "server.log", timeout=timeout)
