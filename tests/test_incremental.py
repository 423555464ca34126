"""Incremental runs: only new and changed files are cleaned, deleted ones leave the output, and
the result equals a full rebuild byte for byte."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import sqlite3
from pathlib import Path

import pytest

import newsclean.run as run_module
from newsclean.fingerprint import settings_fingerprint
from newsclean.flows.executors.direct import DirectExecutor
from newsclean.report import RunSummary
from newsclean.run import RunOptions, run_pipeline
from newsclean.settings import CleaningOptions, DedupSettings, RunSettings, Settings
from newsclean.state import RunState, state_path
from support import INPUTS, SEEDS

LOG = logging.getLogger("test")
OUTPUTS = ("documents.jsonl", "canonical.jsonl", "quarantine.jsonl", "summary.json")


def run(raw: Path, out: Path, *, full: bool = False, settings: Settings | None = None) -> RunSummary:
    settings = settings or Settings(run=RunSettings(workers=1, batch_size=3))
    return run_pipeline(RunOptions(raw, out, settings, full=full), DirectExecutor(1), LOG)


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
        run=RunSettings(workers=2, batch_size=3), dedup=DedupSettings(threads=1, large_block_bytes=0)
    )
    summary = run(raw, out, settings=other)
    assert summary.outputs_current and "group" not in summary.seconds


def test_a_run_that_fails_before_writing_leaves_the_next_run_to_regroup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw, out = make_raw(tmp_path), tmp_path / "out"
    run(raw, out)
    (raw / "late.txt").write_text((SEEDS / "002_e5de64b388efb1a4.txt").read_text(encoding="utf-8"))

    def fail(*_args: object) -> None:
        raise RuntimeError("the disk filled up")

    monkeypatch.setattr(run_module, "write_outputs", fail)
    with pytest.raises(RuntimeError):
        run(raw, out)  # the state now holds late.txt; the outputs do not
    monkeypatch.undo()
    summary = run(raw, out)
    assert summary.files_cleaned == 0 and "group" in summary.seconds
    assert "late.txt" in (out / "documents.jsonl").read_text(encoding="utf-8")
    assert_same_as_full(raw, out, tmp_path)


def test_new_file_is_cleaned_alone_and_grouped_with_the_rest(tmp_path: Path) -> None:
    raw, out = make_raw(tmp_path), tmp_path / "out"
    run(raw, out)
    copy = raw / "wire" / "copy-of-002.txt"
    copy.parent.mkdir()
    text = (SEEDS / "002_e5de64b388efb1a4.txt").read_text(encoding="utf-8")
    copy.write_text(text.replace("March 17, 2021", "March 18, 2021"), encoding="utf-8")
    summary = run(raw, out)
    assert (summary.files_cleaned, summary.files_unchanged) == (1, 9)
    assert summary.relations.get("near_duplicate", 0) + summary.relations.get("exact_duplicate", 0) == 1
    assert_same_as_full(raw, out, tmp_path)


def test_changed_file_is_recleaned(tmp_path: Path) -> None:
    raw, out = make_raw(tmp_path), tmp_path / "out"
    run(raw, out)
    target = raw / "inputs" / "cp1252.txt"
    addition = "\nThe ferry will carry 400 passengers a day.\n".encode("cp1252")
    target.write_bytes(target.read_bytes() + addition)
    os.utime(target, ns=(target.stat().st_atime_ns, target.stat().st_mtime_ns + 1_000_000_000))
    summary = run(raw, out)
    assert (summary.files_cleaned, summary.files_unchanged) == (1, 8)
    assert "400 passengers" in (out / "documents.jsonl").read_text(encoding="utf-8")
    assert_same_as_full(raw, out, tmp_path)


def test_deleted_file_leaves_the_outputs(tmp_path: Path) -> None:
    raw, out = make_raw(tmp_path), tmp_path / "out"
    run(raw, out)
    (raw / "inputs" / "feed.jsonl").unlink()
    (raw / "inputs" / "empty.txt").unlink()
    summary = run(raw, out)
    assert (summary.files_cleaned, summary.files_deleted) == (0, 2)
    everything = "".join((out / name).read_text(encoding="utf-8") for name in OUTPUTS[:3])
    assert "feed.jsonl" not in everything and "empty.txt" not in everything
    assert_same_as_full(raw, out, tmp_path)


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
        db.execute("DELETE FROM outputs")  # so the next run regroups
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
