"""The whole run on real inputs: the output contract, the gold grouping, and the run's guarantees."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import threading
from pathlib import Path

import pytest

from newsclean.flows.cli import EXIT_LOCKED, main
from newsclean.flows.executors.direct import DirectExecutor
from newsclean.lock import OutputLocked, output_lock
from newsclean.run import RunOptions, run_pipeline
from newsclean.settings import RunSettings, Settings
from newsclean.stages.plan import batch_count, plan_batches
from support import GOLD, INPUTS, SEEDS

LOG = logging.getLogger("test")
OUTPUT_FILES = ("documents.jsonl", "canonical.jsonl", "quarantine.jsonl", "summary.json")


def run(raw: Path, out: Path, workers: int = 1, batch_size: int = 500) -> None:
    settings = Settings(run=RunSettings(workers=workers, batch_size=batch_size))
    run_pipeline(RunOptions(raw, out, settings), DirectExecutor(workers), LOG)


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def tree_digest(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        # The lock and the run state are the run's own, not output.
        if p.is_file() and not p.relative_to(root).as_posix().startswith(".newsclean")
    }


def test_seeds_match_gold(seeds_raw: Path, tmp_path: Path) -> None:
    out = tmp_path / "clean"
    assert main(["run", "--raw", str(seeds_raw), "--out", str(out), "--no-prefect", "--quiet"]) == 0
    gold = json.loads(GOLD.read_text(encoding="utf-8"))
    docs = {d["source_path"]: d for d in read_jsonl(out / "documents.jsonl")}
    assert set(docs) == set(gold["documents"])
    for name, expected in gold["documents"].items():
        doc = docs[name]
        body = " ".join(doc["text"].split())
        assert all(s not in doc["text"] and s not in body for s in expected["must_drop"]), name
        assert all(" ".join(s.split()) in body for s in expected["must_keep"]), name
        assert (doc["title"], doc["published"]) == (expected["title"], expected["date"]), name
    clusters: dict[str, set[str]] = {}
    for doc in docs.values():
        clusters.setdefault(doc["cluster_id"], set()).add(doc["source_path"])
    assert sorted(map(sorted, clusters.values())) == sorted(sorted(e["members"]) for e in gold["events"])

    canonical = read_jsonl(out / "canonical.jsonl")
    assert len(canonical) == 3
    tokyo = next(c for c in canonical if len(c["sources"]) == 3)
    assert tokyo["title"] == "US Secretaries of State and Defence Begin Asia Tour in Tokyo"
    assert tokyo["published"] == "2021-03-17"
    assert [s["relation"] for s in tokyo["sources"]] == ["canonical", "same_event", "same_event"]
    assert (
        (out / "canonical" / f"{tokyo['cluster_id']}.md")
        .read_text(encoding="utf-8")
        .startswith("# US Secretaries of State and Defence Begin Asia Tour in Tokyo")
    )
    assert read_jsonl(out / "quarantine.jsonl") == []


def test_document_record_contract(seeds_raw: Path, tmp_path: Path) -> None:
    run(seeds_raw, tmp_path / "out")
    records = read_jsonl(tmp_path / "out" / "documents.jsonl")
    assert [r["id"] for r in records] == sorted(r["id"] for r in records)
    expected_keys = {
        "id", "source_path", "record_id", "outlet", "url", "title", "published", "author", "text",
        "content_sha256", "cluster_id", "canonical_id", "relation", "similarity", "duplicate_of", "removed",
    }  # fmt: skip
    for r in records:
        assert set(r) == expected_keys
        assert r["content_sha256"] == hashlib.sha256(r["text"].encode()).hexdigest()
        assert "\u00a0" not in r["text"] and "\n\n\n" not in r["text"]
        assert (r["relation"] == "canonical") == (r["id"] == r["canonical_id"])


def mixed_raw(tmp_path: Path) -> Path:
    raw = tmp_path / "raw"
    shutil.copytree(SEEDS, raw / "seeds")
    shutil.copytree(INPUTS, raw / "inputs")
    return raw


def test_every_input_is_accounted_for_exactly_once(tmp_path: Path) -> None:
    raw = mixed_raw(tmp_path)
    run(raw, tmp_path / "out", batch_size=4)
    docs = read_jsonl(tmp_path / "out" / "documents.jsonl")
    quarantine = read_jsonl(tmp_path / "out" / "quarantine.jsonl")
    seen = {(d["source_path"], d["record_id"]) for d in docs}
    held = {(q["source_path"], q["record_id"]) for q in quarantine}
    assert not seen & held
    files = {p.relative_to(raw).as_posix() for p in raw.rglob("*") if p.is_file()}
    assert {path for path, _ in seen | held} == files
    reasons = {q["source_path"]: q["reason"] for q in quarantine if q["record_id"] is None}
    assert reasons == {
        "inputs/empty.txt": "empty file",
        "inputs/photo.txt": "binary content",
        "inputs/notes.pdf": "unsupported file type",
    }
    by_path = {d["source_path"]: d for d in docs if d["record_id"] is None}
    assert by_path["inputs/mojibake.txt"]["removed"] == {"mojibake": 1}
    assert by_path["inputs/article.html.gz"]["title"] == "Bridge Reopens After Repairs"
    assert all(d["outlet"] in {"seeds", "inputs", "Valley Wire"} for d in docs)


def test_output_is_byte_identical_across_runs_batches_and_workers(tmp_path: Path) -> None:
    raw = mixed_raw(tmp_path)
    before = tree_digest(raw)
    run(raw, tmp_path / "a", workers=1, batch_size=500)
    run(raw, tmp_path / "b", workers=2, batch_size=3)
    run(raw, tmp_path / "a", workers=2, batch_size=5)  # a rerun over existing output
    assert tree_digest(tmp_path / "a") == tree_digest(tmp_path / "b")
    assert tree_digest(raw) == before  # raw/ is never modified
    leftovers = sorted(p.name for p in (tmp_path / "a").iterdir() if p.name.startswith("."))
    assert leftovers == [".newsclean", ".newsclean.lock"]  # no work folders left behind


def test_stale_canonical_pages_are_removed(tmp_path: Path) -> None:
    raw = mixed_raw(tmp_path)
    run(raw, tmp_path / "out")
    before = {p.name for p in (tmp_path / "out" / "canonical").iterdir()}
    shutil.rmtree(raw / "inputs")
    run(raw, tmp_path / "out")
    after = {p.name for p in (tmp_path / "out" / "canonical").iterdir()}
    clusters = {f"{c['cluster_id']}.md" for c in read_jsonl(tmp_path / "out" / "canonical.jsonl")}
    # An incremental run keeps the clusters that lost documents (ids are stable; a fresh --full
    # may group what is left otherwise): only the pages of clusters left empty go.
    assert after == clusters
    assert len(before) > len(after)


def test_a_second_writer_is_refused_clearly(
    seeds_raw: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    held = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with output_lock(out):
            held.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(10)
    try:
        with pytest.raises(OutputLocked):
            run(seeds_raw, out)
        assert (
            main(["run", "--raw", str(seeds_raw), "--out", str(out), "--no-prefect", "--quiet"])
            == EXIT_LOCKED
        )
        assert "another newsclean run" in capsys.readouterr().err
    finally:
        release.set()
        holder.join()
    run(seeds_raw, out)  # free again once the holder is gone
    assert (out / "documents.jsonl").exists()


def test_missing_raw_folder_is_a_clear_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "--raw", str(tmp_path / "nope"), "--out", str(tmp_path / "o"), "--no-prefect"]) == 2
    assert "raw folder not found" in capsys.readouterr().err


def test_explain_shows_removed_spans_and_rules(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", str(SEEDS / "004_9bb03da469b49762.txt")]) == 0
    out = capsys.readouterr().out
    assert "title: US strengthens alliance with Japan to defend against Chinese expansionism" in out
    assert "[topics / topics-label] 'Topics:'" in out
    assert "[photo_credit / agency-credit-end]" in out


def test_a_file_name_that_is_not_utf8_is_read_and_reported_escaped(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    folder = os.fsencode(raw) + b"/caf\xe9"
    os.makedirs(folder)
    with open(folder + b"/na\xefve.txt", "wb") as handle:
        handle.write(b"Ferry Service Begins\n\nThe ferry began service on Monday, officials said.\n")
    out = tmp_path / "out"
    run(raw, out)
    (doc,) = read_jsonl(out / "documents.jsonl")
    assert doc["source_path"] == "caf\\xe9/na\\xefve.txt"
    assert doc["title"] == "Ferry Service Begins"
    again = run_pipeline(RunOptions(raw, out, Settings()), DirectExecutor(1), LOG)
    assert (again.files_cleaned, again.files_unchanged) == (0, 1)


def test_batches_keep_every_worker_busy_without_splitting_small_runs() -> None:
    two = RunSettings(workers=2, batch_size=500, min_batch_files=50, batches_per_worker=4)
    assert batch_count(0, two) == 0
    assert batch_count(5, two) == 1  # the samples: inline, no worker processes
    assert batch_count(120, two) == 2  # 60 files a batch: one per worker
    assert batch_count(500, two) == 8  # not one batch on one core: four per worker, for balance
    assert batch_count(300, two) == 6  # never fewer than 50 files a batch
    assert batch_count(10_000, two) == 20  # batch_size bounds it
    assert batch_count(500, RunSettings(workers=1, batch_size=500)) == 1


def test_plan_interleaves_files_into_near_equal_batches(tmp_path: Path) -> None:
    """A folder of costly pages at the end of the path order is spread over every batch."""
    raw = tmp_path / "raw"
    (raw / "pages").mkdir(parents=True)
    for i in range(4):
        (raw / f"{i}.txt").write_text(f"story {i}", encoding="utf-8")
    for i in range(3):
        (raw / "pages" / f"{i}.html").write_text(f"<html><body>page {i}</body></html>", encoding="utf-8")
    plan = plan_batches(raw, tmp_path, RunSettings(workers=2, batch_size=3, min_batch_files=3), {})
    assert [len(s.paths) for s in plan.specs] == [3, 2, 2]  # ceil(7 / 3) = 3 batches, none over 3
    every_file = sorted(str(p.relative_to(raw)) for p in raw.rglob("*.*"))
    assert sorted(p for s in plan.specs for p in s.paths) == every_file
    assert [sum(p.endswith(".html") for p in s.paths) for s in plan.specs] == [1, 1, 1]
    assert [s.label for s in plan.specs] == ["clean batch 1/3", "clean batch 2/3", "clean batch 3/3"]


def test_a_document_of_outlet_furniture_only_is_quarantined_and_left_out_of_the_clusters(
    tmp_path: Path,
) -> None:
    """A file holding nothing but its outlet's repeated lines leaves the output through the
    quarantine (with the reason), and the other documents are grouped as without it."""
    footer = "Harbour Times, 4 Quay Street, Port Elwyn"
    stories = [
        "The ferry to Skarholm will run twice a day from May, operator Brennick Lines announced. "
        "Tickets rise by 40 pence. Commuters on the Vell crossing had asked for a morning boat since 2019.",
        "Lighthouse keeper Ottoline Varga retired after forty-one years on the Gannet Rock station. "
        "She logged 312 storms. Trinity engineers will automate the lamp in September.",
        "Fishing quotas for cod were cut by a fifth at the regional board meeting in Dunmore. "
        "Skippers walked out. The haddock allowance stays at 2,400 tonnes until the spring survey.",
        "A storm tore the roof off the Elwyn primary school gym on Sunday night. Pupils move to "
        "St Brannoc's church hall while insurers from Calloway Mutual inspect the beams.",
        "Mayor Idris Tallow opened the rebuilt pier with a brass band and a regatta of 60 boats. "
        "The Kestrel yacht club won the dinghy race; repairs cost 1.8 million pounds.",
        "The Quayside bakery won the county prize for its saffron buns for the third year running. "
        "Owner Magdalena Ruiz-Okafor credits Cornish flour and a starter kept since 1987.",
        "Volunteers counted 214 grey seal pups on the Morrow Sands this winter, the Ferrand Trust "
        "said. Wardens closed the north dunes to walkers until March.",
        "The Elwyn Rovers beat Castlebrook 3-1 in the league cup; striker Tomasz Wielgus scored "
        "twice. The semi-final against Ardwick is on 14 February.",
        "Councillors approved 85 new homes on the old cannery site off Mill Lane. The developer, "
        "Halberd Estates, must build a roundabout and a footbridge over the Lune.",
        "An exhibition of Gwendolyn Achterberg's ship paintings opens at the Customs House gallery. "
        "The 46 canvases were lent by collectors in Bergen and Halifax.",
    ]
    raw = tmp_path / "raw"
    for i, story in enumerate(stories):
        path = raw / "harbour-times" / f"story-{i}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"Harbour news {i}\n\n{story}\n\n{footer}\n", encoding="utf-8")
    (raw / "harbour-times" / "only-footer.txt").write_text(f"{footer}\n", encoding="utf-8")
    run(raw, tmp_path / "out")
    quarantine = read_jsonl(tmp_path / "out" / "quarantine.jsonl")
    assert [q["source_path"] for q in quarantine] == ["harbour-times/only-footer.txt"]
    assert "repeats across stories" in quarantine[0]["detail"]
    documents = read_jsonl(tmp_path / "out" / "documents.jsonl")
    assert len(documents) == len(stories) and all(footer not in d["text"] for d in documents)
    (raw / "harbour-times" / "only-footer.txt").unlink()
    run(raw, tmp_path / "out-without")
    without = read_jsonl(tmp_path / "out-without" / "documents.jsonl")
    assert {d["id"]: d["cluster_id"] for d in documents} == {d["id"]: d["cluster_id"] for d in without}
