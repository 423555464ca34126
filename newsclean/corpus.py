"""Boilerplate learned from the corpus: short lines an outlet repeats across many stories.

Rules cannot know every site's furniture ("Sign up for The Herald's morning briefing", a
standard disclaimer); the corpus can: such a line recurs on an outlet's pages whatever the story.
As in C4, Gopher and datatrove, a short line is boilerplate when enough of the outlet's documents
carry it, with one difference that matters for news: documents are counted once per event
cluster, so a quotation every outlet repeats about one event, or ten syndicated copies of one
article, never looks like furniture. The statistics come from every document in the run state,
so scheduled runs keep learning as the corpus grows, and a full rebuild computes the same ones.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Mapping
from typing import Any

from cleaners.blocks import document_line_keys, repeated_lines
from newsclean.settings import CleaningOptions


def outlet_line_stats(
    documents: list[dict[str, Any]], clusters: Mapping[str, str], max_words: int
) -> dict[str, Counter[str]]:
    """Per outlet, for each short line: in how many event clusters its documents carry it."""
    seen: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for doc in documents:
        outlet = doc["outlet"]
        if not outlet:
            continue
        cluster = clusters.get(doc["id"], doc["id"])
        for key in document_line_keys(doc["text"], max_words=max_words):
            seen[outlet][key].add(cluster)
    return {
        outlet: Counter({key: len(found) for key, found in lines.items()}) for outlet, lines in seen.items()
    }


def remove_repeated_lines(
    documents: list[dict[str, Any]], clusters: Mapping[str, str], options: CleaningOptions
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(documents with their outlet's repeated lines removed, records left with no text).

    Removals are counted under `removed["repeated_line"]`; a document that had nothing but such
    lines becomes a quarantine record rather than an empty document."""
    if not options.repeated_lines:
        return documents, []
    stats = outlet_line_stats(documents, clusters, options.repeated_line_max_words)
    # Only lines counted in enough clusters can go: an outlet with none keeps every document as
    # it is, unread (most outlets of a corpus; re-keying every line cost half of this step).
    frequent = {
        outlet: {key: n for key, n in counts.items() if n >= options.repeated_line_min_docs}
        for outlet, counts in stats.items()
    }
    kept: list[dict[str, Any]] = []
    emptied: list[dict[str, Any]] = []
    for doc in documents:
        outlet_stats = frequent.get(doc["outlet"] or "")
        if not outlet_stats:
            kept.append(doc)
            continue
        lines = doc["text"].split("\n")
        drop = set(
            repeated_lines(
                lines,
                outlet_stats,
                min_docs=options.repeated_line_min_docs,
                max_words=options.repeated_line_max_words,
            )
        )
        if not drop:
            kept.append(doc)
            continue
        text = "\n".join(line for i, line in enumerate(lines) if i not in drop).strip("\n")
        while "\n\n\n" in text:
            text = text.replace("\n\n\n", "\n\n")
        removed = Counter(doc["removed"])
        removed["repeated_line"] += len(drop)
        if not text.strip():
            emptied.append(
                {
                    "source_path": doc["source_path"],
                    "record_id": doc["record_id"],
                    "reason": "no article text",
                    "detail": f"only lines its outlet repeats across stories ({len(drop)})",
                }
            )
            continue
        kept.append(
            {
                **doc,
                "text": text,
                "content_sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
                "removed": dict(sorted(removed.items())),
            }
        )
    return kept, emptied
