"""Incremental runs: only new and changed files are cleaned and grouped, deleted ones leave the
output, cluster ids stay (clusters only grow or merge, merges recorded), and --full after any
series of runs equals a fresh --full."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

import newsclean.stages.write as write_module
from newsclean.fingerprint import settings_fingerprint
from newsclean.flows.executors.direct import DirectExecutor
from newsclean.report import RunSummary
from newsclean.run import RunOptions, run_pipeline
from newsclean.settings import CleaningOptions, DedupSettings, RunSettings, Settings
from newsclean.state import RunState, model_folder, rows_folder, state_path
from support import INPUTS, SEEDS

LOG = logging.getLogger("test")
OUTPUTS = ("documents.jsonl", "canonical.jsonl", "quarantine.jsonl", "summary.json")


# Refreshes only when asked: these tests add a file or two to a corpus of ten.
INCREMENTAL = Settings(
    run=RunSettings(workers=1, batch_size=3), dedup=DedupSettings(snapshot_refresh_share=100.0)
)


def sharing(share: float, *, may_split: bool = False) -> Settings:
    """`INCREMENTAL` with another refresh share (and refreshes that may split)."""
    dedup = DedupSettings(snapshot_refresh_share=share, refresh_may_split=may_split)
    return INCREMENTAL.model_copy(update={"dedup": dedup})


def disk_full(*_args: object) -> None:
    """A write stage that fails (patched in for `write_outputs`)."""
    raise RuntimeError("the disk filled up")


def run(raw: Path, out: Path, *, full: bool = False, settings: Settings | None = None) -> RunSummary:
    settings = settings or INCREMENTAL
    return run_pipeline(RunOptions(raw, out, settings, full=full), DirectExecutor(1), LOG)


def clusters_of(out: Path) -> dict[str, str]:
    """Each document's cluster id."""
    lines = (out / "documents.jsonl").read_text(encoding="utf-8").splitlines()
    return {d["id"]: d["cluster_id"] for d in map(json.loads, lines)}


def merges(out: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in (out / "merges.jsonl").read_text(encoding="utf-8").splitlines()]


def followed(cluster_id: str, records: list[dict[str, object]]) -> str:
    """Where a cluster id leads through the recorded merges."""
    into = {str(m["retired_cluster_id"]): m["into_cluster_id"] for m in records}
    while cluster_id in into and into[cluster_id] is not None:
        cluster_id = str(into[cluster_id])
    return cluster_id


def add(raw: Path, name: str, text: str) -> Path:
    path = raw / "wire" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def seed(name: str) -> str:
    return next(SEEDS.glob(f"{name}_*.txt")).read_text(encoding="utf-8")


def outputs(out: Path) -> dict[str, str]:
    files = {name: out / name for name in OUTPUTS}
    files.update({f"canonical/{p.name}": p for p in (out / "canonical").glob("*.md")})
    return {name: hashlib.sha256(path.read_bytes()).hexdigest() for name, path in sorted(files.items())}


def make_raw(tmp_path: Path) -> Path:
    raw = tmp_path / "raw"
    shutil.copytree(SEEDS, raw / "seeds")
    for name in ("cp1252.txt", "mojibake.txt", "feed.jsonl", "empty.txt"):
        (raw / "inputs").mkdir(exist_ok=True)
        shutil.copy(INPUTS / name, raw / "inputs" / name)
    return raw


def assert_same_as_full(raw: Path, out: Path, tmp_path: Path) -> None:
    reference = tmp_path / "reference"
    shutil.rmtree(reference, ignore_errors=True)
    run(raw, reference, full=True)
    assert outputs(out) == outputs(reference)


