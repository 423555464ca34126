"""Kill `newsclean run` with SIGKILL at 20 points spread over a run, and check what it leaves.

`.venv/bin/python bench/faults.py [--docs 2000] [--work DIR]`

Set-up: a corpus of `--docs` files (`bench/perf_corpus.py`); an *old* output set, made by a run
over the corpus with a quarter of its files held out (the state a scheduled run starts from); a
*new* set, made by one undisturbed run over the whole corpus into a fresh folder.

Each trial copies the old output folder, starts `newsclean run` over the whole corpus into it
(an incremental run: the held-out quarter is new, everything is regrouped and rewritten) and
SIGKILLs it when it reaches its kill point: a progress line the run prints on stderr (piped) or a
file it makes (the lock record, the work folder, batch files, the state's write-ahead log, the
group stage's files, the new output generation and its files, the switch of `current`). Then:

- reader: the output set at the contract's paths is the whole old set or the whole new set;
- orphans: no process of the killed run is left (its children, or any process whose command
  line names the trial's folder), waited for up to 10 s;
- rerun: `newsclean run` again: its exit code, its outputs byte-identical to the undisturbed
  run's, and no work folders, temporary files or unpublished generations left.

Prints one table row per trial. Needs ../shared (perf_corpus reads it); says so and exits if it
is absent. The runs use the installed newsclean (or `PYTHONPATH`'s): every run must run the same
code, or the outputs differ for that reason alone; with others editing the working tree, point
`PYTHONPATH` at an export of a commit (`git archive HEAD | tar -x -C /tmp/frozen`).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from common import DATA, REPO, table

NEWSCLEAN = [sys.executable, "-m", "newsclean.flows.cli", "run", "--no-prefect"]
CONTRACT = ("documents.jsonl", "canonical.jsonl", "quarantine.jsonl", "summary.json")


def outputs(out: Path) -> dict[str, str]:
    """What a reader sees at the contract's paths: name -> sha256 of every file present."""
    names = [*CONTRACT, *sorted(f"canonical/{p.name}" for p in (out / "canonical").glob("*.md"))]
    return {n: hashlib.sha256((out / n).read_bytes()).hexdigest() for n in names if (out / n).is_file()}


def leftovers(out: Path) -> list[str]:
    found = [p.name for p in out.iterdir() if p.name.startswith(".work-") or p.name.endswith(".tmp")]
    generations = out / ".newsclean" / "generations"
    if generations.is_dir() and len(list(generations.iterdir())) > 2:
        found.append(f"{len(list(generations.iterdir()))} generations")
    return found


def _stat_fields(pid: int) -> list[str] | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat[stat.rfind(")") + 2 :].split()


def children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat_fields(int(entry.name))) and int(fields[1]) == pid:
            found.add(int(entry.name))
    return found


def alive(pid: int) -> bool:
    fields = _stat_fields(pid)
    return fields is not None and fields[0] != "Z"


def naming(folder: Path) -> set[int]:
    """Live processes whose command line names `folder`."""
    found = set()
    needle = str(folder).encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if needle in (entry / "cmdline").read_bytes() and alive(int(entry.name)):
                found.add(int(entry.name))
        except OSError:
            continue
    return found


@dataclass
class Watch:
    """What a running trial shows: its stderr lines so far, its output folder."""

    out: Path
    lines: list[str]
    initial_generation: str
    wal_start: int

    def line(self, needle: str, count: int = 1) -> bool:
        return sum(needle in line for line in self.lines) >= count

    def work(self, name: str = "") -> bool:
        return any((w / name).exists() if name else True for w in self.out.glob(".work-*"))

    def generation(self, name: str = "") -> bool:
        root = self.out / ".newsclean" / "generations"
        news = [g for g in root.glob("*") if g.name > self.initial_generation]
        return any((g / name).exists() for g in news) if name else bool(news)

    def pages(self, at_least: int) -> bool:
        root = self.out / ".newsclean" / "generations"
        news = [g for g in root.glob("*") if g.name > self.initial_generation]
        return any(len(list((g / "canonical").glob("*.md"))) >= at_least for g in news)

    def switched(self) -> bool:
        try:
            return not os.readlink(self.out / "current").endswith(self.initial_generation)
        except OSError:
            return False

    def wal_grew(self, by: int) -> bool:
        try:
            return (self.out / ".newsclean" / "state.sqlite-wal").stat().st_size >= self.wal_start + by
        except OSError:
            return False

    def lock_taken(self, pid: int) -> bool:
        try:
            return (self.out / ".newsclean.lock").read_text().split()[:1] == [str(pid)]
        except OSError:
            return False


