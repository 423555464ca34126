"""`newsclean run --engine dask` (a LocalCluster of 2 workers) against the local engine on the
same corpora, with the figures of issue 31's table.

Why: the dask engine is an execution choice, so its outputs must be the local engine's byte for
byte, and on one machine its overhead must stay small (<= 1.5x the local time at 100k), with no
worker over 1 GB. Each run is the real command line as a subprocess; a thread samples the RSS of
every process of its tree every 50 ms and keeps each process's peak: the run's own process (the
driver, which plans, records, groups and writes) and its children (the LocalCluster's worker
processes for dask, the process pool's workers for local). The group stage runs in the driver;
under the dask engine its pair steps run on the workers in blocks (`DaskGraphSteps`), and the run
logs the most candidate pairs one task held ("task pairs"): the largest single-process step is
the driver's group stage (its time and peak) or that task, beside all the candidate pairs.

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
import re
import shutil
import subprocess
import sys
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
LOGGED_CLI = (
    "import logging, sys; logging.basicConfig(level=logging.WARNING, format='%(name)s: %(message)s'); "
    "logging.getLogger('newsclean.dask').setLevel(logging.INFO); "
    "from newsclean.flows.cli import main; sys.argv[0] = 'newsclean'; sys.exit(main())"
)
TASK_PAIRS = re.compile(r"the largest task held (\d+) candidate pairs")
OUTPUTS = ("documents.jsonl", "canonical.jsonl", "quarantine.jsonl", "summary.json")
WORKER_LIMIT_MB = 1024.0
TIME_RATIO_LIMIT = 1.5


class ProcessPeaks(threading.Thread):
    """Peak RSS of the root process and of each of its children with their own descendants (a
    Dask worker with the child process it cleans limited batches in is one worker), by psutil,
    and the root's peak per stage (from the run's progress lines)."""

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
                rss = root.memory_info().rss
                self.peaks[self.pid] = max(self.peaks.get(self.pid, 0), rss)
                if self.stage:
                    self.root_stage_peaks[self.stage] = max(self.root_stage_peaks.get(self.stage, 0), rss)
                for child in root.children():
                    with contextlib.suppress(psutil.Error):
                        tree = child.memory_info().rss + sum(_rss(p) for p in child.children(recursive=True))
                        self.peaks[child.pid] = max(self.peaks.get(child.pid, 0), tree)
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


def _rss(proc: psutil.Process) -> int:
    try:
        return int(proc.memory_info().rss)
    except psutil.Error:
        return 0


@dataclass
class Run:
    engine: str
    wall: float = 0.0
    summary: dict[str, Any] = field(default_factory=dict)
    driver_mb: float = 0.0
    worker_mb: float = 0.0  # the largest peak of a child process with its descendants
    group_driver_mb: float = 0.0
    task_pairs: int = 0  # the most candidate pairs one grouping task held (dask engine)
    digests: dict[str, str] = field(default_factory=dict)
    error: str = ""


def run_engine(
    raw: Path, out: Path, engine: str, workers: int, timeout: float, settings: Path | None = None
) -> Run:
    """One `newsclean run` on `engine` with `workers` workers, watched: a full one (`--full`),
    or with `settings`, a run over the state in `out` under those settings."""
    cmd = [str(NEWSCLEAN), "run", "--raw", str(raw), "--out", str(out), "--json", "--no-prefect"]
    if engine == "dask":  # the CLI with the engine's log lines on stderr (the largest task's pairs)
        cmd[0:1] = [sys.executable, "-c", LOGGED_CLI]
    cmd += ["--workers", str(workers), "--engine", engine]
    cmd += ["--full"] if settings is None else ["--settings", str(settings)]
    started = time.perf_counter()
    # stdout to a file: `communicate` would read stderr too, beside the thread that watches it
    with tempfile.TemporaryFile(mode="w+") as stdout_file:
        proc = subprocess.Popen(cmd, stdout=stdout_file, stderr=subprocess.PIPE, text=True)
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
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        stdout_file.seek(0)
        stdout = stdout_file.read()
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
    # The driver's peak while grouping (from its progress line; its whole-run peak if unseen).
    result.group_driver_mb = peaks.root_stage_peaks.get("group", 0) / 2**20 or result.driver_mb
    found = [int(m.group(1)) for line in err if (m := TASK_PAIRS.search(line))]
    result.task_pairs = max(found, default=0)
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
    parser.add_argument("--dask-workers", default="2", help="LocalCluster sizes to run, e.g. 1,2")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--skip-local", action="store_true", help="the dask engine only (no ratio, no identity)"
    )
    parser.add_argument("--timeout", type=float, default=3600)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument(
        "--regroup",
        action="store_true",
        help="then regroup each dask run's state on both engines under a changed cluster setting "
        "(no cleaning: the group stages side by side)",
    )
    measure(parser.parse_args())


def measure(args: argparse.Namespace) -> None:
    """The runs and tables for `args` (main's options; bench/perf.py's dask section builds them):
    each corpus of `args.only` on the local engine and on a LocalCluster of each size."""
    tmp = Path(tempfile.mkdtemp(prefix="perf-dask-"))
    roots = {name: Path(folder) for name, _, folder in (c.partition("=") for c in args.corpus)}
    rows: list[list[object]] = []
    regroups: list[list[object]] = []
    measured: dict[tuple[str, int], Run] = {}
    try:
        for name in args.only.split(","):
            if name == "seeds":
                raw = common.REPO / "tests" / "fixtures" / "seeds"
            elif name == "events-dev":
                raw = events_dev_raw(tmp)
            else:
                n = int(name.removesuffix("k")) * 1000
                raw = perf_raw(roots.get(name, tmp / name), n, args.seed)
            local = Run("local", error="not run (--skip-local)")
            if not args.skip_local:
                log(f"{name}: local engine, 2 workers")
                local = run_engine(raw, tmp / f"{name}-local", "local", 2, args.timeout)
            for workers in [int(w) for w in args.dask_workers.split(",")]:
                log(f"{name}: dask engine, {workers} workers")
                dask = run_engine(raw, tmp / f"{name}-dask-{workers}", "dask", workers, args.timeout)
                log(f"  local {local.wall:.1f} s, dask {dask.wall:.1f} s {local.error} {dask.error}")
                rows.append(_row(name, workers, local, dask))
                log(f"  row: {rows[-1]}")  # as it comes: a long run stopped later keeps its figures
                if not dask.error:
                    measured[(name, workers)] = dask
                    if args.regroup:
                        regroups.append(regroup(name, raw, tmp / f"{name}-dask-{workers}", tmp, args.timeout))
                        log(f"  regroup row: {regroups[-1]}")
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    heading("--engine dask (LocalCluster) vs the local engine (2 workers), same corpus")
    headers = ["corpus", "docs", "dask workers", "local s", "dask s", "ratio", "identical", "group s",
               "cand pairs", "lsh pairs", "task pairs", "driver MB", "group MB", "worker MB loc",
               "worker MB dask"]  # fmt: skip
    table(headers, rows)
    print(
        f"targets: every output byte-identical; at 100k ratio <= {TIME_RATIO_LIMIT} and worker MB "
        f"<= {WORKER_LIMIT_MB:.0f}. group s / group MB: the group stage in the driver, its time and the "
        "driver's peak while it ran (its pair steps on the workers); task pairs: the most candidate "
        "pairs one task held; lsh pairs: all pairs the LSH indexes found, cand pairs: those left "
        "after each story's best event candidates."
    )
    if regroups:
        heading("the group stage alone: a run's state regrouped on each engine (2 workers)")
        table(REGROUP_HEADERS, regroups)
        print(
            f"{REGROUP_SETTING}: a cluster setting, so the outputs' key changes (a full regrouping) "
            "and the cleaned state is kept (no file cleaned); identical: all output files' sha256."
        )
    projection(measured)


def _lsh_pairs(run: Run) -> int:
    """Every pair the LSH indexes found (near copies + event candidates before each story's
    choice): what a single-process grouping holds at its peak."""
    stats = run.summary.get("grouping", {})
    return int(stats.get("near_candidate_pairs", 0) + stats.get("event_lsh_pairs", 0))


REGROUP_SETTING = {"dedup": {"lone_story_fit": 0.73}}  # default 0.72: any change regroups
REGROUP_HEADERS = ["corpus", "docs", "group s loc", "group s dask", "ratio", "identical", "cand pairs",
                   "lsh pairs", "task pairs", "group MB loc", "group MB dask", "worker MB dask"]  # fmt: skip


def regroup(name: str, raw: Path, state: Path, tmp: Path, timeout: float) -> list[object]:
    """The state of a run in `state` regrouped by each engine (copies of it, so each starts
    from the same state), under `REGROUP_SETTING`; a row of `REGROUP_HEADERS`."""
    settings = tmp / "regroup.json"
    settings.write_text(json.dumps(REGROUP_SETTING), encoding="utf-8")
    runs = {}
    for engine in ("local", "dask"):
        out = tmp / f"{name}-regroup-{engine}"
        shutil.copytree(state, out, symlinks=True)
        log(f"{name}: regroup on the {engine} engine")
        runs[engine] = run_engine(raw, out, engine, 2, timeout, settings)
        shutil.rmtree(out, ignore_errors=True)
    local, dask = runs["local"], runs["dask"]
    if local.error or dask.error:
        return [f"{name}: regroup failed: local {local.error or 'ok'}, dask {dask.error or 'ok'}"]
    group_local = float(local.summary["seconds"]["group"])
    group_dask = float(dask.summary["seconds"]["group"])
    return [
        name,
        int(dask.summary["documents"]),
        round(group_local, 1),
        round(group_dask, 1),
        round(group_dask / group_local, 2),
        "yes" if local.digests == dask.digests else "NO",
        int(dask.summary.get("candidate_pairs", 0)),
        _lsh_pairs(dask),
        dask.task_pairs,
        round(local.group_driver_mb),
        round(dask.group_driver_mb),
        round(dask.worker_mb),
    ]


def _row(name: str, workers: int, local: Run, dask: Run) -> list[object]:
    if dask.error:
        return [f"{name}: failed: local {local.error or 'ok'}, dask {dask.error}"]
    if local.error:  # the dask engine's own figures only
        local = Run("local", wall=float("nan"), digests=dict.fromkeys(OUTPUTS, "-"))
    same = [n for n in OUTPUTS if local.digests[n] == dask.digests[n]]
    return [
        name,
        int(dask.summary["documents"]),
        workers,
        round(local.wall, 1),
        round(dask.wall, 1),
        round(dask.wall / local.wall, 2),
        "-" if local.digests[OUTPUTS[0]] == "-" else "yes" if len(same) == len(OUTPUTS) else "NO",
        round(float(dask.summary["seconds"].get("group", 0.0)), 1),
        int(dask.summary.get("candidate_pairs", 0)),
        _lsh_pairs(dask),
        dask.task_pairs,
        round(dask.driver_mb),
        round(dask.group_driver_mb),
        round(local.worker_mb),
        round(dask.worker_mb),
    ]


# Bytes a document sends through each shuffle of `newsclean.distributed.lsh`: one record
# (band int64, key uint64, rank int64, row int64) per band of each LSH index.
_RECORD_BYTES = 32
TARGET_DOCS = 100_000_000


def projection(measured: dict[tuple[str, int], Run]) -> None:
    """100M articles from the largest corpus measured at 1 and 2 dask workers: clean-stage
    throughput per worker (measured), hours for a cluster, the worker memory (measured: batches
    are bounded, so it does not grow with the corpus), the LSH shuffle volume (computed from the
    settings' bands), and the single-process grouping extrapolated linearly (a lower bound)."""
    from newsclean.dedup.lsh import bands_for
    from newsclean.settings import DedupSettings

    sizes = sorted({name for name, _ in measured if (name, 1) in measured and (name, 2) in measured})
    if not sizes:
        print("projection: needs a corpus measured with --dask-workers 1,2")
        return
    name = max(sizes, key=lambda n: int(measured[(n, 2)].summary["documents"]))
    one, two = measured[(name, 1)], measured[(name, 2)]
    docs = int(two.summary["documents"])
    rate_one = docs / one.summary["seconds"]["read_clean"]
    rate_two = docs / two.summary["seconds"]["read_clean"]
    s = DedupSettings()
    bands = (
        bands_for(s.near_lsh_threshold, s.near_num_perm)[0]
        + bands_for(s.event_lsh_threshold, s.event_num_perm)[0]
    )
    if s.topic_terms_per_doc:
        bands += bands_for(s.topic_lsh_threshold, s.event_num_perm)[0]
    shuffle_gb = TARGET_DOCS * bands * _RECORD_BYTES / 1e9
    group_s, group_mb = float(two.summary["seconds"]["group"]), two.group_driver_mb
    heading(f"projection to {TARGET_DOCS:,} articles from {name} ({docs:,} documents), measured vs projected")
    rows: list[list[object]] = [
        ["clean+sign docs/s, 1 worker (measured)", round(rate_one, 1)],
        ["clean+sign docs/s, 2 workers (measured)", round(rate_two, 1)],
        ["scaling 1 -> 2 workers (measured)", round(rate_two / rate_one, 2)],
        ["peak MB per worker (measured, bounded batches)", round(two.worker_mb)],
    ]
    for workers in (16, 64, 256):
        hours = TARGET_DOCS / (rate_one * workers) / 3600
        rows.append([f"clean hours on {workers} workers (projected, linear per worker)", round(hours, 1)])
    rows.append(
        [f"LSH shuffle GB ({bands} bands x {_RECORD_BYTES} B a document, computed)", round(shuffle_gb, 1)]
    )
    rows.append([f"group s at {docs:,} in one process (measured)", round(group_s, 1)])
    rows.append([f"group peak MB at {docs:,} (measured)", round(group_mb)])
    rows.append(
        [
            "group hours at 100M, one process (projected, linear: a lower bound)",
            round(group_s * TARGET_DOCS / docs / 3600, 1),
        ]
    )
    rows.append(
        ["group GB at 100M, one process (projected, linear)", round(group_mb * TARGET_DOCS / docs / 1024)]
    )
    table(["figure", "value"], rows)


if __name__ == "__main__":
    main()
