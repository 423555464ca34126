"""Stage 4, write: the output contract, from the group stage's work folder, published as one unit.

A run writes its whole output set (the four contract files and `canonical/*.md`) into a fresh
generation folder, `<out>/.newsclean/generations/<n>/`, and then switches `<out>/current`, a
symbolic link to the generation, with one `rename(2)` of a new link over it. The contract's paths
stay where they were: `<out>/documents.jsonl`, `canonical.jsonl`, `quarantine.jsonl`,
`summary.json` and `canonical/` are fixed links into `current/`. So a reader (or a run killed at
any point) sees the whole old set or the whole new set, never a mix: a killed run leaves an
unpublished generation behind, which the next run removes (`remove_leftovers`, under the lock).
A reader that reads several files and must see one set resolves `<out>/current` once and reads
inside the generation it names.

Files whose content did not change are hard-linked from the previous generation rather than
written again (same bytes, same inode and modification time). The previous generation is kept
until the next publication, for readers that resolved `current` just before a switch; older ones
are removed. Each file is sorted, so the same input gives the same bytes whatever the batch size,
worker count or executor.

After an incremental group stage, `documents.jsonl` and `canonical.jsonl` are the previous
generation's with the changed lines spliced in: each changed key is found by a binary search over
the old sorted file's byte offsets, and the unchanged bytes between them are copied by the kernel
(`os.copy_file_range`), so writing costs what changed, not the size of the archive.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import mmap
import os
import shutil
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from newsclean.listing import CONTENT_FIELDS, listing_digest
from newsclean.output import (
    Piece,
    dumps,
    read_jsonl,
    unpack,
    write_atomic,
    write_chunks,
    write_jsonl,
    write_spliced,
)
from newsclean.records import CleanedDocument
from newsclean.report import canonical_markdown
from newsclean.state import MODEL_DIR, ROWS_DIR, ROWS_LIST, model_folder, rows_folder, store_model

OUTPUT_FILES = (
    "documents.jsonl",
    "canonical.jsonl",
    "quarantine.jsonl",
    "summary.json",
    "merges.jsonl",
    "splits.jsonl",
)
CANONICAL_DIR = "canonical"
CURRENT = "current"  # <out>/current -> .newsclean/generations/<n>
GENERATIONS = Path(".newsclean") / "generations"
_RENAME_EXCHANGE = 2  # renameat2(2) flag


def generations_dir(out: Path) -> Path:
    return out / GENERATIONS


def current_generation(out: Path) -> Path | None:
    """The published generation folder `<out>/current` points to, or None."""
    try:
        target = os.readlink(out / CURRENT)
    except OSError:
        return None
    folder = out / target
    return folder if folder.is_dir() and folder.parent == generations_dir(out) else None


def _number(folder: Path) -> int:
    return int(folder.name) if folder.name.isdigit() else -1


def _new_generation(out: Path) -> Path:
    root = generations_dir(out)
    root.mkdir(parents=True, exist_ok=True)
    number = max((_number(p) for p in root.iterdir()), default=0) + 1
    while True:
        folder = root / f"{number:06d}"
        try:
            folder.mkdir()
            return folder
        except FileExistsError:
            number += 1


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two names atomically (Linux renameat2 RENAME_EXCHANGE); False where unavailable."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd = -100
    done = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), _RENAME_EXCHANGE)
    return bool(done == 0)


def _link_name(out: Path, name: str) -> None:
    """Make `<out>/<name>` the fixed link `current/<name>` (replacing a file or, from the layout
    before generations, a folder of the same name)."""
    link = out / name
    want = f"{CURRENT}/{name}"
    if link.is_symlink() and os.readlink(link) == want:
        return
    tmp = out / f".{name}.{os.getpid()}.link.tmp"
    tmp.unlink(missing_ok=True)
    os.symlink(want, tmp)
    if link.is_dir() and not link.is_symlink():
        if _exchange(tmp, link):  # the folder now sits at tmp
            shutil.rmtree(tmp, ignore_errors=True)
            return
        aside = out / f".{name}.{os.getpid()}.old.tmp"
        os.rename(link, aside)
        shutil.rmtree(aside, ignore_errors=True)
    os.replace(tmp, link)


def _adopt_legacy(out: Path) -> None:
    """Output written before generations (plain files at the contract paths) becomes a first
    generation, hard-linked (same bytes, nothing copied), so the switch to the links shows
    readers the same set."""
    if (out / CURRENT).is_symlink():
        return
    files = [n for n in OUTPUT_FILES if (out / n).is_file() and not (out / n).is_symlink()]
    pages = out / CANONICAL_DIR
    legacy_pages = pages.is_dir() and not pages.is_symlink()
    if not files and not legacy_pages:
        return
    generation = _new_generation(out)
    (generation / CANONICAL_DIR).mkdir()
    for name in files:
        os.link(out / name, generation / name)
    if legacy_pages:
        for page in pages.glob("*.md"):
            os.link(page, generation / CANONICAL_DIR / page.name)
    _switch(out, generation)
    for name in (*OUTPUT_FILES, CANONICAL_DIR):
        _link_name(out, name)


def _switch(out: Path, generation: Path) -> None:
    """Point `<out>/current` at `generation` with one rename."""
    tmp = out / f".{CURRENT}.{os.getpid()}.link.tmp"
    tmp.unlink(missing_ok=True)
    os.symlink(os.path.relpath(generation, out), tmp)
    os.replace(tmp, out / CURRENT)


def publish(out: Path, generation: Path, previous: Path | None) -> None:
    """Make a fully written generation the output: one rename of `current`; then the fixed links
    (made once), and generations other than this one and the previous one removed."""
    _fsync_dir(generation / CANONICAL_DIR)
    _fsync_dir(generation)
    _fsync_dir(generation.parent)
    _switch(out, generation)
    for name in (*OUTPUT_FILES, CANONICAL_DIR):
        _link_name(out, name)
    _fsync_dir(out)
    keep = {generation.name, previous.name if previous else ""}
    for folder in generations_dir(out).iterdir():
        if folder.name not in keep:
            shutil.rmtree(folder, ignore_errors=True)


def remove_leftovers(out: Path) -> list[str]:
    """What a killed run left in `out` (call only while holding the output lock): temporary
    files and links, and generations that were never published (or are older than the one
    before the current one). Returns what was removed, relative to `out`."""
    removed: list[str] = []
    current = current_generation(out)
    candidates = [p for p in out.glob(".*.tmp")]
    pages = out / CANONICAL_DIR
    if pages.is_dir() and not pages.is_symlink():
        candidates += list(pages.glob(".*.tmp"))
    root = generations_dir(out)
    if root.is_dir():
        numbered = sorted((p for p in root.iterdir()), key=_number)
        if current is None:
            keep = set()
        else:
            older = [p for p in numbered if _number(p) < _number(current)]
            keep = {current.name, *(p.name for p in older[-1:])}
        candidates += [p for p in numbered if p.name not in keep]
    for path in candidates:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed.append(path.relative_to(out).as_posix())
    return removed


def output_stamps(out: Path) -> dict[str, Any] | None:
    """Size and modification time of every file of the output contract, the pages' as one
    digest, and the published generation (None if one is missing or the links are not as
    `publish` left them): the same rule that says a raw file is unchanged says an output was not
    touched since."""
    current = current_generation(out)
    if current is None:
        return None
    for name in (*OUTPUT_FILES, CANONICAL_DIR):
        link = out / name
        if not link.is_symlink() or os.readlink(link) != f"{CURRENT}/{name}":
            return None
    stamps: dict[str, Any] = {CURRENT: [_number(current), 0]}
    try:
        for name in OUTPUT_FILES:
            stat = (out / name).stat()
            stamps[name] = [stat.st_size, stat.st_mtime_ns]
        # One listing of the pages with each entry's own stat (a run that finds nothing new
        # checks every page: 17,605 at 100k files, through pathlib a second of its time).
        # Listed through a descriptor: each stat resolves a name in the folder, not a path.
        folder = os.open(current / CANONICAL_DIR, os.O_RDONLY | os.O_DIRECTORY)
        try:
            with os.scandir(folder) as listing:
                pages = sorted(
                    (entry.name, entry.stat(follow_symlinks=True))
                    for entry in listing
                    if entry.name.endswith(".md") and not entry.name.startswith(".")  # glob("*.md")
                )
        finally:
            os.close(folder)
    except OSError:
        return None
    # The pages' names, sizes and times as one digest: a list per page (19k at 100k files) cost
    # each of a run's three calls a tenth of a second.
    digest = listing_digest([n for n, _ in pages], [st for _, st in pages], CONTENT_FIELDS)
    stamps[f"{CANONICAL_DIR}/*.md"] = [len(pages), digest]
    return stamps


def _sources_order(source: dict[str, Any]) -> tuple[int, str]:
    return (0 if source["relation"] == "canonical" else 1, source["id"])


def canonical_row(cluster_id: str, members: list[dict[str, Any]]) -> dict[str, Any]:
    """A cluster's line of `canonical.jsonl` from its members' `documents.jsonl` records."""
    canonical = next(m for m in members if m["relation"] == "canonical")
    ranked = sorted(members, key=_sources_order)
    dates = sorted(m["published"] for m in members if m["published"])
    return {
        "cluster_id": cluster_id,
        "canonical_id": canonical["id"],
        # The canonical's own metadata first; gaps filled from the other sources.
        "title": canonical["title"] or next((m["title"] for m in ranked if m["title"]), None),
        "published": canonical["published"] or (dates[0] if dates else None),
        "outlet": canonical["outlet"],
        "text": canonical["text"],
        "sources": [
            {k: m[k] for k in ("id", "source_path", "outlet", "url", "relation", "similarity")}
            for m in ranked
        ],
    }


def _record(document: dict[str, Any], assignment: dict[str, Any], debug_removals: bool) -> dict[str, Any]:
    """A document's line of `documents.jsonl`: its fields, then where grouping put it."""
    record = CleanedDocument.from_json(document).to_json()
    removals = record.pop("removals")
    record.update(
        cluster_id=assignment["cluster_id"],
        canonical_id=assignment["canonical_id"],
        relation=assignment["relation"],
        similarity=assignment["similarity"],
        duplicate_of=assignment["duplicate_of"],
    )
    if debug_removals:
        record["removals"] = removals
    return record


