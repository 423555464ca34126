"""Why two documents of a finished run were (or were not) grouped: `newsclean why ID_A ID_B`.

Reads the output folder's run state read-only (a run's state is never changed by asking), rebuilds
the event graph from the signatures the run stored, and returns the pair's score in parts
(`newsclean.dedup.explain.why`): shared and conflicting specifics, date gap, similarity, the
factors applied, the final weight and the cut.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from newsclean.dedup.explain import why
from newsclean.dedup.signing import DocSignature
from newsclean.dedup.types import DedupDoc
from newsclean.settings import Settings
from newsclean.stages.write import local_publication, read_pointer
from newsclean.state import read_signed_documents


class UnknownDocument(LookupError):
    """An id that the output folder's run state does not hold as a document."""


def stored_documents(out_dir: Path) -> tuple[list[DedupDoc], list[DocSignature]]:
    """Every document the run state holds, as grouping saw it (its cleaned text, title, date and
    outlet) with its stored signature, in id order. Read-only."""
    found = sorted(read_signed_documents(out_dir), key=lambda pair: str(pair[0]["id"]))
    docs = [DedupDoc(d["id"], d["text"], d["title"], d["published"], d["outlet"]) for d, _ in found]
    return docs, [DocSignature.from_bytes(signature) for _, signature in found]


def why_grouped(out_dir: Path, a: str, b: str, settings: Settings | None = None) -> dict[str, Any]:
    """The parts of the same-event score of documents `a` and `b` in the run that wrote `out_dir`
    (grouped with `settings`, the run's; defaults when None). Raises `UnknownDocument`."""
    docs, signatures = stored_documents(out_dir)
    known = {doc.id for doc in docs}
    for doc_id in (a, b):
        if doc_id not in known:
            raise UnknownDocument(f"{doc_id}: no such document in {out_dir}")
    return why(docs, a, b, (settings or Settings()).dedup, signatures=signatures)


def why_grouped_published(
    out_url: str, state_dir: Path, a: str, b: str, settings: Settings | None = None
) -> dict[str, Any]:
    """`why_grouped` for an output on an object store: the run state lives in the local folder
    `state_dir` of the runs that publish it (`newsclean run --out URL --state-dir ...`). The
    pointer `<out_url>/CURRENT` is resolved first; the answer is given only when that state's
    published output is the one the pointer names (else `ValueError`: another folder, or a run
    since, published it)."""
    pointer = read_pointer(out_url)
    mine = local_publication(state_dir)
    if pointer is None:
        raise ValueError(f"{out_url}: nothing published there")
    if mine is None or pointer.get("source") != mine:
        raise ValueError(
            f"{out_url} shows {pointer['generation']}, which the run state in {state_dir} did not publish"
        )
    return why_grouped(state_dir, a, b, settings)
