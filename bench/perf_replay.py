"""bench/perf.py, section replay: events-dev fed to `newsclean run` in batches, one incremental run
per batch, against one full run of the same folder (issue 29).

Why: an incremental run scores new stories with the statistics of an earlier snapshot and never
splits a cluster; its grouping must stay close to what a fresh full run makes of the same
documents, and no document may change its cluster id except through a recorded merge.

The articles go in date order (the dated ones first, by date then id), the undated in a fixed
random order after them, in `--batches` equal batches, each a JSON Lines file of its own. After
every run each earlier document's cluster id must be the one its last cluster id leads to
through `merges.jsonl` (with `dedup.refresh_may_split`, or the one `splits.jsonl` moved it
to); a document of a changed or deleted file would be exempt, but the replay only adds files.
ARI and pairwise precision are against the events' labels.

    .venv/bin/python bench/perf_replay.py                       # 20 batches, the default share
    .venv/bin/python bench/perf_replay.py --shares 0.1,0.2,0.5  # the refresh share, swept
    .venv/bin/python bench/perf_replay.py --never-split-bound   # what never splitting costs

`--never-split-bound` asks what the contract "clusters only grow or merge" costs whatever the
joining rule: after each batch, a fresh full run of every batch so far; a grouping that follows
each of them and never splits holds every pair any of them held (their transitive closure). It
prints that grouping's figures against the last full run's, and the share of each fresh full
grouping's pairs that the last one no longer holds.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from common import EVENTS_PATH, heading, require_shared, table
from groupmetrics import score

from newsclean.flows.executors.direct import DirectExecutor
from newsclean.run import RunOptions, run_pipeline
from newsclean.settings import DedupSettings, RunSettings, Settings

LOG = logging.getLogger("replay")


def replay_order(rows: list[dict[str, Any]], seed: int = 29) -> list[dict[str, Any]]:
    """Dated articles by date (then id), then the undated in a fixed random order."""
    dated = sorted((r for r in rows if r.get("date")), key=lambda r: (r["date"], r["id"]))
    undated = sorted((r for r in rows if not r.get("date")), key=lambda r: r["id"])
    random.Random(seed).shuffle(undated)
    return dated + undated


def _write_batch(raw: Path, k: int, part: list[dict[str, Any]]) -> None:
    """Batch `k` of the replay as a JSON Lines file of its own in `raw`."""
    with (raw / f"batch-{k:02d}.jsonl").open("w", encoding="utf-8") as handle:
        for r in part:
            record = {"id": r["id"], "title": r["title"], "text": r["text"], "date": r["date"]}
            record |= {"source": r["source"], "url": r["url"]}
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")


def _clusters(out: Path) -> dict[str, str]:
    """Cluster id by events-dev record id."""
    with (out / "documents.jsonl").open(encoding="utf-8") as handle:
        return {d["record_id"]: d["cluster_id"] for d in map(json.loads, handle)}


def _merges(out: Path) -> dict[str, str | None]:
    path = out / "merges.jsonl"
    if not path.is_file():
        return {}
    with path.open(encoding="utf-8") as handle:
        return {m["retired_cluster_id"]: m["into_cluster_id"] for m in map(json.loads, handle)}


def _split_off(out: Path, skip: int) -> tuple[dict[str, str], int]:
    """The documents `splits.jsonl` records as moved after its first `skip` lines, by
    events-dev record id, with the cluster each moved to; and the file's line count."""
    path = out / "splits.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines() if path.is_file() else []
    with (out / "documents.jsonl").open(encoding="utf-8") as handle:
        record_of = {d["id"]: d["record_id"] for d in map(json.loads, handle)}
    moved = {
        record_of[doc]: s["to_cluster_id"] for s in map(json.loads, lines[skip:]) for doc in s["document_ids"]
    }
    return moved, len(lines)


def _followed(cluster_id: str, into: dict[str, str | None]) -> str | None:
    seen = set()
    current: str | None = cluster_id
    while current is not None and current in into and current not in seen:
        seen.add(current)
        current = into[current]
    return current


