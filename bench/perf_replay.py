"""bench/perf.py, section replay: events-dev fed to `newsclean run` in batches, one incremental run
per batch, against one full run of the same folder (issue 29).

Why: an incremental run scores new stories with the statistics of an earlier snapshot and never
splits a cluster; its grouping must stay close to what a fresh full run makes of the same
documents, and no document may change its cluster id except through a recorded merge.

The articles go in date order (the dated ones first, by date then id), the undated in a fixed
random order after them, in `--batches` equal batches, each a JSON Lines file of its own. After
every run each earlier document's cluster id must be the one its last cluster id leads to
through `merges.jsonl`; a document of a changed or deleted file would be exempt, but the replay
only adds files. ARI and pairwise precision are against the events' labels.

    .venv/bin/python bench/perf_replay.py                       # 20 batches, the default share
    .venv/bin/python bench/perf_replay.py --shares 0.1,0.2,0.5  # the refresh share, swept
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
    modes: list[str] = []
    seconds: list[float] = []
    for k in range(batches):
        part = ordered[k * size : (k + 1) * size]
        if not part:
            break
        with (raw / f"batch-{k:02d}.jsonl").open("w", encoding="utf-8") as handle:
            for r in part:
                record = {"id": r["id"], "title": r["title"], "text": r["text"], "date": r["date"]}
                record |= {"source": r["source"], "url": r["url"]}
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        started = time.perf_counter()
        summary = run_pipeline(RunOptions(raw, out, settings), DirectExecutor(workers), LOG)
        seconds.append(time.perf_counter() - started)
        modes.append(str(summary.grouping.get("mode", "?")))
        now, into = _clusters(out), _merges(out)
        unrecorded += sum(
            1 for doc, cid in previous.items() if doc in now and now[doc] != _followed(cid, into)
        )
        previous = now
    started = time.perf_counter()
    run_pipeline(RunOptions(raw, full_out, settings, full=True), DirectExecutor(workers), LOG)
    full_seconds = time.perf_counter() - started
    truth = {r["id"]: r["cluster_id"] for r in rows}
    incremental, full = score(truth, previous), score(truth, _clusters(full_out))
    return {
        "share": share,
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
        "seconds_runs": sum(seconds),
        "seconds_full": full_seconds,
        "modes": modes,
    }


def replay_rows(results: list[dict[str, Any]]) -> None:
    """The issue's replay table."""
    table(
        ["share", "runs", "refresh", "incr", "ARI incr", "ARI full", "ARI diff", "P incr", "P full", "P diff",
         "R incr", "R full", "unrecorded id changes", "runs s", "full s"],
        [
            [
                r["share"], r["runs"], r["refreshes"], r["incremental"], r["ari_incremental"], r["ari_full"],
                r["ari_full"] - r["ari_incremental"], r["p_incremental"], r["p_full"],
                r["p_full"] - r["p_incremental"], r["r_incremental"], r["r_full"], r["unrecorded"],
                r["seconds_runs"], r["seconds_full"],
            ]
            for r in results
        ],
    )  # fmt: skip
    print(
        "diff = full - incremental (targets: ARI and P differences <= 0.01, 0 unrecorded id changes); "
        "runs s = all batch runs together"
    )


def section_replay(bench: Any) -> None:
    """Why: incremental runs must group close to a fresh full run and keep every cluster id."""
    heading("replay (issue 29): events-dev in 20 date-ordered batches, one incremental run each, vs --full")
    require_shared(EVENTS_PATH)
    rows = [json.loads(line) for line in EVENTS_PATH.read_text(encoding="utf-8").splitlines() if line.strip()]
    share = DedupSettings().snapshot_refresh_share
    result = replay(rows, Path(bench.tmp) / "replay", 20, share, bench.args.workers)
    replay_rows([result])
    print(f"grouping of each run: {', '.join(result['modes'])}")
    bench.figures["replay"] = result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--shares", default=str(DedupSettings().snapshot_refresh_share))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--dedup", default="{}", help="JSON of further grouping settings")
    args = parser.parse_args(argv)
    require_shared(EVENTS_PATH)
    logging.basicConfig(level=logging.WARNING)
    rows = [json.loads(line) for line in EVENTS_PATH.read_text(encoding="utf-8").splitlines() if line.strip()]
    root = Path(tempfile.mkdtemp(prefix="newsclean-replay-"))
    results = []
    try:
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