def test_second_run_cleans_nothing_and_changes_nothing(tmp_path: Path) -> None:
    raw, out = make_raw(tmp_path), tmp_path / "out"
    first = run(raw, out)
    assert (first.files_cleaned, first.files_unchanged) == (9, 0)
    before = outputs(out)
    mtimes = {p: p.stat().st_mtime_ns for p in out.rglob("*.jsonl")}
    second = run(raw, out)
    assert (second.files_cleaned, second.files_unchanged, second.files_deleted) == (0, 9, 0)
    assert "group" not in second.seconds and second.outputs_current  # nothing regrouped
    assert not first.outputs_current
    assert (second.clusters, second.relations, second.candidate_pairs) == (
        first.clusters,
        first.relations,
        first.candidate_pairs,
    )
    assert outputs(out) == before
    # Unchanged outputs are not even rewritten.
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.jsonl")} == mtimes


def test_a_quiet_run_rebuilds_outputs_touched_since_the_last_run(tmp_path: Path) -> None:
    raw, out = make_raw(tmp_path), tmp_path / "out"
    run(raw, out)
    before = outputs(out)
    (out / "canonical.jsonl").unlink()
    next((out / "canonical").glob("*.md")).unlink()
    (out / "documents.jsonl").write_text("edited by hand\n", encoding="utf-8")
    (out / "canonical" / "c_stray.md").write_text("not ours", encoding="utf-8")
    summary = run(raw, out)
    assert summary.files_cleaned == 0 and "group" in summary.seconds
    assert outputs(out) == before


def test_changed_grouping_settings_regroup_without_recleaning(tmp_path: Path) -> None:
    raw, out = make_raw(tmp_path), tmp_path / "out"
    run(raw, out)
    apart = Settings(run=RunSettings(workers=1, batch_size=3), dedup=DedupSettings(linkage_threshold=0.9))
    summary = run(raw, out, settings=apart)
    assert summary.files_cleaned == 0 and "group" in summary.seconds
    reference = tmp_path / "reference"
    run(raw, reference, full=True, settings=apart)
    assert outputs(out) == outputs(reference)
    assert json.loads((out / "summary.json").read_text())["relations"].get("same_event", 0) == 0


def test_execution_settings_keep_the_outputs_current(tmp_path: Path) -> None:
    """Threads, the large-block threshold and workers change how a run executes, not what it
    writes: a run with other values finds the outputs current and regroups nothing."""
    raw, out = make_raw(tmp_path), tmp_path / "out"
    run(raw, out)
    other = Settings(
        run=RunSettings(workers=2, batch_size=3),
        dedup=DedupSettings(threads=1, large_block_bytes=0, snapshot_refresh_share=100.0),
    )
    summary = run(raw, out, settings=other)
    assert summary.outputs_current and "group" not in summary.seconds


def test_a_run_that_fails_before_writing_leaves_the_next_run_to_regroup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw, out = make_raw(tmp_path), tmp_path / "out"
    run(raw, out)
    add(raw, "late.txt", seed("002"))

    monkeypatch.setattr(write_module, "write_outputs", disk_full)  # the run imports it when it writes
    with pytest.raises(RuntimeError):
        run(raw, out)  # the state now holds late.txt; the outputs and the grouping model do not
    monkeypatch.undo()
    summary = run(raw, out)
    assert summary.files_cleaned == 0 and summary.grouping["mode"] == "incremental"
    assert summary.grouping["new"] == 1
    assert "late.txt" in (out / "documents.jsonl").read_text(encoding="utf-8")
    assert_full_is_fresh(raw, out, tmp_path)