def replay(
    rows: list[dict[str, Any]],
    work: Path,
    batches: int,
    share: float,
    workers: int = 2,
    dedup: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Feed `rows` in `batches` runs; then one --full run of the same folder. Returns figures.
    `dedup`: further grouping settings (both the batch runs and the full run use them)."""
    settings = Settings(
        run=RunSettings(workers=workers),
        dedup=DedupSettings(**{**(dedup or {}), "snapshot_refresh_share": share}),
    )
    raw, out, full_out = work / "raw", work / "out", work / "full"
    shutil.rmtree(work, ignore_errors=True)
    raw.mkdir(parents=True)
    ordered = replay_order(rows)
    size = -(-len(ordered) // batches)
    previous: dict[str, str] = {}
    unrecorded = 0
    split_lines = 0
    split_moves = 0
    modes: list[str] = []
    seconds: list[float] = []
    for k in range(batches):
        part = ordered[k * size : (k + 1) * size]
        if not part:
            break
        _write_batch(raw, k, part)
        started = time.perf_counter()
        summary = run_pipeline(RunOptions(raw, out, settings), DirectExecutor(workers), LOG)
        seconds.append(time.perf_counter() - started)
        modes.append(str(summary.grouping.get("mode", "?")))
        now, into = _clusters(out), _merges(out)
        moved, split_lines = _split_off(out, split_lines)
        split_moves += len(moved)
        unrecorded += sum(
            1
            for doc, cid in previous.items()
            if doc in now and now[doc] != moved.get(doc, _followed(cid, into))
        )
        previous = now
    started = time.perf_counter()
    run_pipeline(RunOptions(raw, full_out, settings, full=True), DirectExecutor(workers), LOG)
    full_seconds = time.perf_counter() - started
    truth = {r["id"]: r["cluster_id"] for r in rows}
    incremental, full = score(truth, previous), score(truth, _clusters(full_out))
    return {
        "share": share,
        "may_split": bool((dedup or {}).get("refresh_may_split", False)),
        "runs": len(modes),
        "refreshes": sum(m == "refresh" for m in modes),
        "incremental": sum(m == "incremental" for m in modes),
        "ari_incremental": incremental.ari,
        "ari_full": full.ari,
        "p_incremental": incremental.precision,
        "p_full": full.precision,
        "r_incremental": incremental.recall,
        "r_full": full.recall,
        "unrecorded": unrecorded,
        "split_moves": split_moves,
        "seconds_runs": sum(seconds),
        "seconds_full": full_seconds,
        "modes": modes,
    }


def never_split_bound(
    rows: list[dict[str, Any]], work: Path, batches: int, workers: int = 2
) -> dict[str, Any]:
    """The batches as `replay` feeds them, a fresh --full run after each; the closure of all
    their same-cluster pairs (what never splitting keeps) scored against the last one."""
    settings = Settings(run=RunSettings(workers=workers))
    raw = work / "raw"
    shutil.rmtree(work, ignore_errors=True)
    raw.mkdir(parents=True)
    ordered = replay_order(rows)
    size = -(-len(ordered) // batches)
    groupings: list[dict[str, str]] = []
    for k in range(batches):
        part = ordered[k * size : (k + 1) * size]
        if not part:
            break
        _write_batch(raw, k, part)
        out = work / f"full-{k:02d}"
        run_pipeline(RunOptions(raw, out, settings, full=True), DirectExecutor(workers), LOG)
        groupings.append(_clusters(out))
        shutil.rmtree(out)
    last = groupings[-1]
    parent: dict[str, str] = {}

    def find(doc: str) -> str:
        while parent.setdefault(doc, doc) != doc:
            parent[doc] = parent[parent[doc]]
            doc = parent[doc]
        return doc

    undone: list[float] = []
    for grouping in groupings:
        members: dict[str, list[str]] = {}
        for doc, cluster in grouping.items():
            members.setdefault(cluster, []).append(doc)
        held = kept = 0
        for docs in members.values():
            for doc in docs[1:]:
                a, b = find(docs[0]), find(doc)
                if a != b:
                    parent[max(a, b)] = min(a, b)
            by_last: dict[str, int] = {}
            for doc in docs:
                by_last[last[doc]] = by_last.get(last[doc], 0) + 1
            held += len(docs) * (len(docs) - 1) // 2
            kept += sum(n * (n - 1) // 2 for n in by_last.values())
        undone.append(1 - kept / held if held else 0.0)
    truth = {r["id"]: r["cluster_id"] for r in rows}
    closure, full = score(truth, {doc: find(doc) for doc in last}), score(truth, last)
    return {"closure": closure, "full": full, "undone": undone}


def replay_rows(results: list[dict[str, Any]]) -> None:
    """The issue's replay table."""
    table(
        ["share", "splits", "runs", "refresh", "incr", "ARI incr", "ARI full", "ARI diff", "P incr",
         "P full", "P diff", "R incr", "R full", "unrecorded id changes", "split off", "runs s", "full s"],
        [
            [
                r["share"], "yes" if r["may_split"] else "no", r["runs"], r["refreshes"], r["incremental"],
                r["ari_incremental"], r["ari_full"], r["ari_full"] - r["ari_incremental"], r["p_incremental"],
                r["p_full"],
                r["p_full"] - r["p_incremental"], r["r_incremental"], r["r_full"], r["unrecorded"],
                r["split_moves"], r["seconds_runs"], r["seconds_full"],
            ]
            for r in results
        ],
    )  # fmt: skip
    print(
        "diff = full - incremental (targets: ARI and P differences <= 0.01, 0 unrecorded id changes); "
        "split off = documents that changed id through splits.jsonl (dedup.refresh_may_split); "
        "runs s = all batch runs together"
    )


def section_replay(bench: Any) -> None:
    """Why: incremental runs must group close to a fresh full run and keep every cluster id."""
    heading("replay (issue 29): events-dev in 20 date-ordered batches, one incremental run each, vs --full")
    require_shared(EVENTS_PATH)
    rows = [json.loads(line) for line in EVENTS_PATH.read_text(encoding="utf-8").splitlines() if line.strip()]
    share = DedupSettings().snapshot_refresh_share
    result = replay(rows, Path(bench.tmp) / "replay", 20, share, bench.args.workers)
    # The same replay with refreshes that may split (off by default: the id contract).
    splitting = replay(
        rows, Path(bench.tmp) / "replay-split", 20, share, bench.args.workers, {"refresh_may_split": True}
    )
    replay_rows([result, splitting])
    print(f"grouping of each run: {', '.join(result['modes'])}")
    bench.figures["replay"] = result
    bench.figures["replay_split"] = splitting


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--shares", default=str(DedupSettings().snapshot_refresh_share))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--dedup", default="{}", help="JSON of further grouping settings")
    parser.add_argument("--never-split-bound", action="store_true", help="see the module docstring")
    args = parser.parse_args(argv)
    require_shared(EVENTS_PATH)
    logging.basicConfig(level=logging.WARNING)
    rows = [json.loads(line) for line in EVENTS_PATH.read_text(encoding="utf-8").splitlines() if line.strip()]
    root = Path(tempfile.mkdtemp(prefix="newsclean-replay-"))
    results = []
    try:
        if args.never_split_bound:
            bound = never_split_bound(rows, root / "bound", args.batches, args.workers)
            closure, full = bound["closure"], bound["full"]
            table(
                ["grouping", "ARI", "P", "R", "ARI diff", "P diff"],
                [
                    ["never split, following each fresh full run", closure.ari, closure.precision,
                     closure.recall, full.ari - closure.ari, full.precision - closure.precision],
                    ["the last full run", full.ari, full.precision, full.recall, 0.0, 0.0],
                ],
            )  # fmt: skip
            shares = ", ".join(f"{x:.1%}" for x in bound["undone"])
            print(f"pairs of each batch's fresh full grouping that the last one no longer holds: {shares}")
            return 0
        for share in (float(x) for x in args.shares.split(",")):
            result = replay(
                rows, root / f"share-{share}", args.batches, share, args.workers, json.loads(args.dedup)
            )
            print(f"share {share}: {result['modes']}", flush=True)
            results.append(result)
        replay_rows(results)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
