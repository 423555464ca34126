"""bench/perf.py, section incremental: rounds of new, changed and deleted files, each run without --full.

Reports the time as % of a --full run made right after each round, and checks that a --full run
into a fresh folder gives byte-identical output.
"""

from __future__ import annotations

import shutil
import statistics

import perf_corpus as pc
from common import heading
from common import median_or_none as med
from perf_runs import STAGES, Bench, RunResult, compare_outputs, label, log, newsclean_run, table


def section_incremental(bench: Bench) -> None:
    """Why: a scheduled run must cost a fraction of a full one, and give the same bytes."""
    args = bench.args
    any_invalidated = 0
    heading("incremental: +1% new files, 0.1% changed, 0.1% deleted per round; run without --full")
    rows = []
    for n in args.sizes:
        if bench.timed_out_at is not None and n >= bench.timed_out_at:
            rows.append([label(n), "SKIPPED", "full runs did not finish"])
            continue
        state = bench.full_runs(bench.corpus(n), args.runs)
        full = state.median(lambda r: r.wall)
        if full is None or not state.runs[-1].ok:  # the state must come from a finished full run
            rows.append([label(n), "SKIPPED", "no finished full run"])
            continue
        incr: list[RunResult] = []
        # Each round is followed by a --full run of the same folder into a fresh one: the share
        # is taken round by round against a full run minutes apart, not against the scale
        # section's, which this machine's drift (2x within a quarter of an hour) makes useless.
        # The last one is also the byte-for-byte check.
        fulls: list[RunResult] = []
        check_out = state.root / "out-full-check"
        redone = invalidated = 0
        for rnd in range(args.runs + 2):
            if len(incr) >= args.runs:
                break
            change = pc.grow_corpus(
                state.raw, state.manifest, max(1, n // 100), max(1, n // 1000), max(1, n // 1000), rnd
            )
            what = f"{label(n)} incremental round {len(incr) + 1}/{args.runs} ({change})"
            res = newsclean_run(state.raw, state.out, args, full=False, what=what)
            expected = change["new"] + change["changed"]
            if res.ok and res.summary.get("files_cleaned", 0) > 2 * expected + 10 and redone < 2:
                # The run state is keyed to the cleaning code: an edit to cleaners/ by someone
                # else mid-bench makes this round a full re-clean. Not what is being measured.
                log(
                    f"  {what}: re-cleaned {res.summary.get('files_cleaned')} files, not ~{expected}: "
                    "the state was invalidated (cleaning code or settings changed); round repeated"
                )
                redone += 1
                invalidated += 1
                continue
            incr.append(res)
            if not res.ok:
                break
            shutil.rmtree(check_out, ignore_errors=True)
            after = f"{label(n)} --full run after round {len(incr)}"
            fulls.append(newsclean_run(state.raw, check_out, args, what=after))
        ok = [r for r in incr if r.ok]
        if not ok or not fulls:
            rows.append([label(n), incr[-1].status, incr[-1].error])
            continue
        check = fulls[-1]
        diff = compare_outputs(state.out, check_out) if check.ok else ["(check run " + check.status + ")"]
        verdict = "OK" if not diff else f"MISMATCH ({len(diff)} files, e.g. {diff[0]})"
        # A scheduled run's commonest case: nothing arrived since the last run.
        quiet = [
            newsclean_run(
                state.raw,
                state.out,
                args,
                full=False,
                what=f"{label(n)} rerun, nothing changed {k + 1}/{args.runs}",
            )
            for k in range(args.runs)
        ]
        quiet_wall = med([r.wall for r in quiet if r.ok])
        if check.ok and compare_outputs(state.out, check_out):
            verdict += "; quiet reruns changed the output"
        wall = statistics.median(r.wall for r in ok)
        full = statistics.median(f.wall for f in fulls if f.ok) if any(f.ok for f in fulls) else full
        shares = [r.wall / f.wall for r, f in zip(incr, fulls, strict=False) if r.ok and f.ok]
        share = statistics.median(shares) if shares else wall / full
        s = ok[-1].summary
        rows.append(
            [
                label(n),
                len(ok),
                s.get("files_cleaned"),
                s.get("files_unchanged"),
                s.get("files_deleted"),
                full,
                wall,
                share * 100,
                *(statistics.median(r.stage(st) for r in ok) for st in STAGES),
                quiet_wall,
                None if quiet_wall is None else quiet_wall / full * 100,
                verdict,
            ]
        )
        bench.figures.setdefault("incremental", []).append((n, share, verdict))
        any_invalidated += invalidated
        shutil.rmtree(check_out, ignore_errors=True)
    table(
        [
            "files",
            "rounds",
            "cleaned",
            "unchanged",
            "deleted",
            "full s",
            "incr s",
            "% of full",
            *(f"{s} s" for s in STAGES),
            "quiet s",
            "quiet %",
            "output vs --full",
        ],
        rows,
    )
    if any_invalidated:
        print(
            f"{any_invalidated} round(s) found the run state invalidated (cleaning code changed during the "
            "bench) and were repeated; they are not in the medians"
        )
    print(
        "full s = median --full run into a fresh folder, one right after each round; incr s = median "
        "round; % of full = median of round / the full run after it; quiet s = median rerun after the "
        "last round with nothing changed (its % against the median full); the check compares the last "
        "full run's output with the incremental one"
    )