# (name, stage, condition): 20 points over planning, cleaning, record state, group and writing.
POINTS: list[tuple[str, str, Callable[[Watch, int], bool]]] = [
    ("lock record written", "plan", lambda w, pid: w.lock_taken(pid)),
    ("work folder made", "plan", lambda w, _: w.work()),
    ("'plan' line", "plan", lambda w, _: w.line("  plan")),
    ("'clean N batches' line", "clean", lambda w, _: w.line(" batches on ")),
    ("batch file 1 written", "clean", lambda w, _: w.work("batch-00001.jsonl")),
    ("batch 2 done line", "clean", lambda w, _: w.line("clean batch 2/")),
    ("batch 4 done line", "clean", lambda w, _: w.line("clean batch 4/")),
    ("batch 6 done line", "clean", lambda w, _: w.line("clean batch 6/")),
    ("last batch done line", "clean", lambda w, _: w.line("clean batch 8/8")),
    ("'record state' line", "record state", lambda w, _: w.line("record state")),
    ("state WAL +1 MB", "record state", lambda w, _: w.wal_grew(1 << 20)),
    ("'group' line", "group", lambda w, _: w.line("  group")),
    ("group: documents file", "group", lambda w, _: w.work("documents.jsonl")),
    ("group: groups.json", "group", lambda w, _: w.work("groups.json")),
    ("'write outputs' line", "write", lambda w, _: w.line("write outputs")),
    ("write: generation made", "write", lambda w, _: w.generation()),
    ("write: documents.jsonl", "write", lambda w, _: w.generation("documents.jsonl")),
    ("write: 100 pages", "write", lambda w, _: w.pages(100)),
    ("write: summary.json", "write", lambda w, _: w.generation("summary.json")),
    ("write: current switched", "write", lambda w, _: w.switched()),
]


def build(corpus: Path, docs: int) -> None:
    subprocess.run(
        [sys.executable, str(REPO / "bench" / "perf_corpus.py"), "--docs", str(docs), "--out", str(corpus)],
        check=True,
    )


def run_quiet(raw: Path, out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*NEWSCLEAN, "--raw", str(raw), "--out", str(out), "--quiet"],
        capture_output=True,
        text=True,
        cwd=out.parent,  # not the repository: `-m` would import its working tree, edits and all
    )


