"""Stage 4, write: the output contract, from the group stage's work folder.

Each output file is written atomically (a temporary file, then a rename), sorted, so the same
input gives the same bytes whatever the batch size, worker count or executor.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from newsclean.output import read_jsonl, write_atomic, write_jsonl
from newsclean.records import CleanedDocument
from newsclean.report import canonical_markdown

OUTPUT_FILES = ("documents.jsonl", "canonical.jsonl", "quarantine.jsonl", "summary.json")


def output_stamps(out: Path) -> dict[str, list[int]] | None:
    """Size and modification time of every file of the output contract (None if one is missing):
    the same rule that says a raw file is unchanged says an output was not touched since."""
    names = [*OUTPUT_FILES, *sorted(f"canonical/{p.name}" for p in (out / "canonical").glob("*.md"))]
    stamps: dict[str, list[int]] = {}
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
    into `out_dir`, each file atomically; returns the deterministic summary it also writes.
    Canonical Markdown files of clusters that no longer exist are removed."""
    out = Path(out_dir)
    grouped = Path(grouped_dir)
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
    write_jsonl(out / "documents.jsonl", records)

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
    write_jsonl(out / "canonical.jsonl", canonical_rows)

    md_dir = out / "canonical"
    md_dir.mkdir(parents=True, exist_ok=True)
    wanted = {f"{row['cluster_id']}.md" for row in canonical_rows}
    for row in canonical_rows:
        write_atomic(md_dir / f"{row['cluster_id']}.md", canonical_markdown(row), durable=False)
    for stale in md_dir.glob("*.md"):
        if stale.name not in wanted:
            stale.unlink()

    quarantine_sorted = sorted(quarantine, key=lambda q: (q["source_path"], q["record_id"] or ""))
    write_jsonl(out / "quarantine.jsonl", quarantine_sorted)

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
    write_atomic(out / "summary.json", json.dumps(summary, indent=2, sort_keys=True) + "\n")
    return summary
