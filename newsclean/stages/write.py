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
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

from newsclean.output import read_jsonl, write_atomic, write_jsonl
from newsclean.records import CleanedDocument
from newsclean.report import canonical_markdown

OUTPUT_FILES = ("documents.jsonl", "canonical.jsonl", "quarantine.jsonl", "summary.json")
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


def output_stamps(out: Path) -> dict[str, list[int]] | None:
    """Size and modification time of every file of the output contract, and the published
    generation (None if one is missing or the links are not as `publish` left them): the same
    rule that says a raw file is unchanged says an output was not touched since."""
    current = current_generation(out)
    if current is None:
        return None
    for name in (*OUTPUT_FILES, CANONICAL_DIR):
        link = out / name
        if not link.is_symlink() or os.readlink(link) != f"{CURRENT}/{name}":
            return None
    names = [*OUTPUT_FILES, *sorted(f"canonical/{p.name}" for p in (out / "canonical").glob("*.md"))]
    stamps: dict[str, list[int]] = {CURRENT: [_number(current), 0]}
    for name in names:
        try:
            stat = (out / name).stat()
        except OSError:
            return None
        stamps[name] = [stat.st_size, stat.st_mtime_ns]
    return stamps


def _sources_order(source: dict[str, Any]) -> tuple[int, str]:
    return (0 if source["relation"] == "canonical" else 1, source["id"])


def write_outputs(grouped_dir: str, out_dir: str, debug_removals: bool = False) -> dict[str, Any]:
    """Write the output contract (README, "Output contract") from the group stage's work folder
    into a new generation of `out_dir` and publish it (see the module's docstring); returns the
    deterministic summary it also writes. Canonical pages of clusters that no longer exist are
    not in the new generation."""
    out = Path(out_dir)
    grouped = Path(grouped_dir)
    _adopt_legacy(out)
    previous = current_generation(out)
    new = _new_generation(out)

    def old(name: str) -> Path | None:
        return previous / name if previous is not None else None

    documents = read_jsonl(grouped / "documents.jsonl")
    quarantine = read_jsonl(grouped / "quarantine.jsonl")
    groups = json.loads((grouped / "groups.json").read_text(encoding="utf-8"))
    assignments: dict[str, dict[str, Any]] = groups["assignments"]

    records: list[dict[str, Any]] = []
    for doc in sorted(map(CleanedDocument.from_json, documents), key=lambda d: d.id):
        a = assignments[doc.id]
        record = doc.to_json()
        removals = record.pop("removals")
        record.update(
            cluster_id=a["cluster_id"],
            canonical_id=a["canonical_id"],
            relation=a["relation"],
            similarity=a["similarity"],
            duplicate_of=a["duplicate_of"],
        )
        if debug_removals:
            record["removals"] = removals
        records.append(record)
    write_jsonl(new / "documents.jsonl", records, same_as=old("documents.jsonl"))

    clusters: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        clusters.setdefault(record["cluster_id"], []).append(record)
    canonical_rows: list[dict[str, Any]] = []
    for cluster_id in sorted(clusters):
        members = clusters[cluster_id]
        canonical = next(m for m in members if m["relation"] == "canonical")
        ranked = sorted(members, key=_sources_order)
        dates = sorted(m["published"] for m in members if m["published"])
        row = {
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
        canonical_rows.append(row)
    write_jsonl(new / "canonical.jsonl", canonical_rows, same_as=old("canonical.jsonl"))

    md_dir = new / CANONICAL_DIR
    md_dir.mkdir()
    for row in canonical_rows:
        name = f"{row['cluster_id']}.md"
        write_atomic(md_dir / name, canonical_markdown(row), durable=False, same_as=old(f"canonical/{name}"))

    quarantine_sorted = sorted(quarantine, key=lambda q: (q["source_path"], q["record_id"] or ""))
    write_jsonl(new / "quarantine.jsonl", quarantine_sorted, same_as=old("quarantine.jsonl"))

    removed: Counter[str] = Counter()
    for record in records:
        removed.update(record["removed"])
    relations = Counter(r["relation"] for r in records)
    reasons = Counter(q["reason"] for q in quarantine_sorted)
    summary = {
        "documents": len(records),
        "quarantined": len(quarantine_sorted),
        "quarantine_reasons": dict(sorted(reasons.items())),
        "clusters": len(canonical_rows),
        "canonical_documents": len(canonical_rows),
        "relations": dict(sorted(relations.items())),
        "removed": dict(sorted(removed.items())),
    }
    content = json.dumps(summary, indent=2, sort_keys=True) + "\n"
    write_atomic(new / "summary.json", content, same_as=old("summary.json"))
    publish(out, new, previous)
    return summary
