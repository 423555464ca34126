"""bench/perf.py, section scale: `newsclean run --full --no-prefect` at each size, and the scaling.

Docs/s, ms/doc, peak MB, MB/doc, CPU use and seconds per stage at each `--sizes`; the same-event
grouping scored against the events the corpus was built from; the cleaning workers' time by
phase; peak MB by stage; then per-document cost from one size to the next (1.0 = linear).
"""

from __future__ import annotations

import json
from itertools import pairwise

import groupmetrics as gm
from common import heading
from perf_runs import (
    PHASE_HEADERS,
    RSS_SOURCE,
    RUN_HEADERS,
    STAGES,
    Bench,
    SizeState,
    label,
    per_doc,
    phase_row,
    run_row,
    table,
)


def event_scores(state: SizeState) -> gm.PairScores:
    """The last run's clusters (clean/documents.jsonl) against the events the corpus was built from.

    Why: candidate pruning that keeps grouping linear must not buy its speed with quality at
    100k documents, where no labelled set is that large; the corpus's construction is one."""
    event = {e.path: e.event for e in state.manifest.entries}
    truth: dict[str, str] = {}
    pred: dict[str, str] = {}
    with (state.out / "documents.jsonl").open(encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            if d["source_path"] in event:
                truth[d["id"]] = event[d["source_path"]]
                pred[d["id"]] = d["cluster_id"]
    return gm.score(truth, pred)


def section_scale(bench: Bench) -> None:
    """Why: docs/s and memory at each size, which stage dominates, and whether cost stays linear."""
    args = bench.args
    heading(f"scale: newsclean run --full --no-prefect --workers {args.workers}, median of {args.runs} runs")
    print(
        f"peak MB = max over 50 ms samples of the RSS sum of the process tree ({RSS_SOURCE}); "
        "CPU = (user+sys) / wall"
    )
    rows = []
    for n in args.sizes:
        if bench.timed_out_at is not None and n > bench.timed_out_at:
            rows.append([label(n), "SKIPPED", f"(a {label(bench.timed_out_at)} run did not finish)"])
            continue
        state = bench.full_runs(bench.corpus(n), args.runs)
        if state.status() != "OK":
            bench.timed_out_at = n if state.status() == "TIMEOUT" else bench.timed_out_at
            bad = next(r for r in state.runs if not r.ok)
            rows.append([label(n), bad.status, bad.error])
            if not state.ok_runs():
                continue
        rows.append(run_row(state))
    table(RUN_HEADERS, rows)
    done = [bench.sizes[n] for n in args.sizes if n in bench.sizes and bench.sizes[n].ok_runs()]
    if done:
        s = done[0].ok_runs()[0].summary
        print(
            f"({label(done[0].n)} corpus: {done[0].manifest.kinds()}; relations {s.get('relations')}, "
            f"{s.get('candidate_pairs')} candidate pairs)"
        )
    if done:
        print(
            "\nsame-event grouping at each size, scored against the corpus's events (each replica's "
            "ciphered copy of an events-dev or aeb event is one event; bench/groupmetrics.py)"
        )
        quality = []
        for st in done:
            scores = event_scores(st)
            quality.append([label(st.n), scores.n_docs, scores.ari, scores.precision, scores.recall])
            bench.figures.setdefault("event_quality", []).append((st.n, scores.ari, scores.precision))
        table(["files", "docs scored", "event ARI", "pairwise P", "pairwise R"], quality)
        print(
            "inside read_clean: worker time per phase, summed over workers, ms per file "
            "(read_decode + clean + sign + write; the rest of read_clean is recording the state)"
        )
        table(PHASE_HEADERS, [phase_row(st) for st in done])
        print("peak MB while each stage ran (the same samples as peak MB, by the run's progress lines)")
        nan = float("nan")
        stage_peaks = [
            [label(st.n), *(st.median(lambda r, s=s: r.stage_peak_mb.get(s, nan)) for s in STAGES)]
            for st in done
        ]
        table(["files", *(f"{st} MB" for st in STAGES)], stage_peaks)
    # per-stage ms/doc shows which stage grows faster than linearly
    if len(done) >= 2:
        print()
        scale_rows = []
        for prev, cur in pairwise(done):
            r_time = per_doc(cur, lambda r: r.wall) / per_doc(prev, lambda r: r.wall)
            r_mem = per_doc(cur, lambda r: r.peak_mb) / per_doc(prev, lambda r: r.peak_mb)
            stage_ratios = []
            for st in STAGES:
                a, b = prev.median(lambda r, st=st: r.stage(st)), cur.median(lambda r, st=st: r.stage(st))
                stage_ratios.append((b / cur.n) / (a / prev.n) if a and b else float("nan"))
            scale_rows.append([f"{label(prev.n)} -> {label(cur.n)}", r_time, r_mem, *stage_ratios])
            bench.figures.setdefault("scaling", []).append(
                (f"{label(prev.n)}->{label(cur.n)}", r_time, r_mem)
            )
        print("scaling: per-document cost at the larger size / at the smaller (1.0 = linear)")
        table(["sizes", "time/doc", "peak MB/doc", *(f"{s}/doc" for s in STAGES)], scale_rows)
    for st in done:
        bench.figures.setdefault("throughput", []).append(
            (st.n, st.n / st.median(lambda r: r.wall), st.median(lambda r: r.peak_mb))  # type: ignore[operator]
        )
