"""bench/perf.py, section datatrove: datatrove's MinHash dedup, in its own venv, on newsclean's documents.

newsclean's whole run against datatrove's dedup alone, run in turn, and pairwise P/R of the two
duplicate groupings, against each other and against the corpus construction.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import statistics
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterable, Sequence
from itertools import combinations
from pathlib import Path

import groupmetrics as gm
from common import heading, in_turn
from perf_runs import Bench, RunResult, label, log, newsclean_run, run_command, table

DATATROVE_PACKAGES = [
    "datatrove",
    "orjson",
    "regex",
    "tokenizers",
    "nltk",
    "xxhash<4",
    "spacy",
]  # as its "processing" extra pins
DATATROVE_SCRIPT = r'''
"""datatrove MinHash dedup: reader -> signature -> buckets -> cluster -> filter -> writer."""
import json, sys, time
from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.dedup import (MinhashDedupBuckets, MinhashDedupCluster, MinhashDedupFilter,
                                      MinhashDedupSignature)
from datatrove.pipeline.dedup.minhash import MinhashConfig
from datatrove.pipeline.readers import JsonlReader
from datatrove.pipeline.writers import JsonlWriter
from datatrove.utils.hashing import HashConfig

def main():
    inp, work, workers = sys.argv[1], sys.argv[2], int(sys.argv[3])
    cfg = MinhashConfig(hash_config=HashConfig(precision=64))  # defaults: 5-grams, 14 buckets x 8 hashes
    times = {}
    def stage(name, pipeline, tasks):
        t = time.perf_counter()
        LocalPipelineExecutor(pipeline=pipeline, tasks=tasks, workers=min(workers, tasks),
                              logging_dir=f"{work}/logs/{name}").run()
        times[name] = round(time.perf_counter() - t, 3)
    stage("signature", [JsonlReader(inp), MinhashDedupSignature(output_folder=f"{work}/sigs", config=cfg)],
          workers)
    stage("buckets", [MinhashDedupBuckets(input_folder=f"{work}/sigs", output_folder=f"{work}/buckets",
                                          config=cfg)], cfg.num_buckets)
    stage("cluster", [MinhashDedupCluster(input_folder=f"{work}/buckets", output_folder=f"{work}/remove_ids",
                                          config=cfg, save_cluster_id=True)], 1)
    stage("filter", [JsonlReader(inp),
                     MinhashDedupFilter(input_folder=f"{work}/remove_ids", load_cluster_ids=True,
                                        exclusion_writer=JsonlWriter(f"{work}/removed", compression=None)),
                     JsonlWriter(f"{work}/deduped", compression=None)], workers)
    print(json.dumps(times), flush=True)  # flush: forked workers must not inherit a full buffer


if __name__ == "__main__":  # datatrove starts workers with forkserver
    main()
'''


def _pairs_of(groups: Iterable[Sequence[str]]) -> set[tuple[str, str]]:
    return {(a, b) if a < b else (b, a) for g in groups for a, b in combinations(sorted(g), 2)}


def _pr(pred: set[tuple[str, str]], true: set[tuple[str, str]]) -> tuple[float, float]:
    tp = len(pred & true)
    return (tp / len(pred) if pred else float("nan"), tp / len(true) if true else float("nan"))


def section_datatrove(bench: Bench) -> None:
    """Why: newsclean cleans *and* groups; it must still beat a dedup-only pipeline people use."""
    args = bench.args
    done = [n for n in args.sizes if n in bench.sizes and bench.sizes[n].ok_runs()]
    n = max(done) if done else min(args.sizes)
    heading(
        f"datatrove: MinHash dedup pipeline (LocalPipelineExecutor, {args.workers} tasks/workers) "
        f"on the {label(n)} documents"
    )
    state = bench.full_runs(bench.corpus(n), args.runs)
    if not state.ok_runs():
        table(["peer", "status"], [["datatrove", f"SKIPPED: newsclean's {label(n)} runs did not finish"]])
        return
    venv = bench.tmp / "datatrove-venv"
    status = _datatrove_install(venv, args.timeout)
    if status:
        table(["peer", "status"], [["datatrove", status]])
        bench.figures["datatrove"] = status
        return
    # the same documents: newsclean's cleaned texts (ids as newsclean's), split in 2 files for 2 tasks
    docs = [json.loads(line) for line in (state.out / "documents.jsonl").open(encoding="utf-8")]
    inp = bench.tmp / f"datatrove-in-{label(n)}"
    inp.mkdir(exist_ok=True)
    for part in range(args.workers):
        with (inp / f"part{part}.jsonl").open("w", encoding="utf-8") as fh:
            for d in docs[part :: args.workers]:
                fh.write(json.dumps({"id": d["id"], "text": d["text"]}) + "\n")
    script = bench.tmp / "run_datatrove.py"
    script.write_text(DATATROVE_SCRIPT, encoding="utf-8")
    runs: list[tuple[RunResult, dict[str, float]]] = []
    # newsclean runs again here, interleaved with datatrove and in turn first: this machine's
    # speed drifts by 2x within minutes (the scale section's 10k median was 85 s, a full run
    # 15 minutes later 45 s), so only runs side by side make a ratio.
    paired: list[RunResult] = []
    work = bench.tmp / "datatrove-work"
    for i in range(args.runs):

        def run_datatrove(i: int = i) -> None:
            shutil.rmtree(work, ignore_errors=True)
            res, stdout = run_command(
                [str(venv / "bin" / "python"), str(script), str(inp), str(work), str(args.workers)],
                args.timeout,
                f"datatrove run {i + 1}/{args.runs}",
            )
            log(f"  datatrove run {i + 1}/{args.runs}: {res.status} {res.wall:.1f} s {res.error}")
            stages: dict[str, float] = {}
            if res.ok:
                with contextlib.suppress(ValueError, IndexError):
                    stages = json.loads(stdout.strip().splitlines()[-1])
            runs.append((res, stages))

        def run_newsclean(i: int = i) -> None:
            paired.append(
                newsclean_run(
                    state.raw,
                    state.root / "out-beside-datatrove",
                    args,
                    what=f"{label(n)} newsclean run beside datatrove {i + 1}/{args.runs}",
                )
            )

        in_turn(i, run_datatrove, run_newsclean)
        if not (runs[-1][0].ok and paired[-1].ok):
            break
    ok = [(r, s) for r, s in runs if r.ok]
    paired_ok = [r for r in paired if r.ok]
    nc_wall = statistics.median(r.wall for r in paired_ok) if paired_ok else float("nan")
    if not ok:
        err = runs[-1][0].error
        table(["peer", "status"], [["datatrove", f"{runs[-1][0].status}: {err}"]])
        bench.figures["datatrove"] = f"{runs[-1][0].status}: {err}"
        return
    dt_wall = statistics.median(r.wall for r, _ in ok)
    dt_stage = {
        k: statistics.median(s.get(k, float("nan")) for _, s in ok)
        for k in ("signature", "buckets", "cluster", "filter")
    }
    rows = [
        [
            "newsclean run (read, decode, clean, group, write)",
            f"{len(paired_ok)}/{len(paired)}",
            nc_wall,
            len(docs) / nc_wall,
            statistics.median(r.peak_mb for r in paired_ok) if paired_ok else float("nan"),
            "-",
        ],
        [
            "datatrove MinHash dedup (reader..writer)",
            f"{len(ok)}/{len(runs)}",
            dt_wall,
            len(docs) / dt_wall,
            statistics.median(r.peak_mb for r, _ in ok),
            ", ".join(f"{k} {v:.1f}" for k, v in dt_stage.items()),
        ],
    ]
    table(["pipeline", "runs", "wall s", "docs/s", "peak MB", "stages s"], rows)
    ratio = nc_wall / dt_wall
    bench.figures["datatrove"] = ratio
    by_run = [nc.wall / dt.wall for nc, (dt, _) in zip(paired, runs, strict=False) if nc.ok and dt.ok]
    print(
        f"newsclean whole pipeline / datatrove dedup alone = {ratio:.2f} (< 1: newsclean faster; "
        f"run by run: {', '.join(f'{x:.2f}' for x in by_run)}). "
        "datatrove reads newsclean's cleaned texts (documents.jsonl), so both group the same texts."
    )

    # agreement on the copies
    dt_clusters: dict[int, list[str]] = defaultdict(list)
    for f in [*(work / "deduped").glob("*.jsonl"), *(work / "removed").glob("*.jsonl")]:
        for line in f.open(encoding="utf-8"):
            d = json.loads(line)
            cid = d.get("metadata", {}).get("minhash_cluster_id", -1)
            if cid != -1:
                dt_clusters[cid].append(d["id"])
    dt_pairs = _pairs_of(dt_clusters.values())
    by_sha: dict[str, list[str]] = defaultdict(list)
    edges = []
    for d in docs:
        by_sha[d["content_sha256"]].append(d["id"])
        if d["relation"] in ("exact_duplicate", "near_duplicate"):
            edges.append((d["id"], d["canonical_id"]))
    edges += [(g[0], x) for g in by_sha.values() for x in g[1:]]
    copies = gm.UnionFind()
    for a, b in edges:
        copies.union(a, b)
    nc_pairs = _pairs_of(gm.groups_of(copies.labels()).values())
    family = {e.path: e.family for e in state.manifest.entries}
    fam_groups: dict[str, list[str]] = defaultdict(list)
    for d in docs:
        if d["source_path"] in family:
            fam_groups[family[d["source_path"]]].append(d["id"])
    truth = _pairs_of(fam_groups.values())
    # The source sets hold duplicates of their own (fnc1 repeats articles under other record ids),
    # which no family joins: count the equal cleaned texts that span families, so a low precision
    # against the construction reads as what it is.
    path_of = {d["id"]: d["source_path"] for d in docs}
    spanning = sum(1 for ids in by_sha.values() if len({family.get(path_of[i]) for i in ids}) > 1)
    p, r = _pr(dt_pairs, nc_pairs)
    rows = [["datatrove pairs vs newsclean's exact+near relations", len(dt_pairs), len(nc_pairs), p, r]]
    for name, pred in (
        ("datatrove vs construction (copy families)", dt_pairs),
        ("newsclean vs construction (copy families)", nc_pairs),
    ):
        p2, r2 = _pr(pred, truth)
        rows.append([name, len(pred), len(truth), p2, r2])
    print()
    table(["duplicate pairs", "predicted", "reference", "precision", "recall"], rows)
    print(
        "newsclean's copy pairs: each exact_/near_duplicate with its canonical, plus documents with equal "
        "cleaned text, closed transitively (documents.jsonl names copies of the canonical only, so a copy "
        "of a non-canonical member shows as same_event and is not counted). Construction families: an "
        "original with its exact and near copies (a teaser-like cut can fall below both tools' thresholds). "
        f"The source sets repeat articles under other records: {spanning:,} groups of equal cleaned text "
        "span families, so precision against the construction is a lower bound."
    )
    bench.figures["datatrove_agreement"] = (p, r)


def _datatrove_install(venv: Path, timeout: float) -> str:
    """Create a venv for datatrove and install it (with what its MinHash path imports); '' if OK."""
    log(f"installing datatrove into {venv}")
    steps = [
        [sys.executable, "-m", "venv", str(venv)],
        [str(venv / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check", *DATATROVE_PACKAGES],
    ]
    for cmd in steps:
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=max(timeout, 900))
        except subprocess.TimeoutExpired:
            return f"FAILED to install: {cmd[0]} timed out"
        if proc.returncode != 0:
            lines = [ln for ln in (proc.stderr or proc.stdout).splitlines() if "is ignored" not in ln]
            return f"FAILED to install: {(lines or ['?'])[-1][:200]}"
    return ""
