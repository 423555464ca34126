"""The incremental writer (`stages.write._write_changes`: lookups by key in the previous
generation's sorted files, unchanged bytes copied by the kernel) writes the same bytes as the
algorithm it replaced, which streamed every line of the previous files through Python (kept
below as the reference, verbatim): on a real-shaped output with documents inserted, replaced,
removed and re-assigned at the start, the middle and the end, and clusters touched, new and
retired, with the searches' and the copies' thresholds at their defaults and small enough to
take every path, and without `os.copy_file_range`."""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import newsclean.stages.write as write_module
from newsclean.output import dumps, pack, read_jsonl, unpack, write_atomic, write_chunks
from newsclean.report import canonical_markdown
from newsclean.stages.write import (
    _CLUSTER_KEY,
    _ID_KEY,
    CANONICAL_DIR,
    _record,
    _write_changes,
    _write_quarantine,
    canonical_row,
    current_generation,
    output_stamps,
    write_outputs,
)
from support import SEEDS

# --- the reference: the streaming writer as it was (verbatim but for its name) ---


def _field(line: bytes, key: bytes) -> str:
    """A string field of a line `dumps` wrote, without parsing it: inside a JSON string every
    quote is escaped, so the first `,"<key>":"` is the key itself."""
    start = line.index(key) + len(key)
    return line[start : line.index(b'"', start)].decode("utf-8")


def _merged_lines(
    old_lines: Iterator[tuple[str, bytes]], changed: dict[str, bytes | None]
) -> Iterator[tuple[str, bytes | None, bytes | None]]:
    """Sorted (key, old line, new line) over an old sorted file and the changed keys (a None new
    line: the key goes); an unchanged line comes as (key, line, line)."""
    pending = sorted(changed)
    k = 0
    for key, line in old_lines:
        while k < len(pending) and pending[k] < key:
            yield pending[k], None, changed[pending[k]]
            k += 1
        if k < len(pending) and pending[k] == key:
            yield key, line, changed[key]
            k += 1
        else:
            yield key, line, line
    for key in pending[k:]:
        yield key, None, changed[key]


def _keyed(path: Path, key: bytes) -> Iterator[tuple[str, bytes]]:
    with path.open("rb") as handle:
        for line in handle:
            if line.strip():
                yield _field(line, key), line


