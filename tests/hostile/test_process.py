"""Hostile conditions for the run's process: killed runs, orphaned workers, stale and stolen
locks, a corrupt run state, bad settings and command lines. Every case is a real `newsclean run`
in a subprocess, with real signals; no test sleeps for timing: each waits for something it can
observe (a progress line, a child process, a file) with a deadline."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from support import INPUTS, SEEDS

CLI = [sys.executable, "-m", "newsclean.flows.cli", "run", "--no-prefect"]
DEADLINE = 120.0


def make_raw(tmp_path: Path, copies: int = 1) -> Path:
    """The sample articles under `copies` outlet folders, plus the odd inputs once."""
    raw = tmp_path / "raw"
    for n in range(copies):
        shutil.copytree(SEEDS, raw / f"outlet{n:02d}")
    shutil.copytree(INPUTS, raw / "inputs")
    return raw


def run_cli(*args: str | Path, timeout: float = DEADLINE) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True, timeout=timeout)


def start_cli(*args: str | Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*CLI, *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def wait_for(condition: Callable[[], object], what: str, timeout: float = DEADLINE) -> object:
    """Poll `condition` until it returns something true; fail naming `what` after `timeout`."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        found = condition()
        if found:
            return found
        time.sleep(0.005)  # a polling interval, not a guess at timing
    pytest.fail(f"timed out waiting for {what}")


def children(pid: int) -> list[int]:
    """Processes whose parent is `pid` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat[stat.rfind(")") + 2 :].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return not stat[stat.rfind(")") + 2 :].startswith("Z")


def wait_for_line(process: subprocess.Popen[str], needle: str) -> list[str]:
    """Read the run's stderr (its progress lines when piped) until a line holds `needle`."""
    assert process.stderr is not None
    seen: list[str] = []
    end = time.monotonic() + DEADLINE
    while time.monotonic() < end:
        line = process.stderr.readline()
        if not line:
            pytest.fail(f"the run ended before printing {needle!r}: {seen}")
        seen.append(line)
        if needle in line:
            return seen
    pytest.fail(f"no {needle!r} line: {seen}")


def outputs(out: Path) -> dict[str, str]:
    """The output set a reader sees at the contract's paths: name -> sha256."""
    names = ["documents.jsonl", "canonical.jsonl", "quarantine.jsonl", "summary.json"]
    names += sorted(f"canonical/{p.name}" for p in (out / "canonical").glob("*.md"))
    return {n: hashlib.sha256((out / n).read_bytes()).hexdigest() for n in names if (out / n).exists()}


def leftovers(out: Path) -> list[str]:
    """Work folders, temporary files and generations beyond the current and previous one."""
    found = [p.name for p in out.iterdir() if p.name.startswith(".work-") or p.name.endswith(".tmp")]
    generations = out / ".newsclean" / "generations"
    if generations.is_dir() and len(list(generations.iterdir())) > 2:
        found.append(f"{len(list(generations.iterdir()))} generations")
    return found


@pytest.fixture
def reference(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Path], dict[str, str]]:
    """The outputs of an undisturbed full run over a raw folder."""

    def build(raw: Path) -> dict[str, str]:
        out = tmp_path_factory.mktemp("reference") / "out"
        done = run_cli("--raw", raw, "--out", out, "--quiet", "--workers", "1")
        assert done.returncode == 0, done.stderr
        return outputs(out)

    return build


# 1. Killed runs: workers die with the run; the lock is never stuck -----------------------------


def test_sigkill_during_cleaning_takes_the_workers_along_and_frees_the_lock(
    tmp_path: Path, reference: Callable[[Path], dict[str, str]]
) -> None:
    raw, out = make_raw(tmp_path, copies=30), tmp_path / "out"
    run = start_cli("--raw", raw, "--out", out, "--workers", "2", "--batch-size", "10")
    workers = wait_for(lambda: len(kids := children(run.pid)) >= 2 and kids, "two cleaning workers")
    assert isinstance(workers, list)
    wait_for_line(run, "clean batch")  # workers are cleaning
    run.kill()
    assert run.wait(DEADLINE) == -signal.SIGKILL
    wait_for(lambda: not any(alive(pid) for pid in workers), "the workers to die with the run")
    again = run_cli("--raw", raw, "--out", out, "--workers", "2", "--batch-size", "10")
    assert again.returncode == 0, again.stderr
    assert "another newsclean run" not in again.stderr
    assert outputs(out) == reference(raw)
    assert leftovers(out) == []