def trial(name: str, condition: Callable[[Watch, int], bool], raw: Path, old_out: Path, out: Path) -> dict:
    shutil.copytree(old_out, out, symlinks=True)
    generation = os.readlink(out / "current").rsplit("/", 1)[-1]
    wal = out / ".newsclean" / "state.sqlite-wal"
    watch = Watch(out, [], generation, wal.stat().st_size if wal.exists() else 0)
    started = time.monotonic()
    process = subprocess.Popen(
        [*NEWSCLEAN, "--raw", str(raw), "--out", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        cwd=out.parent,
    )
    assert process.stderr is not None
    stream = process.stderr
    reader = threading.Thread(target=lambda: watch.lines.extend(iter(stream.readline, "")), daemon=True)
    reader.start()
    seen: set[int] = set()
    hit = False
    while process.poll() is None:
        seen |= children(process.pid)
        if condition(watch, process.pid):
            process.send_signal(signal.SIGKILL)
            hit = True
            break
        time.sleep(0.001)
    process.wait()
    killed_at = time.monotonic() - started
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and (left := {p for p in seen if alive(p)} | naming(out)):
        time.sleep(0.05)
    left = {p for p in seen if alive(p)} | naming(out)
    for pid in left:  # do not let them spoil the next trial
        os.kill(pid, signal.SIGKILL)
    view = outputs(out)
    rerun = run_quiet(raw, out)
    return {
        "point": name,
        "hit": hit,
        "seconds": killed_at,
        "exit": process.returncode,
        "view": view,
        "children": len(seen),
        "left": len(left),
        "rerun": rerun.returncode,
        "rerun_err": rerun.stderr.strip().splitlines()[-1:] if rerun.returncode else [],
        "final": outputs(out),
        "leftovers": leftovers(out),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=2000)
    parser.add_argument(
        "--work", type=Path, help="folder for the corpus and trials (default: a temporary one)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the trial folders")
    args = parser.parse_args(argv)
    if not DATA.exists():
        print(f"bench/faults.py: shared data not found ({DATA}); perf_corpus needs it. Skipped.")
        return 0
    work = args.work or Path(tempfile.mkdtemp(prefix="newsclean-faults-"))
    work.mkdir(parents=True, exist_ok=True)
    corpus = work / "corpus"
    if not (corpus / "raw").is_dir():
        build(corpus, args.docs)
    raw = corpus / "raw"

    new_out, old_out = work / "new", work / "old"
    for folder in (new_out, old_out):
        shutil.rmtree(folder, ignore_errors=True)
    t = time.monotonic()
    done = run_quiet(raw, new_out)
    assert done.returncode == 0, done.stderr
    print(f"undisturbed run: {time.monotonic() - t:.1f}s", flush=True)
    new_set = outputs(new_out)
    # The old set: the same corpus with every fourth file held out (moved, not copied, so the
    # files that stay keep their stamps and the trials' runs are incremental).
    held = work / "held"
    files = sorted(p for p in raw.rglob("*") if p.is_file())[::4]
    for path in files:
        target = held / path.relative_to(raw)
        target.parent.mkdir(parents=True, exist_ok=True)
        path.rename(target)
    try:
        done = run_quiet(raw, old_out)
        assert done.returncode == 0, done.stderr
    finally:
        for path in files:
            (held / path.relative_to(raw)).rename(path)
    old_set = outputs(old_out)
    assert old_set != new_set

    rows = []
    results = []
    for n, (name, stage, condition) in enumerate(POINTS, start=1):
        out = work / f"trial-{n:02d}"
        shutil.rmtree(out, ignore_errors=True)
        result = trial(name, condition, raw, old_out, out)
        results.append(result)
        view = "old" if result["view"] == old_set else "new" if result["view"] == new_set else "MIXED"
        identical = result["final"] == new_set
        rows.append(
            [
                f"{n:2d} {name}",
                stage,
                f"{result['seconds']:.2f}" if result["hit"] else "ended first",
                result["exit"],
                view,
                f"{result['left']}/{result['children']}",
                result["rerun"],
                "yes" if identical else "NO",
                ", ".join(result["leftovers"]) or "none",
            ]
        )
        print(f"trial {n}: {rows[-1]}", flush=True)
        if not args.keep:
            shutil.rmtree(out, ignore_errors=True)
    print()
    table(
        ["kill point", "stage", "killed at s", "exit", "reader saw", "alive/children", "rerun exit",
         "final identical", "leftovers"],
        rows,
    )  # fmt: skip
    hits = sum(r["hit"] for r in results)
    whole = sum(r[4] in ("old", "new") for r in rows)
    identical = sum(r["final"] == new_set for r in results)
    orphans = sum(r["left"] for r in results)
    clean = sum(not r["leftovers"] for r in results)
    print(
        f"\nkilled at the point {hits}/{len(POINTS)}; reader saw a whole set {whole}/{len(POINTS)}; "
        f"final outputs byte-identical {identical}/{len(POINTS)}; processes left {orphans}; "
        f"no leftovers {clean}/{len(POINTS)}"
    )
    if not args.keep and args.work is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if identical == whole == clean == len(POINTS) and orphans == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