def test_a_run_takes_the_changed_files_from_the_state_not_from_every_stamp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The state lists the files whose results changed since the kept model (`ungrouped`):
    cleaning adds them, keeping the next model empties the list, a failed run leaves it."""
    raw, out = make_raw(tmp_path), tmp_path / "out"
    run(raw, out)
    fingerprint = settings_fingerprint(INCREMENTAL)
    with RunState.open(out, fingerprint) as state:
        assert state.ungrouped() == ([], [])
    add(raw, "late.txt", seed("002"))
    (raw / "inputs" / "cp1252.txt").unlink()

    monkeypatch.setattr(write_module, "write_outputs", disk_full)
    with pytest.raises(RuntimeError):
        run(raw, out)
    monkeypatch.undo()
    with RunState.open(out, fingerprint) as state:
        assert state.ungrouped() == (["wire/late.txt"], ["inputs/cp1252.txt"])
    reads: list[int] = []
    stamps = RunState.stamps
    monkeypatch.setattr(RunState, "stamps", lambda self: reads.append(1) or stamps(self))
    summary = run(raw, out)
    monkeypatch.undo()
    assert summary.grouping["mode"] == "incremental" and summary.grouping["new"] == 1
    assert len(reads) == 1  # the plan's (the listing changed); the group stage reads none
    with RunState.open(out, fingerprint) as state:
        assert state.ungrouped() == ([], [])
    everything = (out / "documents.jsonl").read_text(encoding="utf-8")
    assert "late.txt" in everything and "cp1252.txt" not in everything
    assert_full_is_fresh(raw, out, tmp_path)


def assert_full_is_fresh(raw: Path, out: Path, tmp_path: Path) -> None:
    """`--full` in `out` after whatever ran there gives a fresh `--full`'s bytes."""
    run(raw, out, full=True)
    reference = tmp_path / "reference"
    shutil.rmtree(reference, ignore_errors=True)
    run(raw, reference, full=True)
    assert outputs(out) == outputs(reference)
    assert (out / "merges.jsonl").read_bytes() == b""


def test_ids_stay_across_incremental_runs(tmp_path: Path) -> None:
    raw, out = make_raw(tmp_path), tmp_path / "out"
    run(raw, out)
    seen = clusters_of(out)
    texts = [seed("002").replace("March 17, 2021", "March 18, 2021"), seed("000")[:1500], seed("004")]
    for k, text in enumerate(texts):
        add(raw, f"new-{k}.txt", text)
        summary = run(raw, out)
        assert summary.grouping["mode"] == "incremental" and summary.files_cleaned == 1, summary.grouping
        now = clusters_of(out)
        for doc_id, cluster_id in seen.items():
            assert now[doc_id] == followed(cluster_id, merges(out))
        assert len(now) == len(seen) + 1
        seen = now
    # Only new lines and the rows of clusters that changed were written; the rest streamed.
    rows = [json.loads(line) for line in (out / "canonical.jsonl").read_text(encoding="utf-8").splitlines()]
    assert {r["cluster_id"] for r in rows} == set(seen.values())
    assert {p.stem for p in (out / "canonical").glob("*.md")} == set(seen.values())
    summary_file = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary_file["documents"] == len(seen) and summary_file["clusters"] == len(rows)
    assert_full_is_fresh(raw, out, tmp_path)


def test_each_run_keeps_its_scoring_rows_and_a_lost_segment_regroups_everything(tmp_path: Path) -> None:
    """The model's scoring rows (`newsclean.dedup.rows`): a full grouping writes one segment, each
    incremental run with new stories one more, and the state folder holds only the segments the
    model names. A segment gone from the folder makes the next run regroup everything, with
    the same outputs as a fresh --full, not fail."""
    raw, out = make_raw(tmp_path), tmp_path / "out"
    run(raw, out)
    segments = rows_folder(out)
    assert [p.name.split("-")[0] for p in segments.iterdir()] == ["base"]
    add(raw, "new-0.txt", seed("000")[:1500])  # a new text (an exact copy would bring no rows)
    assert run(raw, out).grouping["mode"] == "incremental"
    kinds = sorted(p.name.split("-")[0] for p in segments.iterdir())
    assert kinds == ["base", "run"]
    run(raw, out)  # nothing new: no segment
    assert sorted(p.name.split("-")[0] for p in segments.iterdir()) == kinds
    (segments / "stray").mkdir()  # a segment left by a stopped run
    add(raw, "new-1.txt", seed("004")[:1200])
    assert run(raw, out).grouping["mode"] == "incremental"
    assert sorted(p.name.split("-")[0] for p in segments.iterdir()) == ["base", "run", "run"]
    shutil.rmtree(next(p for p in segments.iterdir() if p.name.startswith("run")))
    add(raw, "new-2.txt", seed("002")[:1800])
    assert run(raw, out).grouping["mode"] == "full"
    assert [p.name.split("-")[0] for p in segments.iterdir()] == ["base"]
    assert_same_as_full(raw, out, tmp_path)


