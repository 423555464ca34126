"""`newsclean run --engine dask` (a LocalCluster of 2 workers) against the local engine on the
same corpora, with the figures of issue 31's table.

Why: the dask engine is an execution choice, so its outputs must be the local engine's byte for
byte, and on one machine its overhead must stay small (<= 1.5x the local time at 100k), with no
worker over 1 GB. Each run is the real command line as a subprocess; a thread samples the RSS of
every process of its tree every 50 ms and keeps each process's peak: the run's own process (the
driver, which plans, records, groups and writes) and its children (the LocalCluster's worker
processes for dask, the process pool's workers for local). The group stage runs in the driver
under both engines: its time and the driver's peak while it runs are the largest single-process
step, reported with the candidate pairs it holds.

    .venv/bin/python bench/perf_dask.py                              # seeds, events-dev, 10k
    .venv/bin/python bench/perf_dask.py --only 100k --corpus 100k=/tmp/c100k --timeout 3600

Corpora: the samples (tests/fixtures/seeds), events-dev as 8 JSON Lines files (../shared, read
in place), and perf corpora (bench/perf_corpus.py; an existing `<corpus>/raw` is reused, else
built there). Outputs compared: every output file (sha256), the run state aside.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import common
import perf_corpus as pc
import psutil
from common import heading
from perf_runs import NEWSCLEAN, STAGE_MARKERS, log, table

SAMPLE_SECONDS = 0.05
OUTPUTS = ("documents.jsonl", "canonical.jsonl", "quarantine.jsonl", "summary.json")
WORKER_LIMIT_MB = 1024.0
TIME_RATIO_LIMIT = 1.5


class ProcessPeaks(threading.Thread):
    """Each process's peak RSS in a process tree (psutil), and the root's peak per stage (from
    the run's progress lines)."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peaks: dict[int, int] = {}
        self.stage = ""
        self.root_stage_peaks: dict[str, int] = {}
        self._stop_event = threading.Event()

    def run(self) -> None:
        root = psutil.Process(self.pid)
        while not self._stop_event.is_set():
            with contextlib.suppress(psutil.Error):
                for proc in [root, *root.children(recursive=True)]:
                    with contextlib.suppress(psutil.Error):
                        rss = proc.memory_info().rss
                        self.peaks[proc.pid] = max(self.peaks.get(proc.pid, 0), rss)
                        if proc.pid == self.pid and self.stage:
                            peak = self.root_stage_peaks.get(self.stage, 0)
                            self.root_stage_peaks[self.stage] = max(peak, rss)
            self._stop_event.wait(SAMPLE_SECONDS)

    def progress(self, line: str) -> None:
        text = line.strip()
        for marker, stage in STAGE_MARKERS:
            if text.startswith(marker):
                self.stage = stage
                return

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


@dataclass
class Run:
    engine: str
    wall: float = 0.0
    summary: dict[str, Any] = field(default_factory=dict)
    driver_mb: float = 0.0
    worker_mb: float = 0.0  # the largest child process's peak
    group_driver_mb: float = 0.0
    digests: dict[str, str] = field(default_factory=dict)
    error: str = ""


def run_engine(raw: Path, out: Path, engine: str, timeout: float) -> Run:
    """One full `newsclean run` on `engine` with 2 workers, watched."""
    cmd = [str(NEWSCLEAN), "run", "--raw", str(raw), "--out", str(out), "--json", "--no-prefect"]
    cmd += ["--workers", "2", "--full", "--engine", engine]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peaks = ProcessPeaks(proc.pid)
    peaks.start()
    err: list[str] = []

    def read_stderr() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            peaks.progress(line)
            err.append(line)

    reader = threading.Thread(target=read_stderr, daemon=True)
    reader.start()
    try:
        stdout, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        stdout, _ = proc.communicate()
    wall = time.perf_counter() - started
    peaks.stop()
    reader.join(timeout=10)
    result = Run(engine, wall)
    if proc.returncode != 0:
        result.error = f"exit {proc.returncode}: {''.join(err).strip().splitlines()[-1:]}"
        return result
    result.summary = json.loads(stdout[stdout.index("{") :])
    mb = {pid: rss / 2**20 for pid, rss in peaks.peaks.items()}
    result.driver_mb = mb.pop(proc.pid, 0.0)
    result.worker_mb = max(mb.values(), default=0.0)
    result.group_driver_mb = peaks.root_stage_peaks.get("group", 0) / 2**20
    result.digests = {n: hashlib.sha256((out / n).read_bytes()).hexdigest() for n in OUTPUTS}
    return result


def events_dev_raw(root: Path) -> Path:
    """events-dev's articles as 8 JSON Lines files (so the dask engine has batches to spread)."""
    common.require_shared(common.EVENTS_PATH)
    raw = root / "events-raw"
    raw.mkdir(parents=True, exist_ok=True)
    lines = common.EVENTS_PATH.read_text(encoding="utf-8").splitlines()
    for k in range(8):
        (raw / f"part-{k}.jsonl").write_text("\n".join(lines[k::8]) + "\n", encoding="utf-8")
    return raw


def perf_raw(root: Path, n: int, seed: int) -> Path:
    """The perf corpus of `n` files in `root/raw`, built there unless it is already there."""
    raw = root / "raw"
    if not raw.is_dir():
        log(f"building a corpus of {n:,} files in {root}")
        pc.build_corpus(raw, n, seed).save(root / "manifest.json")
    return raw


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", default="seeds,events-dev,10k", help="corpora: seeds,events-dev,10k,100k")
    parser.add_argument(
        "--corpus",
        action="append",
        default=[],
        help="NAME=FOLDER: a perf corpus to reuse, e.g. 10k=/tmp/c10k",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=3600)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="perf-dask-"))
    roots = {name: Path(folder) for name, _, folder in (c.partition("=") for c in args.corpus)}
    rows: list[list[object]] = []
    try:
        for name in args.only.split(","):
            if name == "seeds":
                raw = common.REPO / "tests" / "fixtures" / "seeds"
            elif name == "events-dev":
                raw = events_dev_raw(tmp)
            else:
                n = int(name.removesuffix("k")) * 1000
                root = next(
                    (r for r in roots.values() if (r / "raw").is_dir() and name in r.name), tmp / name
                )
                raw = perf_raw(root, n, args.seed)
            runs = {}
            for engine in ("local", "dask"):
                log(f"{name}: {engine} engine")
                runs[engine] = run_engine(raw, tmp / f"{name}-{engine}", engine, args.timeout)
                log(f"  {runs[engine].wall:.1f} s {runs[engine].error}")
            rows.append(_row(name, runs["local"], runs["dask"]))
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    heading("--engine dask (LocalCluster, 2 workers) vs the local engine (2 workers), same corpus")
    headers = ["corpus", "docs", "local s", "dask s", "ratio", "identical", "group s",
               "cand pairs", "driver MB", "group MB", "worker MB loc", "worker MB dask"]  # fmt: skip
    table(headers, rows)
    print(
        f"targets: every output byte-identical; at 100k ratio <= {TIME_RATIO_LIMIT} and worker MB "
        f"<= {WORKER_LIMIT_MB:.0f}. group s / group MB: the largest single-process step (grouping, in "
        "the driver, holding the candidate pairs), its time and the driver's peak while it ran."
    )


def _row(name: str, local: Run, dask: Run) -> list[object]:
    if local.error or dask.error:
        return [f"{name}: failed: local {local.error or 'ok'}, dask {dask.error or 'ok'}"]
    same = [n for n in OUTPUTS if local.digests[n] == dask.digests[n]]
    return [
        name,
        int(dask.summary["documents"]),
        round(local.wall, 1),
        round(dask.wall, 1),
        round(dask.wall / local.wall, 2),
        "yes" if len(same) == len(OUTPUTS) else f"NO ({len(same)}/{len(OUTPUTS)})",
        round(float(dask.summary["seconds"].get("group", 0.0)), 1),
        int(dask.summary.get("candidate_pairs", 0)),
        round(dask.driver_mb),
        round(dask.group_driver_mb),
        round(local.worker_mb),
        round(dask.worker_mb),
    ]


if __name__ == "__main__":
    main()