def _id_records(groups: dict[str, Any], previous: Path | None, name: str) -> list[bytes]:
    """`merges.jsonl` or `splits.jsonl` (`name`): the earlier records (none after a full
    grouping, which starts ids afresh), then this run's (`groups[name's stem]`), one line each.
    A merge: `retired_cluster_id`, `into_cluster_id`, `run`; a split: `from_cluster_id`,
    `to_cluster_id`, `document_ids`, `run`."""
    lines: list[bytes] = []
    earlier = previous / name if previous is not None else None
    if groups["stats"].get("mode") != "full" and earlier is not None and earlier.is_file():
        lines.append(earlier.read_bytes())
    lines += [(dumps(m) + "\n").encode("utf-8") for m in groups.get(name.removesuffix(".jsonl"), [])]
    return lines


def _keep_model(grouped: Path, out: Path) -> None:
    """The grouping model the group stage left, kept in the run state now that the outputs
    made from it are published: its new scoring-row segments and its live file moved into the
    state folder first, then the parts that name them stored (one transaction), then the
    segments and live files no model names any more removed (a run stopped between the steps
    leaves the old model whole)."""
    parts = {p.stem.removeprefix("model-"): p.read_bytes() for p in sorted(grouped.glob("model-*.bin"))}
    if not parts:
        return
    rows, models = rows_folder(out), model_folder(out)
    for new, kept in ((grouped / ROWS_DIR, rows), (grouped / MODEL_DIR, models)):
        if new.is_dir():
            kept.mkdir(parents=True, exist_ok=True)
            for entry in sorted(new.iterdir()):
                os.replace(entry, kept / entry.name)
    # With the outputs it was published with: a later run that finds them otherwise (a run
    # killed before recording them, a hand edit) regroups everything.
    parts["outputs"] = json.dumps(output_stamps(out), sort_keys=True).encode()
    store_model(out, parts)
    listed = grouped / ROWS_LIST
    if listed.is_file() and rows.is_dir():
        used = set(json.loads(listed.read_text(encoding="utf-8")))
        for segment in sorted(rows.iterdir()):
            if segment.name not in used:
                shutil.rmtree(segment, ignore_errors=True)
    if "live" in parts and models.is_dir():
        for entry in sorted(models.iterdir()):
            if entry.is_file() and entry.name.encode("utf-8", "surrogateescape") != parts["live"]:
                entry.unlink(missing_ok=True)


