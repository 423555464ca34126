"""The plan's shortcut for a raw folder as the last run left it: a walk whose digest is the one
the state's stamps were recorded from plans nothing and never reads the stamps; any change to a
file's stamp, a new, deleted or unusable entry makes it read and compare them as before."""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

import pytest

from newsclean.flows.executors.direct import DirectExecutor
from newsclean.run import RunOptions, run_pipeline
from newsclean.settings import RunSettings, Settings
from newsclean.stages.plan import plan_batches
from newsclean.state import FileStamp, RunState
from support import SEEDS

RUN = RunSettings(workers=1, batch_size=2)


def recorded(raw: Path, tmp_path: Path) -> tuple[dict[str, FileStamp], str]:
    """The stamps a run stores for `raw`, and the listing it records with them."""
    plan = plan_batches(raw, tmp_path, RUN, {})
    assert plan.listing is not None
    return dict(plan.stamps), plan.listing


def never() -> dict[str, FileStamp]:
    raise AssertionError("the stamps were read")


def test_an_unchanged_walk_plans_nothing_without_reading_the_stamps(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    shutil.copytree(SEEDS, raw / "a")
    known, listing = recorded(raw, tmp_path)
    plan = plan_batches(raw, tmp_path, RUN, never, listing)
    full = plan_batches(raw, tmp_path, RUN, known)  # the comparison the shortcut stands for
    assert (plan.specs, plan.deleted, plan.unchanged, plan.files) == ([], [], 5, 5)
    assert (full.specs, full.deleted, full.unchanged, full.files) == ([], [], 5, 5)
    assert plan.listing == full.listing == listing


@pytest.mark.parametrize("change", ["mtime", "ctime", "new", "deleted", "dangling link", "renamed"])
def test_any_change_reads_and_compares_the_stamps(tmp_path: Path, change: str) -> None:
    raw = tmp_path / "raw"
    shutil.copytree(SEEDS, raw / "a")
    known, listing = recorded(raw, tmp_path)
    first = sorted((raw / "a").iterdir())[0]
    if change == "mtime":  # same size, content rewritten in place
        os.utime(first, ns=(first.stat().st_atime_ns, first.stat().st_mtime_ns + 1))
    elif change == "ctime":  # only the inode changed (a hard link made): the plan's stamp has it
        os.link(first, tmp_path / "elsewhere")
    elif change == "new":
        (raw / "a" / "new.txt").write_text("A new story.\n", encoding="utf-8")
    elif change == "deleted":
        first.unlink()
    elif change == "dangling link":
        (raw / "gone.txt").symlink_to(raw / "missing.txt")
    else:
        first.rename(first.with_name("0" + first.name))
    reads: list[int] = []

    def load() -> dict[str, FileStamp]:
        reads.append(1)
        return known

    plan = plan_batches(raw, tmp_path, RUN, load, listing)
    assert reads == [1]
    assert plan.listing != listing
    planned = [p for spec in plan.specs for p in spec.paths]
    expected = {
        "mtime": ([f"a/{first.name}"], []),
        "ctime": ([f"a/{first.name}"], []),
        "new": (["a/new.txt"], []),
        "deleted": ([], [f"a/{first.name}"]),
        "dangling link": (["gone.txt"], []),
        "renamed": ([f"a/0{first.name}"], [f"a/{first.name}"]),
    }[change]
    assert (planned, plan.deleted) == expected
    if change == "dangling link":  # planned on every run: no listing stands for it
        assert plan.listing is None


def test_a_run_with_nothing_new_does_not_read_the_stamps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = tmp_path / "raw"
    shutil.copytree(SEEDS, raw)
    out = tmp_path / "out"
    settings = Settings(run=RunSettings(workers=1))
    log = logging.getLogger("test")

    def run() -> tuple[bool, int]:
        summary = run_pipeline(RunOptions(raw, out, settings), DirectExecutor(1), log)
        return summary.outputs_current, summary.files_cleaned

    assert run() == (False, 5)
    stamps = RunState.stamps
    with monkeypatch.context() as patched:
        patched.setattr(RunState, "stamps", lambda self: never())
        assert run() == (True, 0)
    first = sorted(raw.iterdir())[0]
    os.utime(first, ns=(first.stat().st_atime_ns, first.stat().st_mtime_ns + 1))
    assert RunState.stamps is stamps
    assert run() == (False, 1)  # read, compared: the touched file cleaned again
    assert run() == (True, 0)