def _reference_write_changes(
    grouped: Path, groups: dict[str, Any], previous: Path, new: Path, debug_removals: bool
) -> dict[str, Any]:
    """The outputs of an incremental group stage: the previous generation's lines streamed, with
    the changed documents' lines (new, re-assigned, departed) and the changed clusters' rows in
    their sorted places; pages of unchanged clusters linked from the previous generation; the
    summary counted from the previous one and the lines that changed."""
    summary = json.loads((previous / "summary.json").read_text(encoding="utf-8"))
    assignments: dict[str, dict[str, Any]] = groups["assignments"]
    touched: dict[str, list[str]] = groups["clusters"]
    retired = {r[0] for r in groups["retired"]}
    wanted = {doc_id for members in touched.values() for doc_id in members}
    changed: dict[str, bytes | None] = dict.fromkeys(groups["departed"])
    for document in read_jsonl(grouped / "documents.jsonl"):
        record = _record(document, assignments[document["id"]], debug_removals)
        changed[document["id"]] = (dumps(record) + "\n").encode("utf-8")
    relations: Counter[str] = Counter(summary["relations"])
    removed: Counter[str] = Counter(summary["removed"])
    documents = summary["documents"]
    members: dict[str, dict[str, Any]] = {}

    def count(record: dict[str, Any], sign: int) -> None:
        nonlocal documents
        documents += sign
        relations[record["relation"]] += sign
        for kind, n in record["removed"].items():
            removed[kind] += sign * n

    def document_lines() -> Iterator[bytes]:
        batch: list[bytes] = []
        for doc_id, old_line, new_line in _merged_lines(
            _keyed(previous / "documents.jsonl", _ID_KEY), changed
        ):
            if old_line is not new_line:
                if old_line is not None:
                    count(unpack(old_line), -1)
                if new_line is None and doc_id in assignments:  # an old document re-assigned
                    raise RuntimeError(f"{doc_id}: re-assigned but not in the new lines")
            if doc_id in assignments and old_line is not None and new_line is old_line:
                record = unpack(old_line)  # kept, with new grouping fields
                record.update(assignments[doc_id])
                new_line = (dumps(record) + "\n").encode("utf-8")
                count(unpack(old_line), -1)
            if new_line is None:
                continue
            if old_line is not new_line:
                count(unpack(new_line), +1)
            if doc_id in wanted:
                members[doc_id] = unpack(new_line)
            batch.append(new_line)
            if len(batch) >= 1000:
                yield b"".join(batch)
                batch = []
        yield b"".join(batch)

    write_chunks(new / "documents.jsonl", document_lines())
    missing = wanted - set(members)
    if missing:
        raise RuntimeError(f"members of changed clusters without a line: {sorted(missing)[:5]}")
    rows = {cid: canonical_row(cid, [members[d] for d in ids]) for cid, ids in touched.items()}
    row_lines: dict[str, bytes | None] = dict.fromkeys(retired)
    row_lines.update({cid: (dumps(row) + "\n").encode("utf-8") for cid, row in rows.items()})
    clusters = summary["clusters"]

    def canonical_lines() -> Iterator[bytes]:
        nonlocal clusters
        batch: list[bytes] = []
        for _, old_line, new_line in _merged_lines(
            _keyed(previous / "canonical.jsonl", _CLUSTER_KEY), row_lines
        ):
            clusters += (new_line is not None) - (old_line is not None)
            if new_line is not None:
                batch.append(new_line)
        yield b"".join(batch)

    write_chunks(new / "canonical.jsonl", canonical_lines())
    md_dir = new / CANONICAL_DIR
    md_dir.mkdir()
    for page in (previous / CANONICAL_DIR).iterdir():
        if page.stem not in row_lines:
            os.link(page, md_dir / page.name)
    for cid, row in rows.items():
        write_atomic(md_dir / f"{cid}.md", canonical_markdown(row), durable=False)
    quarantine = _write_quarantine(
        new, read_jsonl(grouped / "quarantine.jsonl"), previous / "quarantine.jsonl"
    )
    reasons = Counter(q["reason"] for q in quarantine)
    return {
        "documents": documents,
        "quarantined": len(quarantine),
        "quarantine_reasons": dict(sorted(reasons.items())),
        "clusters": clusters,
        "canonical_documents": clusters,
        "relations": {k: v for k, v in sorted(relations.items()) if v},
        "removed": {k: v for k, v in sorted(removed.items()) if v},
    }


# --- the test ---