def write_outputs(grouped_dir: str, out_dir: str, debug_removals: bool = False) -> dict[str, Any]:
    """Write the output contract (README, "Output contract") from the group stage's work folder
    into a new generation of `out_dir` and publish it (see the module's docstring); returns the
    deterministic summary it also writes, with `grouping`: what the group stage did (not
    written). Canonical pages of clusters that no longer exist are not in the new generation.
    After an incremental group stage, the unchanged lines stream from the previous generation
    (`_write_changes`)."""
    out = Path(out_dir)
    grouped = Path(grouped_dir)
    _adopt_legacy(out)
    previous = current_generation(out)
    groups = json.loads((grouped / "groups.json").read_text(encoding="utf-8"))
    new = _new_generation(out)
    if (grouped / "changes.json").is_file():
        if previous is None:
            raise RuntimeError("an incremental group stage needs the previous outputs")
        summary = _write_changes(grouped, groups, previous, new, debug_removals)
    else:
        summary = _write_all(grouped, groups, previous, new, debug_removals)
    write_chunks(new / "merges.jsonl", _id_records(groups, previous, "merges.jsonl"))
    write_chunks(new / "splits.jsonl", _id_records(groups, previous, "splits.jsonl"))
    content = json.dumps(summary, indent=2, sort_keys=True) + "\n"
    write_atomic(new / "summary.json", content, same_as=previous / "summary.json" if previous else None)
    publish(out, new, previous)
    _keep_model(grouped, out)
    return {**summary, "grouping": groups["stats"]}