def test_runs_do_not_import_datasketch(tmp_path: Path) -> None:
    """A full run and an incremental one take datasketch's permutations and LSH bands without
    importing it: its package loads scipy's integration routines, 0.7-0.8 s of every run that
    cleans or groups (`affine32_permutations`, `bands_for`; their tests check the values)."""
    raw, out = make_raw(tmp_path), tmp_path / "out"
    code = (
        "import logging, sys\n"
        "from pathlib import Path\n"
        "from newsclean.flows.executors.direct import DirectExecutor\n"
        "from newsclean.run import RunOptions, run_pipeline\n"
        "from newsclean.settings import DedupSettings, RunSettings, Settings\n"
        "settings = Settings(run=RunSettings(workers=1), dedup=DedupSettings(snapshot_refresh_share=100.0))\n"
        "raw, out = Path(sys.argv[1]), Path(sys.argv[2])\n"
        "def mode():\n"
        "    summary = run_pipeline(RunOptions(raw, out, settings), DirectExecutor(1), logging.getLogger())\n"
        "    return summary.grouping['mode']\n"
        "modes = [mode()]\n"
        "(raw / 'wire').mkdir()\n"
        "(raw / 'wire' / 'new.txt').write_text(sys.argv[3], encoding='utf-8')\n"
        "modes.append(mode())\n"
        "print(*modes, 'datasketch' in sys.modules, 'scipy.integrate' in sys.modules)\n"
    )
    args = [sys.executable, "-c", code, str(raw), str(out), seed("000")[:1500]]
    found = subprocess.run(args, capture_output=True, text=True, check=True).stdout.split()
    assert found == ["full", "incremental", "False", "False"]


