"""bench/perf.py, section incremental: issue 29's targets for scheduled runs over a growing corpus.

After the full runs of a corpus, rounds of 1% new files, each run without --full: its time
against the full run's, its peak memory, its stages; then reruns with nothing changed. Every
round also checks that each earlier document kept its cluster id, or the id its old one leads to
through `merges.jsonl` (a recorded merge). At 100k files 1% is the issue's 1,000 new files.

`--incremental-from DIR` measures a corpus prepared beforehand (DIR/raw, DIR/out with the run
state of a full run, DIR/manifest.json) instead of building one and running it in full here; the
full run's time then comes from `--full-seconds` (a 100k full run takes half an hour here, and
the machine is shared). Whether `--full` after incremental runs equals a fresh `--full` is
tested (tests/test_incremental.py), not measured here: at 100k it would cost two full runs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import perf_corpus as pc
from common import heading
from common import median_or_none as med
from perf_runs import STAGES, Bench, RunResult, label, log, newsclean_run, table

TARGETS = {"share": 0.05, "thousand_new_s": 10.0, "quiet_s": 1.0, "memory_mb": 1024.0}


def _clusters(out: Path) -> dict[str, str]:
    with (out / "documents.jsonl").open("rb") as handle:
        return {d["id"]: d["cluster_id"] for d in map(json.loads, handle)}


def _followed(cluster_id: str, into: dict[str, str | None]) -> str | None:
    current: str | None = cluster_id
    seen: set[str] = set()
    while current is not None and current in into and current not in seen:
        seen.add(current)
        current = into[current]
    return current


def unrecorded_changes(before: dict[str, str], out: Path) -> int:
    """Documents of `before` still in `out` whose cluster id is not the one their earlier id leads
    to through `merges.jsonl`."""
    now = _clusters(out)
    with (out / "merges.jsonl").open("rb") as handle:
        into = {m["retired_cluster_id"]: m["into_cluster_id"] for m in map(json.loads, handle)}
    return sum(1 for d, c in before.items() if d in now and now[d] != _followed(c, into))


def _prepared(root: Path) -> tuple[Path, Path, pc.Manifest]:
    return root / "raw", root / "out", pc.Manifest.load(root / "manifest.json")


def section_incremental(bench: Bench) -> None:
    """Why: a scheduled run must cost what is new, keep cluster ids, and fit in memory."""
    args = bench.args
    heading("incremental (issue 29): +1% new files per round, each run without --full")
    figures: list[dict[str, Any]] = []
    for n in args.sizes:
        if args.incremental_from:
            raw, out, manifest = _prepared(Path(args.incremental_from))
            full = args.full_seconds
        else:
            state = bench.full_runs(bench.corpus(n), args.runs)
            if not state.runs or not state.runs[-1].ok:
                log(f"{label(n)}: no finished full run; incremental skipped")
                continue
            raw, out, manifest, full = state.raw, state.out, state.manifest, state.median(lambda r: r.wall)
        # A first run settles a model made by other code or settings (then a full grouping).
        newsclean_run(raw, out, args, full=False, what=f"{label(n)} settling run")
        rounds: list[RunResult] = []
        unrecorded = attempts = 0
        # Round numbers past every earlier one on this corpus (a prepared folder keeps its grown
        # manifest, saved below): a repeated number makes the same file names again, so a second
        # bench on one folder would overwrite files (changed, not new) instead of adding them.
        first_round = 1000 + len(manifest.entries)
        while len(rounds) < args.runs and attempts < args.runs + 3:
            attempts += 1
            before = _clusters(out)
            change = pc.grow_corpus(raw, manifest, max(1, n // 100), 0, 0, first_round + attempts)
            if args.incremental_from:
                manifest.save(Path(args.incremental_from) / "manifest.json")
            what = f"{label(n)} incremental round {len(rounds) + 1}/{args.runs} ({change['new']} new files)"
            result = newsclean_run(raw, out, args, full=False, what=what)
            if not result.ok:
                log(f"  {what}: {result.status} {result.error}")
                break
            unrecorded += unrecorded_changes(before, out)
            mode = result.summary.get("grouping", {}).get("mode")
            if mode != "incremental":  # a refresh, or code changed under the bench: not measured
                log(f"  {what}: the run was a {mode} grouping, not incremental; not in the medians")
                continue
            rounds.append(result)
        quiet = [
            newsclean_run(
                raw, out, args, full=False, what=f"{label(n)} rerun, nothing changed {k + 1}/{args.runs}"
            )
            for k in range(args.runs)
        ]
        wall = med([r.wall for r in rounds])
        figures.append(
            {
                "n": n,
                "new": max(1, n // 100),
                "full": full,
                "wall": wall,
                "share": None if wall is None or not full else wall / full,
                "peak": max((r.peak_mb for r in rounds), default=None),
                "stages": {st: med([r.stage(st) for r in rounds]) for st in STAGES},
                "quiet": med([r.wall for r in quiet if r.ok]),
                "quiet_peak": max((r.peak_mb for r in quiet if r.ok), default=None),
                "unrecorded": unrecorded,
                "rounds": len(rounds),
                "grouping": rounds[-1].summary.get("grouping", {}) if rounds else {},
            }
        )
    rows = []
    for f in figures:
        at = label(f["n"])
        rows += [
            [f"{at}: full run", _s(f["full"]), "", ""],
            [
                f"{at}: incremental run, {f['new']:,} new files (median of {f['rounds']})",
                _s(f["wall"]),
                "",
                "",
            ],
            [
                f"{at}: incremental / full",
                "-" if f["share"] is None else f"{f['share'] * 100:.1f}%",
                f"<= {TARGETS['share'] * 100:.0f}%",
                _verdict(f["share"], TARGETS["share"]),
            ],
            [
                f"{at}: incremental run with {f['new']:,} new files",
                _s(f["wall"]),
                f"<= {TARGETS['thousand_new_s']:.0f} s (1,000 new at 100k)",
                _verdict(f["wall"], TARGETS["thousand_new_s"]) if f["new"] == 1000 else "(not 1,000 files)",
            ],
            [
                f"{at}: nothing changed",
                _s(f["quiet"]),
                f"<= {TARGETS['quiet_s']:.0f} s",
                _verdict(f["quiet"], 1.0),
            ],
            [
                f"{at}: peak memory of an incremental run",
                "-" if f["peak"] is None else f"{f['peak']:,.0f} MB",
                f"<= {TARGETS['memory_mb']:,.0f} MB",
                _verdict(f["peak"], TARGETS["memory_mb"]),
            ],
            [
                f"{at}: cluster ids changed except through a recorded merge",
                str(f["unrecorded"]),
                "0",
                "MET" if f["unrecorded"] == 0 else "MISS",
            ],
            [
                f"{at}: incremental stages (median s)",
                ", ".join(f"{k} {_s(v)}" for k, v in f["stages"].items()),
                "",
                "",
            ],
        ]
        bench.figures.setdefault("incremental", []).append(
            (f["n"], f["share"], f["wall"], f["quiet"], f["peak"])
        )
    table(["figure", "value", "target", "verdict"], rows)
    print(
        "full run = median --full run of the corpus (or --full-seconds); incremental = median round, each "
        "adding 1% new files to the corpus and running without --full; nothing changed = median rerun "
        "after the rounds; memory = peak RSS of the run's process tree"
    )
    for f in figures:
        g = f["grouping"]
        if g:
            print(
                f"{label(f['n'])} last round's grouping: "
                + ", ".join(f"{k} {v}" for k, v in sorted(g.items()))
            )


def _s(value: float | None) -> str:
    return "-" if value is None else f"{value:,.2f} s"


def _verdict(value: float | None, limit: float) -> str:
    return "NOT MEASURED" if value is None else "MET" if value <= limit else "MISS"
