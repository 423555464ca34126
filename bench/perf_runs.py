"""Running `newsclean run` for bench/perf.py and watching it; the per-size state its sections share.

Each section of perf.py (bench/perf_<section>.py) measures through `newsclean_run`: the real
command line as a subprocess in its own process group, with wall time, the peak RSS of its process
tree (sampled every 50 ms, psutil when installed, else /proc), CPU use and the JSON summary it
prints. A corpus of one size is built once (`Bench.corpus`) and its full runs are made once
(`Bench.full_runs`), then used by every section that needs them.
"""

from __future__ import annotations

import argparse
import contextlib
import filecmp
import functools
import json
import os
import resource
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import common
import perf_corpus as pc
from common import median_or_none as med

from newsclean.flows.server import stop_process
from newsclean.stages.clean import WORKER_PHASES

NEWSCLEAN = common.REPO / ".venv" / "bin" / "newsclean"
STAGES = ("plan", "read_clean", "group", "write")
SAMPLE_SECONDS = 0.05
HEARTBEAT_SECONDS = 30.0

# perf's tables: floats scaled to their size, ints with thousands commas
table = functools.partial(common.table, cell=common.scaled_cell)


def log(msg: str) -> None:
    """Progress on stderr, so a long run shows it is alive and stdout keeps only the tables."""
    print(f"[perf {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def label(n: int) -> str:
    return f"{n // 1000}k" if n >= 1000 and n % 1000 == 0 else str(n)


# --------------------------------------------------------------------------------------------
# Running newsclean and watching its memory


def proc_stats() -> Iterator[tuple[int, list[str]]]:
    """(pid, the /proc/<pid>/stat fields after the command name) of every live process.

    The fields start at the state: [1] is the parent pid, [3] the session, [11] and [12] the
    user and system CPU ticks."""
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", encoding="ascii", errors="replace") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        yield int(name), fields


def _tree_rss_proc(root: int) -> int:
    """RSS bytes of `root` and its descendants, from /proc (no psutil needed)."""
    children: dict[int, list[int]] = defaultdict(list)
    for pid, fields in proc_stats():
        children[int(fields[1])].append(pid)
    total, stack, page = 0, [root], os.sysconf("SC_PAGE_SIZE")
    while stack:
        pid = stack.pop()
        try:
            with open(f"/proc/{pid}/statm", "rb") as fh:
                total += int(fh.read().split()[1]) * page
        except (OSError, IndexError, ValueError):
            pass
        stack.extend(children.get(pid, ()))
    return total


def _tree_rss_psutil(root: int) -> int:
    import psutil

    try:
        proc = psutil.Process(root)
        procs = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0
    total = 0
    for p in procs:
        with contextlib.suppress(psutil.Error):
            total += p.memory_info().rss
    return total


try:
    import psutil  # noqa: F401

    tree_rss: Callable[[int], int] = _tree_rss_psutil
    RSS_SOURCE = "psutil"
except ImportError:
    tree_rss = _tree_rss_proc
    RSS_SOURCE = "/proc"


# The run's progress lines (stderr) that start each stage of STAGES: the peak of each stage is
# the largest sample taken while it ran, so the stage that sets the run's peak is visible.
STAGE_MARKERS = (("plan", "plan"), ("clean ", "read_clean"), ("record state", "read_clean"),
                 ("group", "group"), ("write outputs", "write"))  # fmt: skip


class PeakSampler(threading.Thread):
    """Samples the process tree's summed RSS every 50 ms until stopped; keeps the peak, overall
    and for the stage running (`stage`, set from the run's progress lines)."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak = 0
        self.stage = ""
        self.stage_peaks: dict[str, int] = {}
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            with contextlib.suppress(Exception):
                rss, stage = tree_rss(self.pid), self.stage
                self.peak = max(self.peak, rss)
                if stage:
                    self.stage_peaks[stage] = max(self.stage_peaks.get(stage, 0), rss)
            self._stop_event.wait(SAMPLE_SECONDS)

    def progress(self, line: str) -> None:
        """Note the stage a progress line starts, if it starts one."""
        text = line.strip()
        for marker, stage in STAGE_MARKERS:
            if text.startswith(marker):
                self.stage = stage
                return

    def stop(self) -> int:
        self._stop_event.set()
        self.join()
        return self.peak


@dataclass
class RunResult:
    """One `newsclean run`: OK with figures, or TIMEOUT / FAILED with the reason."""

    status: str
    wall: float
    peak_mb: float = 0.0
    cpu: float = 0.0
    stage_peak_mb: dict[str, float] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "OK"

    def stage(self, name: str) -> float:
        return float(self.summary.get("seconds", {}).get(name, float("nan")))


def run_command(
    cmd: Sequence[str], timeout: float, what: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> tuple[RunResult, str]:
    """Run `cmd` in its own process group; measure wall, peak tree RSS and CPU; kill on timeout."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=cwd,
        start_new_session=True,
    )
    sampler = PeakSampler(proc.pid)
    sampler.start()
    out_chunks: list[str] = []
    err_chunks: list[str] = []

    def read_stderr() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            sampler.progress(line)
            err_chunks.append(line)

    def read_stdout() -> None:
        assert proc.stdout is not None
        out_chunks.append(proc.stdout.read())

    readers = [threading.Thread(target=read, daemon=True) for read in (read_stdout, read_stderr)]
    for t in readers:
        t.start()
    status = "OK"
    while True:
        elapsed = time.perf_counter() - started
        if elapsed >= timeout:
            status = "TIMEOUT"
            stop_process(proc, grace=10, first=signal.SIGTERM, group=True)
            break
        try:
            proc.wait(timeout=min(HEARTBEAT_SECONDS, timeout - elapsed))
            break
        except subprocess.TimeoutExpired:
            log(f"  {what}: still running ({time.perf_counter() - started:.0f} s)")
    wall = time.perf_counter() - started
    peak = sampler.stop()
    proc.wait()
    for t in readers:
        t.join(timeout=10)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    stdout, stderr = "".join(out_chunks), "".join(err_chunks)
    stage_peaks = {k: v / 2**20 for k, v in sampler.stage_peaks.items()}
    result = RunResult(status, wall, peak / 2**20, cpu, stage_peaks)
    if status == "OK" and proc.returncode != 0:
        result.status = "FAILED"
        result.error = f"exit {proc.returncode}: " + (stderr.strip().splitlines() or ["?"])[-1][:200]
    elif status == "TIMEOUT":
        result.error = f"killed after {timeout:.0f} s"
    return result, stdout