def _write_all(
    grouped: Path, groups: dict[str, Any], previous: Path | None, new: Path, debug_removals: bool
) -> dict[str, Any]:
    def old(name: str) -> Path | None:
        return previous / name if previous is not None else None

    documents = read_jsonl(grouped / "documents.jsonl")
    quarantine = read_jsonl(grouped / "quarantine.jsonl")
    assignments: dict[str, dict[str, Any]] = groups["assignments"]
    records = [
        _record(d, assignments[d["id"]], debug_removals) for d in sorted(documents, key=lambda d: d["id"])
    ]
    del documents
    write_jsonl(new / "documents.jsonl", records, same_as=old("documents.jsonl"))

    clusters: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        clusters.setdefault(record["cluster_id"], []).append(record)
    canonical_rows = [canonical_row(cluster_id, clusters[cluster_id]) for cluster_id in sorted(clusters)]
    write_jsonl(new / "canonical.jsonl", canonical_rows, same_as=old("canonical.jsonl"))

    md_dir = new / CANONICAL_DIR
    md_dir.mkdir()
    for row in canonical_rows:
        name = f"{row['cluster_id']}.md"
        write_atomic(md_dir / name, canonical_markdown(row), durable=False, same_as=old(f"canonical/{name}"))

    quarantine_sorted = _write_quarantine(new, quarantine, old("quarantine.jsonl"))
    removed: Counter[str] = Counter()
    for record in records:
        removed.update(record["removed"])
    relations = Counter(r["relation"] for r in records)
    reasons = Counter(q["reason"] for q in quarantine_sorted)
    return {
        "documents": len(records),
        "quarantined": len(quarantine_sorted),
        "quarantine_reasons": dict(sorted(reasons.items())),
        "clusters": len(canonical_rows),
        "canonical_documents": len(canonical_rows),
        "relations": dict(sorted(relations.items())),
        "removed": dict(sorted(removed.items())),
    }


def _write_quarantine(new: Path, quarantine: list[dict[str, Any]], old: Path | None) -> list[dict[str, Any]]:
    quarantine_sorted = sorted(quarantine, key=lambda q: (q["source_path"], q["record_id"] or ""))
    write_jsonl(new / "quarantine.jsonl", quarantine_sorted, same_as=old)
    return quarantine_sorted


# The key of a line `dumps` wrote, found without parsing it: inside a JSON string every quote is
# escaped, so the first `,"<key>":"` of a line is the key itself.
_ID_KEY = b',"id":"'  # in a documents.jsonl line (sorted keys, no spaces): the document's id
_CLUSTER_KEY = b',"cluster_id":"'  # in a canonical.jsonl line: the cluster's id