def test_sigterm_stops_the_run_cleanly(tmp_path: Path, reference: Callable[[Path], dict[str, str]]) -> None:
    raw, out = make_raw(tmp_path, copies=30), tmp_path / "out"
    run = start_cli("--raw", raw, "--out", out, "--workers", "2", "--batch-size", "10")
    workers = wait_for(lambda: len(kids := children(run.pid)) >= 2 and kids, "two cleaning workers")
    assert isinstance(workers, list)
    wait_for_line(run, "clean batch")
    run.send_signal(signal.SIGTERM)
    _, err = run.communicate(timeout=DEADLINE)
    assert run.returncode == 128 + signal.SIGTERM, err
    assert "stopped by SIGTERM" in err and "Traceback" not in err
    assert not any(alive(pid) for pid in workers)
    assert leftovers(out) == [] and not (out / "documents.jsonl").exists()
    assert (out / ".newsclean.lock").read_text() == ""  # released, no holder recorded
    again = run_cli("--raw", raw, "--out", out, "--quiet")
    assert again.returncode == 0, again.stderr
    assert outputs(out) == reference(raw)


ORPHAN_MAKER = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    from newsclean.lock import output_lock
    out = Path(sys.argv[1])
    with output_lock(out):
        child = os.fork()
        if child == 0:  # an orphan to be: keeps the inherited lock descriptor, as old workers did
            time.sleep(600)
            os._exit(0)
        Path(sys.argv[2]).write_text(str(child))
        os.kill(os.getpid(), 9)
    """
)


def test_a_lock_held_by_the_orphans_of_a_dead_run_is_taken_over(
    tmp_path: Path, reference: Callable[[Path], dict[str, str]]
) -> None:
    raw, out, pid_file = make_raw(tmp_path), tmp_path / "out", tmp_path / "orphan.pid"
    maker = subprocess.run([sys.executable, "-c", ORPHAN_MAKER, str(out), str(pid_file)], timeout=DEADLINE)
    assert maker.returncode == -signal.SIGKILL
    orphan = int(pid_file.read_text())
    try:
        assert alive(orphan)
        holder = (out / ".newsclean.lock").read_text().split()
        assert int(holder[0]) != orphan and not alive(int(holder[0]))  # the dead run is recorded
        done = run_cli("--raw", raw, "--out", out)
        assert done.returncode == 0, done.stderr
        assert f"pid {holder[0]}) is gone" in done.stdout  # the summary's warning
        assert "taken over" in done.stdout
        assert outputs(out) == reference(raw)
        # The new lock file is held by nobody now; the next run needs no takeover.
        quiet = run_cli("--raw", raw, "--out", out)
        assert quiet.returncode == 0 and "taken over" not in quiet.stdout + quiet.stderr
    finally:
        os.kill(orphan, signal.SIGKILL)


def test_a_live_holder_is_still_refused(tmp_path: Path) -> None:
    raw, out = make_raw(tmp_path), tmp_path / "out"
    run = start_cli("--raw", raw, "--out", out)
    try:
        wait_for_line(run, "plan")  # the lock is held from before the plan
        run.send_signal(signal.SIGSTOP)  # alive, holding the lock, going nowhere
        refused = run_cli("--raw", raw, "--out", out)
        assert refused.returncode == 3
        assert f"(pid {run.pid})" in refused.stderr and "taken over" not in refused.stderr
    finally:
        run.send_signal(signal.SIGCONT)
        run.communicate(timeout=DEADLINE)
    assert run.returncode == 0


# 2. A corrupt run state ------------------------------------------------------------------------


def _garbage_header(path: Path) -> None:
    with path.open("r+b") as handle:
        handle.write(os.urandom(100))


def _half_truncated(path: Path) -> None:
    size = path.stat().st_size
    with path.open("r+b") as handle:
        handle.truncate(size // 2)


def _garbage(path: Path) -> None:
    path.write_bytes(b"not a database at all\n" * 500)


@pytest.mark.parametrize(
    ("damage", "full"), [(_garbage_header, False), (_half_truncated, True), (_garbage, False)]
)
def test_a_corrupt_run_state_is_set_aside_and_the_run_is_full(
    tmp_path: Path,
    reference: Callable[[Path], dict[str, str]],
    damage: Callable[[Path], None],
    full: bool,
) -> None:
    raw, out = make_raw(tmp_path, copies=3), tmp_path / "out"
    assert run_cli("--raw", raw, "--out", out, "--quiet").returncode == 0
    state = out / ".newsclean" / "state.sqlite"
    damage(state)
    done = run_cli("--raw", raw, "--out", out, *(["--full"] if full else []))
    assert done.returncode == 0, done.stderr
    assert "warning: the run state" in done.stdout and "could not be read" in done.stdout
    assert "could not be read" in done.stderr  # the log's warning
    aside = list(state.parent.glob("state.sqlite.corrupt-*"))
    assert len([p for p in aside if not p.name.endswith(("-wal", "-shm"))]) == 1
    assert f"{len(list(raw.rglob('*.*')))} new or changed" in done.stdout  # a full run
    assert outputs(out) == reference(raw)
    again = run_cli("--raw", raw, "--out", out)
    assert again.returncode == 0 and "warning" not in again.stdout
    assert "outputs were already current" in again.stdout


# 6. Killed while writing: readers see one whole set; leftovers go ---------------------------


def test_killed_while_writing_leaves_the_old_set_whole_and_the_next_run_cleans_up(
    tmp_path: Path, reference: Callable[[Path], dict[str, str]]
) -> None:
    raw, out = make_raw(tmp_path, copies=4), tmp_path / "out"
    assert run_cli("--raw", raw, "--out", out, "--quiet").returncode == 0
    old = outputs(out)
    shutil.copytree(SEEDS, raw / "late")  # the next run has new work
    new = reference(raw)
    run = start_cli("--raw", raw, "--out", out)
    wait_for_line(run, "write outputs")
    run.kill()
    assert run.wait(DEADLINE) == -signal.SIGKILL
    seen = outputs(out)
    assert seen in (old, new)  # the whole old set or the whole new set, never a mix
    # What killed runs leave behind, planted as well: a work folder, temporary files, a partial
    # generation. The next run removes them (under the lock) and publishes the whole new set.
    (out / ".work-abandoned").mkdir()
    (out / ".work-abandoned" / "batch-00001.jsonl").write_text("{}\n")
    (out / ".documents.jsonl.x1y2.tmp").write_text("partial")
    partial = out / ".newsclean" / "generations" / "999999"
    (partial / "canonical").mkdir(parents=True)
    (partial / "documents.jsonl").write_text("partial")
    done = run_cli("--raw", raw, "--out", out, "--quiet")
    assert done.returncode == 0, done.stderr
    assert outputs(out) == new
    assert leftovers(out) == [] and not partial.exists()
    assert os.readlink(out / "documents.jsonl") == "current/documents.jsonl"


def test_outputs_are_switched_as_one_unit_and_stay_current(tmp_path: Path) -> None:
    raw, out = make_raw(tmp_path, copies=2), tmp_path / "out"
    assert run_cli("--raw", raw, "--out", out, "--quiet").returncode == 0
    first = os.readlink(out / "current")
    documents = (out / "documents.jsonl").stat()
    again = run_cli("--raw", raw, "--out", out)
    assert again.returncode == 0 and "outputs were already current" in again.stdout
    assert os.readlink(out / "current") == first  # nothing published, nothing rewritten
    shutil.copytree(SEEDS, raw / "late")
    assert run_cli("--raw", raw, "--out", out, "--quiet").returncode == 0
    second = os.readlink(out / "current")
    assert second != first and (out / first).is_dir()  # the previous set stays for its readers
    assert (out / "documents.jsonl").stat().st_ino != documents.st_ino
    assert sorted(p.name for p in out.iterdir()) == [
        ".newsclean", ".newsclean.lock", "canonical", "canonical.jsonl", "current",
        "documents.jsonl", "merges.jsonl", "quarantine.jsonl", "splits.jsonl", "summary.json",
    ]  # fmt: skip


def test_output_written_before_generations_is_adopted(
    tmp_path: Path, reference: Callable[[Path], dict[str, str]]
) -> None:
    """An output folder of plain files (an older newsclean's) becomes generation links."""
    raw, out = make_raw(tmp_path), tmp_path / "out"
    assert run_cli("--raw", raw, "--out", out, "--quiet").returncode == 0
    expected = outputs(out)
    generation = out / os.readlink(out / "current")
    for link in ["documents.jsonl", "canonical.jsonl", "quarantine.jsonl", "summary.json"]:
        (out / link).unlink()
        shutil.copy(generation / link, out / link)
    (out / "canonical").unlink()
    shutil.copytree(generation / "canonical", out / "canonical")
    (out / "current").unlink()
    shutil.rmtree(out / ".newsclean" / "generations")
    done = run_cli("--raw", raw, "--out", out, "--quiet")
    assert done.returncode == 0, done.stderr
    assert outputs(out) == expected == reference(raw)
    assert (out / "canonical").is_symlink() and (out / "documents.jsonl").is_symlink()


# 10. Enumerated settings -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ('{"decode": {"normalization": "XYZ"}}', "decode.normalization"),
        ('{"cleaning": {"html_extractor": "nonsense"}}', "cleaning.html_extractor"),
        ('{"cleaning": {"html_favor": "most"}}', "cleaning.html_favor"),
    ],
)
def test_an_unknown_enumerated_setting_is_a_usage_error(tmp_path: Path, settings: str, named: str) -> None:
    raw, out = make_raw(tmp_path), tmp_path / "out"
    (tmp_path / "settings.json").write_text(settings)
    done = run_cli("--raw", raw, "--out", out, "--settings", tmp_path / "settings.json")
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert named in line and "Input should be" in line
    assert not out.exists()  # nothing quarantined, nothing written