@pytest.mark.parametrize("damage", ["cut short", "missing", "store names no file", "older store"])
def test_a_damaged_grouping_model_regroups_everything(tmp_path: Path, damage: str) -> None:
    """A kept model that cannot be read (its live file cut short or gone, the store's part not a
    file name, or the part as an older store kept it: the data itself) costs a full grouping,
    not the run."""
    raw, out = make_raw(tmp_path), tmp_path / "out"
    run(raw, out)
    (live,) = model_folder(out).iterdir()  # one live file: the last model's
    data = live.read_bytes()
    if damage == "cut short":
        live.write_bytes(data[: len(data) // 2])
    elif damage == "missing":
        live.unlink()
    else:
        db = sqlite3.connect(state_path(out))
        part = b"../../documents.jsonl" if damage == "store names no file" else data
        db.execute("UPDATE model SET value = ? WHERE key = 'live'", (part,))
        db.commit()
        db.close()
    add(raw, "new-0.txt", seed("000")[:1500])
    assert run(raw, out).grouping["mode"] == "full"
    assert [p.name for p in model_folder(out).iterdir()] != [live.name]  # the new model's file
    assert len(list(model_folder(out).iterdir())) == 1
    assert_same_as_full(raw, out, tmp_path)


def test_a_copy_of_two_stories_merges_their_clusters_and_the_older_id_stays(tmp_path: Path) -> None:
    raw, out = tmp_path / "raw", tmp_path / "out"
    raw.mkdir()
    (raw / "first.txt").write_text(seed("001"), encoding="utf-8")
    (raw / "other.txt").write_text(seed("000"), encoding="utf-8")
    run(raw, out)
    first_cluster = clusters_of(out)[_doc(out, "first.txt")]
    ferry = (INPUTS / "cp1252.txt").read_bytes().decode("cp1252")
    (raw / "second.txt").write_text(ferry, encoding="utf-8")
    run(raw, out)
    assert clusters_of(out)[_doc(out, "first.txt")] == first_cluster
    second_cluster = clusters_of(out)[_doc(out, "second.txt")]
    assert first_cluster != second_cluster
    # One text holding both stories: a copy of each (containment), so one unit, one cluster.
    (raw / "both.txt").write_text(seed("001") + "\n\n" + ferry, encoding="utf-8")
    summary = run(raw, out)
    assert summary.grouping["mode"] == "incremental" and summary.grouping["merged"] >= 1
    after = clusters_of(out)
    assert after[_doc(out, "first.txt")] == after[_doc(out, "second.txt")] == first_cluster  # the older id
    assert after[_doc(out, "both.txt")] == first_cluster
    recorded = merges(out)
    assert {"retired_cluster_id": second_cluster, "into_cluster_id": first_cluster, "run": 3} in recorded
    assert second_cluster not in {p.stem for p in (out / "canonical").glob("*.md")}
    assert_full_is_fresh(raw, out, tmp_path)


def test_a_refresh_that_may_split_undoes_a_merge_whose_bridge_left_and_records_it(tmp_path: Path) -> None:
    """A story holding two others merges their clusters; once it is deleted nothing joins them.
    By default they stay one cluster (clusters only grow or merge); with `refresh_may_split`
    the next refresh parts them, and `splits.jsonl` names the documents that changed id."""
    ferry = (INPUTS / "cp1252.txt").read_bytes().decode("cp1252")
    for may_split in (False, True):
        raw, out = tmp_path / f"raw-{may_split}", tmp_path / f"out-{may_split}"
        raw.mkdir()
        settings = sharing(0.01, may_split=may_split)
        (raw / "first.txt").write_text(seed("001"), encoding="utf-8")
        (raw / "other.txt").write_text(seed("000"), encoding="utf-8")
        (raw / "second.txt").write_text(ferry, encoding="utf-8")
        run(raw, out, settings=settings)
        (raw / "both.txt").write_text(seed("001") + "\n\n" + ferry, encoding="utf-8")
        assert run(raw, out, settings=settings).grouping["mode"] == "refresh"
        first, second = _doc(out, "first.txt"), _doc(out, "second.txt")
        joined = clusters_of(out)[first]
        assert clusters_of(out)[second] == joined
        (raw / "both.txt").unlink()
        assert run(raw, out, settings=settings).grouping["mode"] == "incremental"
        assert clusters_of(out)[first] == clusters_of(out)[second] == joined  # never split here
        before = clusters_of(out)
        add(raw, "late.txt", seed("004"))
        summary = run(raw, out, settings=settings)
        assert summary.grouping["mode"] == "refresh"
        after = clusters_of(out)
        lines = (out / "splits.jsonl").read_text(encoding="utf-8").splitlines()
        splits = [json.loads(line) for line in lines]
        if not may_split:
            assert after[first] == after[second] == joined and splits == []
            continue
        assert after[first] != after[second] and joined in (after[first], after[second])
        moved = second if after[first] == joined else first
        assert splits == [
            {"from_cluster_id": joined, "to_cluster_id": after[moved], "document_ids": [moved], "run": 4}
        ]
        assert summary.grouping["split"] == 1 and "1 documents split off" in summary.grouping_line()
        # Every other earlier document kept its id or followed a recorded merge.
        for doc_id, cluster_id in before.items():
            if doc_id != moved:
                assert after[doc_id] == followed(cluster_id, merges(out))
        assert_full_is_fresh(raw, out, tmp_path)
        assert (out / "splits.jsonl").read_bytes() == b""  # ids start afresh


@pytest.mark.parametrize("share", [0.01, 0.5])  # the id made again in a refresh, in an incremental run
def test_a_retired_id_is_never_issued_again(tmp_path: Path, share: float) -> None:
    """A merge in a refresh retires an id (`c_<document id>`); when that document later starts a
    cluster of its own, it gets another id, so `merges.jsonl` never leads a reader astray."""
    raw, out = tmp_path / "raw", tmp_path / "out"
    raw.mkdir()
    settings = sharing(share)
    ferry = (INPUTS / "cp1252.txt").read_bytes().decode("cp1252")
    (raw / "first.txt").write_text(seed("001"), encoding="utf-8")
    (raw / "second.txt").write_text(ferry, encoding="utf-8")
    run(raw, out, settings=settings)
    (raw / "both.txt").write_text(seed("001") + "\n\n" + ferry, encoding="utf-8")
    assert run(raw, out, settings=settings).grouping["mode"] == "refresh"
    [merge] = merges(out)
    retired = str(merge["retired_cluster_id"])
    named = next(name for name in ("first.txt", "second.txt") if retired == f"c_{_doc(out, name)}")
    changed = raw / named
    other_story = (INPUTS / "mojibake.txt").read_text(encoding="utf-8")  # a union's talks
    changed.write_text(other_story, encoding="utf-8")  # a cluster of its own
    os.utime(changed, ns=(changed.stat().st_atime_ns, changed.stat().st_mtime_ns + 1_000_000_000))
    summary = run(raw, out, settings=settings)
    assert summary.grouping["mode"] == ("refresh" if share < 0.1 else "incremental")
    now = clusters_of(out)
    assert now[_doc(out, named)] not in {now[_doc(out, "both.txt")], retired}
    assert not set(now.values()) & {str(m["retired_cluster_id"]) for m in merges(out)}


def _doc(out: Path, source_path: str) -> str:
    lines = (out / "documents.jsonl").read_text(encoding="utf-8").splitlines()
    return next(d["id"] for d in map(json.loads, lines) if d["source_path"] == source_path)


@pytest.mark.parametrize(("share", "mode"), [(100.0, "incremental"), (0.01, "refresh")])
def test_a_changed_file_moves_its_document_and_an_emptied_cluster_is_retired(
    tmp_path: Path, share: float, mode: str
) -> None:
    settings = sharing(share)
    raw, out = tmp_path / "raw", tmp_path / "out"
    raw.mkdir()
    ferry = (INPUTS / "cp1252.txt").read_bytes().decode("cp1252")
    (raw / "alone.txt").write_text(ferry, encoding="utf-8")
    (raw / "story.txt").write_text(seed("002"), encoding="utf-8")
    (raw / "copy.txt").write_text(seed("002"), encoding="utf-8")
    run(raw, out, settings=settings)
    before = clusters_of(out)
    moving = _doc(out, "alone.txt")
    left = before[moving]
    target = before[_doc(out, "story.txt")]
    assert left != target
    changed = raw / "alone.txt"
    changed.write_text(seed("002").replace("Tuesday", "Tuesday morning"), encoding="utf-8")
    os.utime(changed, ns=(changed.stat().st_atime_ns, changed.stat().st_mtime_ns + 1_000_000_000))
    summary = run(raw, out, settings=settings)
    assert summary.files_cleaned == 1 and summary.grouping["mode"] == mode
    after = clusters_of(out)
    assert after[moving] == target  # the same document id, now in the cluster its new text joins
    assert {"retired_cluster_id": left, "into_cluster_id": None, "run": 2} in merges(out)
    assert left not in set(after.values())
    assert "Tuesday morning" in (out / "documents.jsonl").read_text(encoding="utf-8")
    assert_full_is_fresh(raw, out, tmp_path)


@pytest.mark.parametrize(("share", "mode"), [(100.0, "incremental"), (0.01, "refresh")])
def test_a_deleted_file_leaves_the_outputs_and_its_emptied_cluster_is_retired(
    tmp_path: Path, share: float, mode: str
) -> None:
    settings = sharing(share)
    raw, out = make_raw(tmp_path), tmp_path / "out"
    run(raw, out, settings=settings)
    gone_doc = _doc(out, "inputs/cp1252.txt")
    gone_cluster = clusters_of(out)[gone_doc]
    assert [d for d, c in clusters_of(out).items() if c == gone_cluster] == [gone_doc]  # the lone ferry story
    (raw / "inputs" / "feed.jsonl").unlink()
    (raw / "inputs" / "cp1252.txt").unlink()
    add(raw, "late.txt", seed("003"))  # one new file: with the small share, a refresh
    summary = run(raw, out, settings=settings)
    assert (summary.files_cleaned, summary.files_deleted, summary.grouping["mode"]) == (1, 2, mode)
    everything = "".join((out / name).read_text(encoding="utf-8") for name in OUTPUTS[:3])
    assert "feed.jsonl" not in everything and "cp1252.txt" not in everything
    assert {"retired_cluster_id": gone_cluster, "into_cluster_id": None, "run": 2} in merges(out)
    assert not (out / "canonical" / f"{gone_cluster}.md").exists()
    assert_full_is_fresh(raw, out, tmp_path)


def test_a_refresh_regroups_with_fresh_statistics_and_keeps_ids(tmp_path: Path) -> None:
    raw, out = make_raw(tmp_path), tmp_path / "out"
    run(raw, out)
    before = clusters_of(out)
    add(raw, "new.txt", seed("004").replace("the", "this"))
    refresh = sharing(0.01)
    # The share is a grouping setting: a first run under it groups everything afresh (ids too),
    # so the refresh is compared with the run before it under the same settings.
    run(raw, out, settings=refresh)
    before = clusters_of(out)
    add(raw, "newer.txt", seed("001")[:2000])
    summary = run(raw, out, settings=refresh)
    assert summary.grouping["mode"] == "refresh"
    after = clusters_of(out)
    for doc_id, cluster_id in before.items():
        assert after[doc_id] == followed(cluster_id, merges(out))


def test_changed_cleaning_settings_rebuild_the_state(tmp_path: Path) -> None:
    raw, out = make_raw(tmp_path), tmp_path / "out"
    run(raw, out)
    other = Settings(run=RunSettings(workers=1, batch_size=3), cleaning=CleaningOptions(photo_blocks=False))
    summary = run(raw, out, settings=other)
    assert summary.files_cleaned == 9
    documents = (out / "documents.jsonl").read_text(encoding="utf-8")
    assert "Photo By:" not in documents  # the credit rule still runs...
    assert "Blackhawk Takeoff" in documents  # ...but the caption above it now stays


def test_state_is_a_transactional_sqlite_file(tmp_path: Path) -> None:
    raw, out = make_raw(tmp_path), tmp_path / "out"
    run(raw, out)
    path = state_path(out)
    assert path.is_file() and path.read_bytes()[:16] == b"SQLite format 3\x00"
    with RunState.open(out, "another fingerprint") as state:
        assert state.stamps() == {}  # a foreign fingerprint empties the store rather than trusting it


def test_a_store_of_the_old_schema_is_rebuilt_not_misread(tmp_path: Path) -> None:
    """A store written before signatures had a column of their own (schema 1: the signature as
    base64 inside the JSON record) is emptied and its results table made again; the next run
    cleans everything and gives the full run's output."""
    raw, out = make_raw(tmp_path), tmp_path / "out"
    run(raw, out)
    fingerprint = settings_fingerprint(Settings(run=RunSettings(workers=1, batch_size=3)))
    db = sqlite3.connect(state_path(out))
    with db:
        db.execute("DROP TABLE results")
        db.execute("CREATE TABLE results (path TEXT NOT NULL, seq INTEGER NOT NULL, payload TEXT NOT NULL)")
        db.execute("INSERT INTO results VALUES ('seeds/x.txt', 0, '{\"document\": {}}')")
        db.execute("UPDATE meta SET value = '1' WHERE key = 'schema'")
    db.close()
    with RunState.open(out, fingerprint) as state:
        assert state.stamps() == {} and list(state.results()) == []
        columns = [row[1] for row in state.db.execute("PRAGMA table_info(results)")]
    assert columns == ["path", "seq", "payload", "signature", "line_keys"]
    summary = run(raw, out)
    assert summary.files_cleaned == 9
    assert_same_as_full(raw, out, tmp_path)


def test_a_document_stored_without_its_signature_is_an_error_not_a_lost_document(tmp_path: Path) -> None:
    """A damaged store (a document row that lost its signature) stops the grouping with the
    document's id, instead of grouping without it and losing it from the output."""
    raw, out = make_raw(tmp_path), tmp_path / "out"
    run(raw, out)
    db = sqlite3.connect(state_path(out))
    with db:
        (path,) = db.execute("SELECT path FROM results WHERE signature IS NOT NULL ORDER BY path").fetchone()
        db.execute("UPDATE results SET signature = NULL WHERE path = ?", (path,))
        db.execute("DELETE FROM outputs")  # so the next run regroups ...
        db.execute("DELETE FROM model")  # ... everything
    db.close()
    with pytest.raises(ValueError, match="stored without its signature"):
        run(raw, out)


def test_the_state_keeps_each_documents_line_keys(tmp_path: Path) -> None:
    """Outlet line statistics are counted from keys the cleaning workers stored with each
    document, so a later run keys only its new documents' lines."""
    from newsclean.corpus import LineKeys

    raw, out = make_raw(tmp_path), tmp_path / "out"
    run(raw, out)
    settings = Settings(run=RunSettings(workers=1, batch_size=3))
    with RunState.open(out, settings_fingerprint(settings)) as state:
        results = [r for r in state.results(line_keys=True) if "document" in r.line]
    assert results
    assert all(r.signature is None for r in results)  # not asked for: left on disk
    max_words = settings.cleaning.repeated_line_max_words
    stored = [LineKeys.from_bytes(r.line_keys or b"") for r in results]
    made = [LineKeys.of(r.line["document"]["text"], max_words) for r in results]
    assert [k.hashes.tolist() for k in stored] == [k.hashes.tolist() for k in made]
    assert [k.positions.tolist() for k in stored] == [k.positions.tolist() for k in made]
    assert sum(len(k.hashes) for k in stored) > 0


def test_a_run_with_nothing_new_imports_nothing_past_the_plan(tmp_path: Path) -> None:
    """A scheduled run that finds nothing new ends after the plan; the cleaners, the grouping
    and Prefect are imported only by a run with work for them (they cost seconds of imports,
    more than the plan itself at 100k files). Checked in a fresh interpreter, as `newsclean
    run` starts."""
    raw, out = make_raw(tmp_path), tmp_path / "out"
    run(raw, out, settings=Settings())  # the settings `newsclean run` uses without a file
    code = (
        "import sys\n"
        "from newsclean.flows.cli import main\n"
        f"status = main(['run', '--raw', {str(raw)!r}, '--out', {str(out)!r}, '--quiet', '--no-prefect'])\n"
        "heavy = ('newsclean.cleaners', 'newsclean.dedup', 'newsclean.sources', 'prefect', 'numpy', 'ftfy')\n"
        "loaded = sorted({m for m in sys.modules if m.startswith(heavy)})\n"
        "print('status', status, 'loaded', loaded)\n"
    )
    shown = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    assert "the outputs were already current" in shown.stdout
    assert shown.stdout.splitlines()[-1] == "status 0 loaded []"
