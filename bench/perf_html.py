"""bench/perf.py, section html: a corpus of HTML pages only, end to end: pages/s."""

from __future__ import annotations

from common import heading
from perf_runs import STAGES, Bench, table


def section_html(bench: Bench) -> None:
    """Why: whole pages go through extraction, the most expensive path per document."""
    args = bench.args
    n = args.html_docs
    heading(f"html: {n:,} HTML pages only (aeb pages and their templates), --workers {args.workers}")
    state = bench.full_runs(bench.corpus(n, mix="html"), args.runs)
    if not state.ok_runs():
        table(["pages", "status"], [[n, f"{state.status()} {state.runs[-1].error}"]])
        return
    wall = state.median(lambda r: r.wall) or float("nan")
    table(
        [
            "pages",
            "runs",
            "MB",
            "wall s",
            "pages/s",
            "ms/page",
            "peak MB",
            "CPU",
            *(f"{s} s" for s in STAGES),
        ],
        [
            [
                n,
                f"{len(state.ok_runs())}/{len(state.runs)}",
                state.manifest.bytes / 1e6,
                wall,
                n / wall,
                wall / n * 1e3,
                state.median(lambda r: r.peak_mb),
                state.median(lambda r: r.cpu / r.wall),
                *(state.median(lambda r, s=s: r.stage(s)) for s in STAGES),
            ]
        ],
    )
    bench.figures["html"] = n / wall