def newsclean_run(
    raw: Path,
    out: Path,
    args: argparse.Namespace,
    *,
    full: bool = True,
    prefect: bool = False,
    env: dict[str, str] | None = None,
    what: str = "run",
) -> RunResult:
    """`newsclean run ... --json` as a subprocess, as a user would start it."""
    cmd = [
        str(NEWSCLEAN),
        "run",
        "--raw",
        str(raw),
        "--out",
        str(out),
        "--json",  # progress lines go to stderr: the sampler reads the stage from them
        "--prefect" if prefect else "--no-prefect",
        "--workers",
        str(args.workers),
    ]
    if full:
        cmd.append("--full")
    result, stdout = run_command(cmd, args.timeout, what, env=env)
    if result.ok:
        try:
            result.summary = json.loads(stdout[stdout.index("{") :])
        except ValueError:
            result.status, result.error = "FAILED", "no JSON summary on stdout"
    log(f"  {what}: {result.status} {result.wall:.1f} s, peak {result.peak_mb:.0f} MB {result.error}")
    return result


def compare_outputs(a: Path, b: Path) -> list[str]:
    """Files that differ or exist on one side only (the run state and lock are not output)."""

    def files(root: Path) -> set[str]:
        return {
            p.relative_to(root).as_posix()
            for p in root.rglob("*")
            if p.is_file() and not p.relative_to(root).parts[0].startswith(".newsclean")
        }

    fa, fb = files(a), files(b)
    diff = sorted(fa ^ fb)
    diff += [f for f in sorted(fa & fb) if not filecmp.cmp(a / f, b / f, shallow=False)]
    return diff


# --------------------------------------------------------------------------------------------
# Per-size state shared by the sections