def test_known_enumerated_settings_run(tmp_path: Path) -> None:
    raw, out = make_raw(tmp_path), tmp_path / "out"
    settings = '{"decode": {"normalization": null}, "cleaning": {"html_extractor": "beautifulsoup"}}'
    (tmp_path / "settings.json").write_text(settings)
    done = run_cli("--raw", raw, "--out", out, "--settings", tmp_path / "settings.json", "--quiet")
    assert done.returncode == 0, done.stderr
    assert "read error" not in (out / "quarantine.jsonl").read_text()


# 12. Command-line values -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "value"),
    [("--batch-size", "0"), ("--batch-size", "-5"), ("--workers", "0"), ("--workers", "-1")],
)
def test_bad_numbers_on_the_command_line_are_usage_errors(tmp_path: Path, option: str, value: str) -> None:
    raw, out = make_raw(tmp_path), tmp_path / "out"
    done = run_cli("--raw", raw, "--out", out, option, value)
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith(f"newsclean: bad settings: {option}: ") and f"(got {value})" in line
    assert "Traceback" not in done.stderr and not out.exists()


def test_workers_are_capped_at_the_cores(tmp_path: Path) -> None:
    raw, out = make_raw(tmp_path, copies=4), tmp_path / "out"
    done = run_cli("--raw", raw, "--out", out, "--workers", "1000000", "--batch-size", "2")
    assert done.returncode == 0, done.stderr
    cores = len(os.sched_getaffinity(0))
    assert f"workers capped at {cores} (the cores available), not 1000000" in done.stderr
    (line,) = [x for x in done.stderr.splitlines() if " batches on " in x or " batch on " in x]
    assert line.strip().endswith(f"on {cores} worker{'s' if cores > 1 else ''}")


@pytest.mark.parametrize("where", ["equal", "inside"])
def test_an_output_folder_in_the_raw_folder_is_a_usage_error(tmp_path: Path, where: str) -> None:
    raw = make_raw(tmp_path)
    out = raw if where == "equal" else raw / "outlet00" / "clean"
    before = sorted(p.as_posix() for p in raw.rglob("*"))
    done = run_cli("--raw", raw, "--out", out)
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert "must not be the raw folder" in line
    assert sorted(p.as_posix() for p in raw.rglob("*")) == before  # nothing created in raw/


# 7. A closed standard output ------------------------------------------------------------------


def test_a_reader_that_closed_stdout_ends_the_command_quietly(tmp_path: Path) -> None:
    """`newsclean explain FILE | head`: the reader is gone before anything is written; the command
    ends with 128 + SIGPIPE and no traceback (SIGPIPE itself stays ignored, see `main`)."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "newsclean.flows.cli", "explain", str(sorted(INPUTS.glob("*.txt"))[0])],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=DEADLINE,
        )
    finally:
        os.close(write_end)
    assert done.returncode == 128 + signal.SIGPIPE, done.stderr
    assert "Traceback" not in done.stderr