SEED_TEXTS = [p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt"))]
# Text a key search must not take for a key: quotes, the key patterns, escapes, non-ASCII.
HOSTILE = 'He said ,"id":"0000" and ,"cluster_id":"c_0" \\ – ümlaut 漢字 \U0001f600\n'


def doc_id(n: int) -> str:
    return hashlib.sha256(f"doc {n}".encode()).hexdigest()[:16]


def document(doc: str, n: int, version: int = 0) -> dict[str, Any]:
    """A cleaned document as the clean stage leaves it (real text of varied length)."""
    text = SEED_TEXTS[n % len(SEED_TEXTS)][: 300 + (n * 137) % 4000] + (HOSTILE if n % 7 == 0 else "")
    return {
        "id": doc,
        "source_path": f"outlet-{n % 5}/2020/{n:05d}.txt",
        "record_id": None if n % 3 else f"r{n}",
        "outlet": f"outlet-{n % 5}",
        "url": None if n % 2 else f"https://example.com/{n}",
        "title": None if n % 11 == 0 else f"Title {n} v{version}",
        "published": None if n % 4 == 0 else f"2020-0{1 + n % 9}-1{n % 10}",
        "author": None,
        "text": text + (f"\nrevised {version}" if version else ""),
        "content_sha256": hashlib.sha256(f"{doc} {version}".encode()).hexdigest(),
        "removed": {"byline": n % 3, "cookie": 1} if n % 2 else {},
        "removals": [],
    }


def assignment(cluster: str, canonical: str, doc: str, similarity: float | None = 0.5) -> dict[str, Any]:
    relation = "canonical" if doc == canonical else ("near_duplicate" if similarity else "same_event")
    return {
        "cluster_id": cluster,
        "canonical_id": canonical,
        "relation": relation,
        "similarity": None if doc == canonical else similarity,
        "duplicate_of": None if doc == canonical else canonical,
    }


def grouped_dir(
    path: Path, documents: list[dict[str, Any]], groups: dict[str, Any], incremental: bool
) -> Path:
    path.mkdir()
    (path / "documents.jsonl").write_text("".join(pack(d) + "\n" for d in documents), encoding="utf-8")
    (path / "quarantine.jsonl").write_text(
        pack({"source_path": "bad.bin", "record_id": None, "reason": "binary", "detail": "x"}) + "\n",
        encoding="utf-8",
    )
    (path / "groups.json").write_text(json.dumps(groups), encoding="utf-8")
    if incremental:
        (path / "changes.json").write_text("{}", encoding="utf-8")
    return path


def previous_output(tmp_path: Path, n: int = 300) -> tuple[Path, dict[str, list[str]]]:
    """A full run's output of `n` documents in clusters of one to seven; returns the
    published generation and each cluster's members."""
    ids = sorted(doc_id(k) for k in range(n))
    clusters: dict[str, list[str]] = {}
    k = 0
    while k < n:
        size = 1 + (k * 5) % 7
        members = ids[k : k + size]
        clusters[f"c_{members[0]}"] = members
        k += size
    assignments = {
        d: assignment(cid, members[0], d, 0.9 if j % 2 else None)
        for cid, members in clusters.items()
        for j, d in enumerate(members)
    }
    number = {doc_id(k): k for k in range(n)}
    docs = [document(d, number[d]) for d in ids]
    grouped = grouped_dir(
        tmp_path / "full", docs, {"assignments": assignments, "stats": {"mode": "full"}}, False
    )
    out = tmp_path / "out"
    write_outputs(str(grouped), str(out))
    generation = current_generation(out)
    assert generation is not None
    return generation, clusters


def changes(previous: Path, clusters: dict[str, list[str]], tmp_path: Path) -> Path:
    """An incremental group stage's work folder: new documents sorting first, last and between;
    the first, a middle and the last document changed; others departed (first and last line
    among them); old documents re-assigned by a merge; touched, new and retired clusters (the
    first and the last cluster among them)."""
    ids = sorted(d for members in clusters.values() for d in members)
    number = {doc_id(k): k for k in range(len(ids))}
    order = sorted(clusters)
    new_ids = ["0000000000000000", "ffffffffffffffff", ids[40][:-1] + "_", ids[200] + "0"]
    changed_ids = [ids[0], ids[150], ids[-1]]
    departed = [ids[1], ids[7], ids[99], ids[-2]]  # ids[7]: a cluster of one, left empty
    assignments: dict[str, dict[str, Any]] = {}
    touched: dict[str, list[str]] = {}
    # New documents: one joins the first cluster, the others start clusters.
    first = order[0]
    members = [d for d in clusters[first] if d not in departed] + ["0000000000000000"]
    canonical = "0000000000000000"  # more complete: the canonical changes
    touched[first] = members
    for d in members:
        assignments[d] = assignment(first, canonical, d)
    for d in new_ids[1:]:
        touched[f"c_{d}"] = [d]
        assignments[d] = assignment(f"c_{d}", d, d)
    # Changed documents stay in their clusters, which are touched.
    for d in changed_ids:
        cid = next(c for c, m in clusters.items() if d in m)
        if cid in touched:
            continue
        kept = [m for m in clusters[cid] if m not in departed]
        touched[cid] = kept
        for m in kept:
            assignments.setdefault(m, assignment(cid, kept[0], m))
    # A merge: the second-to-last cluster retired into a middle one, its members re-assigned.
    retired_cid, into = order[-2], order[len(order) // 2]
    merged = sorted(clusters[into] + [d for d in clusters[retired_cid] if d not in departed])
    touched[into] = merged
    for m in merged:
        assignments[m] = assignment(into, clusters[into][0], m, 0.7)
    retired: list[list[str | None]] = [[retired_cid, into]]
    # A cluster left empty by departures is retired.
    for cid, members in clusters.items():
        if cid not in touched and all(m in departed for m in members):
            retired.append([cid, None])
    for cid, members in clusters.items():  # one that lost a member (not its canonical) is touched
        if cid not in touched and any(m in departed for m in members):
            kept = [m for m in members if m not in departed]
            if kept:
                touched[cid] = kept
                for m in kept:
                    assignments.setdefault(m, assignment(cid, kept[0], m))
    docs = [document(d, 7 * k + 3) for k, d in enumerate(new_ids)]
    docs += [document(d, number[d], version=2) for d in changed_ids]
    groups = {
        "assignments": assignments,
        "clusters": touched,
        "departed": departed,
        "retired": retired,
        "merges": [{"retired_cluster_id": retired_cid, "into_cluster_id": into, "run": 2}],
        "stats": {"mode": "incremental"},
    }
    return grouped_dir(tmp_path / "grouped", docs, groups, True)


def written(folder: Path) -> dict[str, bytes]:
    files = {
        name: (folder / name).read_bytes()
        for name in ("documents.jsonl", "canonical.jsonl", "quarantine.jsonl")
    }
    files |= {f"canonical/{p.name}": p.read_bytes() for p in sorted((folder / CANONICAL_DIR).iterdir())}
    return files


@pytest.mark.parametrize("thresholds", ["default", "small", "no copy_file_range"])
def test_incremental_writer_writes_the_bytes_of_the_streaming_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, thresholds: str
) -> None:
    previous, clusters = previous_output(tmp_path)
    grouped = changes(previous, clusters, tmp_path)
    groups = json.loads((grouped / "groups.json").read_text(encoding="utf-8"))
    reference, candidate = tmp_path / "reference", tmp_path / "candidate"
    reference.mkdir()
    candidate.mkdir()
    expected = _reference_write_changes(grouped, groups, previous, reference, False)
    if thresholds == "small":  # every search phase and both kinds of piece on 300 lines
        monkeypatch.setattr(write_module._SortedFile, "_WINDOW", 64)
        monkeypatch.setattr(write_module, "_KERNEL_COPY", 1)
        monkeypatch.setattr(write_module, "_RELEASE_BYTES", 1)  # pages dropped after every edit
    if thresholds == "no copy_file_range":
        monkeypatch.delattr(os, "copy_file_range", raising=False)
        monkeypatch.setattr(write_module, "_KERNEL_COPY", 1)
    assert _write_changes(grouped, groups, previous, candidate, False) == expected
    new, old = written(candidate), written(reference)
    assert new == old
    # The changes are there: the inserted first and last lines, the departed gone, the retired
    # cluster's row and page gone, the counts moved.
    lines = new["documents.jsonl"].splitlines()
    assert json.loads(lines[0])["id"] == "0000000000000000"
    assert json.loads(lines[-1])["id"] == "ffffffffffffffff"
    kept = {json.loads(line)["id"] for line in lines}
    assert not kept & set(groups["departed"]) and len(lines) == 300 + 4 - 4
    rows = [json.loads(line)["cluster_id"] for line in new["canonical.jsonl"].splitlines()]
    assert len(groups["retired"]) == 2 and rows == sorted(rows)
    assert not {cid for cid, _ in groups["retired"]} & set(rows)
    assert f"canonical/{groups['retired'][0][0]}.md" not in new
    assert expected["documents"] == 300 and expected["clusters"] == len(rows)


def test_incremental_writer_with_nothing_to_change(tmp_path: Path) -> None:
    """No changed document or cluster: the files come out as they were."""
    previous, _ = previous_output(tmp_path, n=40)
    groups: dict[str, Any] = {
        "assignments": {},
        "clusters": {},
        "departed": [],
        "retired": [],
        "merges": [],
        "stats": {},
    }
    grouped = grouped_dir(tmp_path / "grouped", [], groups, True)
    new = tmp_path / "new"
    new.mkdir()
    summary = _write_changes(grouped, groups, previous, new, False)
    assert summary == json.loads((previous / "summary.json").read_text(encoding="utf-8"))
    assert written(new) == written(previous)


def test_output_stamps_see_a_page_edited_in_place(tmp_path: Path) -> None:
    """The pages are stamped as one digest: a page rewritten in place, a page's time alone, a page
    removed or added each change it; nothing else does."""
    previous_output(tmp_path, n=40)
    out = tmp_path / "out"
    before = output_stamps(out)
    assert before is not None and before == output_stamps(out)
    page = sorted((out / CANONICAL_DIR).glob("*.md"))[3]
    stat = page.stat()
    with page.open("r+b") as handle:  # same size, same inode
        handle.write(b"X")
    os.utime(page, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert output_stamps(out) == before  # a stamp is size and time, as for raw files
    os.utime(page, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1))
    touched = output_stamps(out)
    assert touched is not None and touched != before
    assert {k for k in touched if touched[k] != before[k]} == {f"{CANONICAL_DIR}/*.md"}
    (out / CANONICAL_DIR / "c_stray.md").write_text("not ours", encoding="utf-8")
    assert output_stamps(out) not in (before, touched)
    (out / CANONICAL_DIR / "c_stray.md").unlink()
    assert output_stamps(out) == touched
    (out / CANONICAL_DIR / ".c_hidden.md").write_text("a temporary file", encoding="utf-8")
    assert output_stamps(out) == touched  # as glob("*.md") lists them