class _SortedFile:
    """An output file of the previous generation, sorted by a key field (`_ID_KEY`,
    `_CLUSTER_KEY`), mapped into memory for lookups by key: the lines between lookups are never
    read by Python (`write_spliced` has the kernel copy them)."""

    _WINDOW = 1 << 14  # below this many bytes a lookup reads the lines one by one

    def __init__(self, path: Path, key: bytes) -> None:
        self.path, self.key = path, key
        self._file = path.open("rb")
        self.size = os.fstat(self._file.fileno()).st_size
        self.data: mmap.mmap | bytes = (
            mmap.mmap(self._file.fileno(), 0, access=mmap.ACCESS_READ) if self.size else b""
        )
        self._released = 0

    def release(self, offset: int) -> None:
        """Drop the mapped pages before `offset` from the process (they stay in the page cache):
        lookups behind it are done, and the pages they touched counted in the run's memory
        (100 MB more at 100k files without this)."""
        if (
            isinstance(self.data, mmap.mmap)
            and offset - self._released >= _RELEASE_BYTES
            and hasattr(mmap, "MADV_DONTNEED")
        ):
            end = offset - offset % mmap.PAGESIZE
            self.data.madvise(mmap.MADV_DONTNEED, 0, end)
            self._released = end

    def close(self) -> None:
        if isinstance(self.data, mmap.mmap):
            self.data.close()
        self._file.close()

    def __enter__(self) -> _SortedFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _line_start(self, offset: int) -> int:
        """The first line start at or after `offset`."""
        if offset <= 0:
            return 0
        newline = self.data.find(b"\n", offset - 1)
        return self.size if newline < 0 else newline + 1

    def line_end(self, start: int) -> int:
        newline = self.data.find(b"\n", start)
        return self.size if newline < 0 else newline + 1

    def key_at(self, start: int) -> bytes:
        """The key of the line starting at `start`, undecoded."""
        end = self.line_end(start)
        at = self.data.find(self.key, start, end)
        if at < 0:
            raise RuntimeError(f"{self.path}: a line at byte {start} without {self.key.decode()}")
        at += len(self.key)
        return self.data[at : self.data.find(b'"', at, end)]

    def _before(self, offset: int, key: bytes) -> int | None:
        """The end of the line that starts at or after `offset` when its key sorts before `key`;
        None when it does not (or there is no such line)."""
        start = self._line_start(offset)
        if start >= self.size or self.key_at(start) >= key:
            return None
        return self.line_end(start)

    def find(self, key: bytes, low: int) -> int:
        """The start of the first line at or after the line start `low` whose key is `key` or
        sorts after it (`size` if none): a galloping search from `low` (lookups come in key order,
        mostly near the last one), a binary search by byte offset, then line by line."""
        step, high = self._WINDOW, self.size
        while low + step < self.size:
            after = self._before(low + step, key)
            if after is None:
                high = low + step
                break
            low, step = after, step * 2
        while high - low > self._WINDOW:
            middle = (low + high) // 2
            after = self._before(middle, key)
            if after is None:
                high = middle
            else:
                low = after
        while low < self.size and self.key_at(low) < key:
            low = self.line_end(low)
        return low


def _spliced(
    old: _SortedFile, lines: dict[str, bytes | None], read: set[str]
) -> Iterator[tuple[str, bytes | None, bytes | None, tuple[int, int]]]:
    """Over the sorted keys of `lines` (a None line: the key goes) and `read` (keys whose old line
    is wanted as it is): (key, old line or None, new line or None, the old byte range it
    replaces); the unchanged lines between them are the gaps between the ranges."""
    position = 0
    for key in sorted(lines.keys() | read):
        target = key.encode("utf-8")
        start = old.find(target, position)
        end = start
        if start < old.size and old.key_at(start) == target:
            end = old.line_end(start)
        old_line = old.data[start:end] if end > start else None
        new_line = lines.get(key, old_line)
        yield key, old_line, new_line, (start, end)
        position = end


def _pieces(old: _SortedFile, edits: Iterator[tuple[tuple[int, int], bytes | None]]) -> Iterator[Piece]:
    """`write_spliced`'s pieces: the old file's bytes around each edit (a byte range replaced
    by a new line, or by nothing), short gaps read here, long ones left to the kernel."""
    position = 0
    pending: list[bytes] = []
    for (start, end), line in edits:
        if start - position >= _KERNEL_COPY:
            if pending:
                yield b"".join(pending)
                pending = []
            yield (position, start)
        elif start > position:
            pending.append(old.data[position:start])
        if line is not None:
            pending.append(line)
        position = end
        old.release(position)
    if old.size - position >= _KERNEL_COPY:
        if pending:
            yield b"".join(pending)
        yield (position, old.size)
    else:
        pending.append(old.data[position : old.size])
        yield b"".join(pending)