@dataclass
class SizeState:
    """A corpus of one size and its full runs (built and run once, used by several sections)."""

    n: int
    root: Path
    manifest: pc.Manifest
    build_seconds: float
    runs: list[RunResult] = field(default_factory=list)

    @property
    def raw(self) -> Path:
        return self.root / "raw"

    @property
    def out(self) -> Path:
        return self.root / "out"

    def ok_runs(self) -> list[RunResult]:
        return [r for r in self.runs if r.ok]

    def median(self, key: Callable[[RunResult], float]) -> float | None:
        return med([key(r) for r in self.ok_runs()])

    def status(self) -> str:
        bad = [r for r in self.runs if not r.ok]
        return bad[0].status if bad else "OK" if self.runs else "NOT RUN"


def per_doc(state: SizeState, key: Callable[[RunResult], float]) -> float:
    """Median of `key` over a size's finished runs, per file (nan when none finished)."""
    value = state.median(key)
    return value / state.n if value is not None else float("nan")


class Bench:
    """The temp folder, options, corpora, and every figure the summary needs."""

    def __init__(self, args: argparse.Namespace, tmp: Path) -> None:
        self.args = args
        self.tmp = tmp
        # mixed corpora by size, the others by (mix, size)
        self.sizes: dict[int | tuple[str, int], SizeState] = {}
        self.figures: dict[str, Any] = {}
        self.timed_out_at: int | None = None

    def corpus(self, n: int, *, mix: str = "mixed") -> SizeState:
        """The corpus of `n` files of `mix` (`perf_corpus.MIXES`), built on first use."""
        key: int | tuple[str, int] = n if mix == "mixed" else (mix, n)
        if key not in self.sizes:
            root = self.tmp / (f"docs-{label(n)}" if mix == "mixed" else f"{mix}-{label(n)}")
            log(f"building a {'' if mix == 'mixed' else mix + '-only '}corpus of {n:,} files in {root}")
            t = time.perf_counter()
            manifest = pc.build_corpus(root / "raw", n, self.args.seed, mix=mix)
            manifest.save(root / "manifest.json")
            self.sizes[key] = SizeState(n, root, manifest, time.perf_counter() - t)
            log(f"  built in {self.sizes[key].build_seconds:.1f} s: {manifest.kinds()}")
        return self.sizes[key]

    def full_runs(self, state: SizeState, runs: int) -> SizeState:
        """`runs` full runs of a corpus (fewer if one fails or times out)."""
        while len(state.runs) < runs and (not state.runs or state.runs[-1].ok):
            what = f"{state.root.name} full run {len(state.runs) + 1}/{runs}"
            state.runs.append(newsclean_run(state.raw, state.out, self.args, what=what))
        return state


RUN_HEADERS = [
    "files",
    "runs",
    "raw MB",
    "docs out",
    "wall s",
    "docs/s",
    "ms/doc",
    "peak MB",
    "MB/doc",
    "CPU",
    *(f"{s} s" for s in STAGES),
    "slowest",
]


def run_row(state: SizeState) -> list[object]:
    """A corpus's full runs as one row of RUN_HEADERS (medians of its successful runs)."""
    n = state.n
    wall = state.median(lambda r: r.wall) or float("nan")
    peak = state.median(lambda r: r.peak_mb) or float("nan")
    return [
        label(n),
        f"{len(state.ok_runs())}/{len(state.runs)}",
        state.manifest.bytes / 1e6,
        state.ok_runs()[0].summary.get("documents", 0),
        wall,
        n / wall,
        wall / n * 1e3,
        peak,
        peak / n,
        state.median(lambda r: r.cpu / r.wall) or 0.0,
        *(state.median(lambda r, s=s: r.stage(s)) or float("nan") for s in STAGES),
        max(STAGES, key=lambda s: state.median(lambda r, s=s: r.stage(s)) or 0.0),
    ]


PHASE_HEADERS = ["files", *(f"{ph} ms" for ph in WORKER_PHASES)]


def phase_row(state: SizeState) -> list[object]:
    """A corpus's worker time per phase (`WORKER_PHASES`), summed over workers, in ms per file
    (medians of its successful runs), as one row of PHASE_HEADERS."""
    phases = [
        state.median(lambda r, ph=ph: float(r.summary.get("worker_seconds", {}).get(ph, float("nan"))))
        for ph in WORKER_PHASES
    ]
    return [label(state.n), *((v or float("nan")) / state.n * 1e3 for v in phases)]
