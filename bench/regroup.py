"""Regroup a finished run's documents with other grouping settings, without cleaning again.

Why: at 100k documents a `newsclean run` spends about 7 minutes cleaning before it groups, and a
grouping setting (candidates per story, the bucket cap) only shows what it does at that scale.
This reads the documents and signatures a run stored in its run state
(`<out>/.newsclean/state.sqlite`), runs the pipeline's own grouping on them
(`newsclean.dedup.grouping.event_graph`, the code `newsclean run` calls), and prints its seconds, its
candidate counts and, for a corpus built by `perf_corpus.py`, the same-event scores against the
events the corpus was made from (the manifest beside its raw folder).

Signing settings must be those of the run (they are in the state's fingerprint); grouping
settings are free.

Examples:
    .venv/bin/python bench/perf_corpus.py --docs 10000 --out /tmp/c10k
    .venv/bin/newsclean run --raw /tmp/c10k/raw --out /tmp/o10k
    .venv/bin/python bench/regroup.py --out /tmp/o10k --manifest /tmp/c10k/manifest.json \\
        --set event_candidates_per_story=0 --set event_candidates_per_story=120
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import time
from pathlib import Path
from typing import Any

import groupmetrics as gm

from newsclean.dedup.grouping import event_graph
from newsclean.dedup.signing import DocSignature
from newsclean.records import CleanedDocument
from newsclean.settings import Settings
from newsclean.stages.group import grouping_input
from newsclean.state import read_signed_documents, state_path


def load_state(out: Path) -> tuple[list[CleanedDocument], dict[str, DocSignature]]:
    """The stored documents (sorted by id, as the pipeline groups them) and their signatures."""
    documents: list[CleanedDocument] = []
    signatures: dict[str, DocSignature] = {}
    for stored, signature in read_signed_documents(out):
        document = CleanedDocument.from_json(stored)
        documents.append(document)
        signatures[document.id] = DocSignature.from_bytes(signature)
    documents.sort(key=lambda d: d.id)
    return documents, signatures


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, required=True, help="a newsclean output folder (with its run state)")
    ap.add_argument("--manifest", type=Path, help="perf_corpus.py manifest.json, to score events")
    ap.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE",
        help="a DedupSettings override; each --set is one grouping (none: the defaults)",
    )  # fmt: skip
    ap.add_argument("--profile", action="store_true", help="print the 25 costliest functions")
    args = ap.parse_args()
    t = time.perf_counter()
    documents, signatures = load_state(args.out)
    print(f"{len(documents):,} documents from {state_path(args.out)} in {time.perf_counter() - t:.1f} s")
    event: dict[str, str] = {}
    if args.manifest:
        event = {e["path"]: e["event"] for e in json.loads(args.manifest.read_text())["entries"]}
    for override in args.set or [""]:
        dedup: dict[str, Any] = {}
        if override:
            key, _, value = override.partition("=")
            dedup[key] = json.loads(value)
        settings = Settings.model_validate({"dedup": dedup})
        profiler = cProfile.Profile() if args.profile else None
        t = time.perf_counter()
        if profiler:
            profiler.enable()
        signed = ((grouping_input(d), signatures[d.id]) for d in documents)
        grouping = event_graph(signed, settings.dedup).grouping()
        if profiler:
            profiler.disable()
        seconds = time.perf_counter() - t
        s = grouping.stats
        line = (
            f"{override or 'defaults'}: {seconds:.1f} s, {int(s['event_lsh_pairs']):,} event LSH pairs -> "
            f"{int(s['event_candidate_pairs']):,} scored, {int(s['clusters']):,} clusters"
        )
        if event:
            truth = {d.id: event[d.source_path] for d in documents if d.source_path in event}
            pred = {i: grouping.assignments[i].cluster_id for i in truth}
            sc = gm.score(truth, pred)
            line += f"; event ARI {sc.ari:.4f}, P {sc.precision:.4f}, R {sc.recall:.4f}"
        print(line, flush=True)
        if profiler:
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
