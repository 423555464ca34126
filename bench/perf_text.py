"""bench/perf.py, section text: the throughput target's own corpus (text files only, no HTML pages)."""

from __future__ import annotations

from common import heading
from perf_runs import PHASE_HEADERS, RUN_HEADERS, Bench, label, phase_row, run_row, table


def section_text(bench: Bench) -> None:
    """Why: the issue sets its docs/s and memory targets on 100k *text* documents, and HTML pages
    a target of their own (>= 50 pages/s, i.e. up to 40 ms of CPU a page on two cores). In the
    mixed corpus a tenth of the files are pages, which alone would take 200 s at that rate for
    10k pages: the mixed figure cannot say whether text throughput meets its target. This runs
    the same corpus mix with the pages' share given to text originals, at the largest size."""
    args = bench.args
    n = max(args.sizes)
    if bench.timed_out_at is not None and n >= bench.timed_out_at:
        heading("text: skipped")
        print(f"(a {label(bench.timed_out_at)} run did not finish)")
        return
    heading(f"text: {n:,} text files (the mixed corpus without HTML pages), --full --no-prefect")
    state = bench.full_runs(bench.corpus(n, mix="text"), args.runs)
    if not state.ok_runs():
        bad = state.runs[-1]
        table(["files", "status"], [[label(n), f"{bad.status} {bad.error}"]])
        return
    table(RUN_HEADERS, [run_row(state)])
    print(f"({state.manifest.kinds()})")
    print("worker time per phase, ms per file:")
    table(PHASE_HEADERS, [phase_row(state)])
    bench.figures["text_throughput"] = (
        n,
        n / (state.median(lambda r: r.wall) or float("nan")),
        state.median(lambda r: r.peak_mb) or float("nan"),
    )