_KERNEL_COPY = 1 << 16  # unchanged stretches this long or longer are copied by the kernel
_RELEASE_BYTES = 1 << 25  # how far the lookups move on before the pages behind them are dropped


def _write_changes(
    grouped: Path, groups: dict[str, Any], previous: Path, new: Path, debug_removals: bool
) -> dict[str, Any]:
    """The outputs of an incremental group stage: the previous generation's files with the
    changed documents' lines (new, re-assigned, departed) and the changed clusters' rows put in
    their sorted places; pages of unchanged clusters linked from the previous generation; the
    summary counted from the previous one and the lines that changed.

    The cost follows the change, not the archive: each changed key's place in the old sorted
    file is found by a search over byte offsets (`_SortedFile.find`), only the lines there are
    read, and the unchanged bytes between them are copied by the kernel (`write_spliced`)."""
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

    def document_edits(old: _SortedFile) -> Iterator[tuple[tuple[int, int], bytes | None]]:
        reassigned = {d for d in assignments if d not in changed}
        for doc_id, old_line, new_line, span in _spliced(old, changed, wanted | reassigned):
            if doc_id in changed:
                if old_line is not None:
                    count(unpack(old_line), -1)
                if new_line is None and doc_id in assignments:  # an old document re-assigned
                    raise RuntimeError(f"{doc_id}: re-assigned but not in the new lines")
            elif doc_id in assignments and old_line is not None:
                record = unpack(old_line)  # kept, with new grouping fields
                record.update(assignments[doc_id])
                new_line = (dumps(record) + "\n").encode("utf-8")
                count(unpack(old_line), -1)
            if new_line is None:
                if old_line is not None:
                    yield span, None
                continue
            if new_line is not old_line:
                count(unpack(new_line), +1)
                yield span, new_line
            if doc_id in wanted:
                members[doc_id] = unpack(new_line)

    with _SortedFile(previous / "documents.jsonl", _ID_KEY) as old:
        write_spliced(new / "documents.jsonl", old.path, _pieces(old, document_edits(old)))
    missing = wanted - set(members)
    if missing:
        raise RuntimeError(f"members of changed clusters without a line: {sorted(missing)[:5]}")
    rows = {cid: canonical_row(cid, [members[d] for d in ids]) for cid, ids in touched.items()}
    row_lines: dict[str, bytes | None] = dict.fromkeys(retired)
    row_lines.update({cid: (dumps(row) + "\n").encode("utf-8") for cid, row in rows.items()})
    clusters = summary["clusters"]

    def canonical_edits(old: _SortedFile) -> Iterator[tuple[tuple[int, int], bytes | None]]:
        nonlocal clusters
        for _, old_line, new_line, span in _spliced(old, row_lines, set()):
            clusters += (new_line is not None) - (old_line is not None)
            if new_line is not None or old_line is not None:
                yield span, new_line

    with _SortedFile(previous / "canonical.jsonl", _CLUSTER_KEY) as old:
        write_spliced(new / "canonical.jsonl", old.path, _pieces(old, canonical_edits(old)))
    _link_pages(previous / CANONICAL_DIR, new / CANONICAL_DIR, keep=lambda stem: stem not in row_lines)
    for cid, row in rows.items():
        # Written in place: no reader sees the generation before `publish` switches to it whole
        # (a killed run's is removed), so a page needs no temporary name of its own.
        with (new / CANONICAL_DIR / f"{cid}.md").open("xb") as page:
            page.write(canonical_markdown(row).encode("utf-8"))
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


def _link_pages(old: Path, new: Path, keep: Callable[[str], bool]) -> None:
    """Make `new` (a fresh folder) hold hard links of the pages in `old` whose stem `keep`
    accepts; names resolved against the two folders' descriptors, not walked as paths."""
    new.mkdir()
    source = os.open(old, os.O_RDONLY | os.O_DIRECTORY)
    target = os.open(new, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for name in os.listdir(source):
            if keep(name[:-3] if name.endswith(".md") else os.path.splitext(name)[0]):  # Path.stem
                os.link(name, name, src_dir_fd=source, dst_dir_fd=target)
    finally:
        os.close(source)
        os.close(target)


# An output on an object store (`--out s3://bucket/prefix`). No rename or link there: the run
# writes its outputs in a local folder as above (with the run state and the lock), then copies
# the published generation to `<url>/generations/<name>/` and writes the pointer `<url>/CURRENT`
# last. One object's PUT is atomic, so a reader that reads `CURRENT` once and then only inside
# the generation it names sees one whole output set, old or new.
POINTER = "CURRENT"
STORE_GENERATIONS = "generations"


def _pointer(fs: Any, root: str) -> dict[str, Any] | None:
    try:
        value = json.loads(fs.cat_file(f"{root}/{POINTER}"))
    except FileNotFoundError:
        return None
    return value if isinstance(value, dict) and isinstance(value.get("generation"), str) else None


def read_pointer(url: str) -> dict[str, Any] | None:
    """The pointer `<url>/CURRENT` of an object-store output (`generation`: the published
    generation's path under `url`; `source`: `local_publication` of the folder that published
    it), or None before the first publication."""
    import fsspec  # deferred: only an output on an object store needs it

    fs, root = fsspec.core.url_to_fs(url)
    root = root.rstrip("/")
    fs.invalidate_cache(root)
    return _pointer(fs, root)


def published_generation(url: str) -> str | None:
    """The URL of the output generation `<url>/CURRENT` names (the reader contract: read the
    pointer once, then read `documents.jsonl`, `canonical.jsonl`, `quarantine.jsonl`,
    `summary.json`, `merges.jsonl` and `canonical/*.md` under the URL returned); None before
    the first publication."""
    pointer = read_pointer(url)
    return None if pointer is None else f"{url.rstrip('/')}/{pointer['generation']}"


def local_publication(out: Path) -> str | None:
    """What identifies the local folder's published output (its generation and the stamps of its
    files, hashed): the pointer records it, so a run knows whether the object store already shows
    this output; None when nothing is published."""
    stamps = output_stamps(out)
    if stamps is None:
        return None
    return hashlib.sha256(json.dumps(stamps, sort_keys=True).encode("utf-8")).hexdigest()[:16]


def publish_to_store(out: Path, url: str) -> str:
    """Copy the output published in the local folder `out` to the object store at `url` as a new
    generation and switch the pointer to it (written last); returns the generation's URL. Does
    nothing when the pointer already names this output (a run that found nothing new, or a
    publication repeated after a run was killed between the local switch and this one). Keeps
    the generation the pointer named before (for readers that read it just before the switch)
    and removes the others (older ones, and copies a killed run left unpublished)."""
    import fsspec  # deferred: only an output on an object store needs it

    current = current_generation(out)
    source = local_publication(out)
    if current is None or source is None:
        raise RuntimeError(f"no published output in {out} to copy to {url}")
    fs, root = fsspec.core.url_to_fs(url)
    root = root.rstrip("/")
    fs.invalidate_cache(root)
    before = _pointer(fs, root)
    if before is not None and before.get("source") == source:
        return f"{url.rstrip('/')}/{before['generation']}"
    name = f"{current.name}-{source}"
    target = f"{root}/{STORE_GENERATIONS}/{name}"
    local = [current / n for n in OUTPUT_FILES]
    local += sorted(p for p in (current / CANONICAL_DIR).glob("*.md"))
    remote = [f"{target}/{p.relative_to(current).as_posix()}" for p in local]
    fs.put([str(p) for p in local], remote)
    pointer = {"generation": f"{STORE_GENERATIONS}/{name}", "files": len(local), "source": source}
    fs.pipe_file(f"{root}/{POINTER}", (json.dumps(pointer, sort_keys=True) + "\n").encode("utf-8"))
    keep = {name, before["generation"].rsplit("/", 1)[-1] if before else name}
    fs.invalidate_cache(f"{root}/{STORE_GENERATIONS}")
    for folder in fs.ls(f"{root}/{STORE_GENERATIONS}", detail=False):
        if folder.rstrip("/").rsplit("/", 1)[-1] not in keep:
            fs.rm(folder, recursive=True)
    return f"{url.rstrip('/')}/{STORE_GENERATIONS}/{name}"
