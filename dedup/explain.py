"""Why two documents were (or were not) grouped as one event: the parts of their score.

For `newsclean why ID_A ID_B` and for anyone who needs to trust a cluster: the principal
specifics the two stories share and those on which they disagree, their date gap, the
similarity, the factors the grouping applied, the final weight and the cut it is compared with.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from newsclean.dedup.features import event_terms, principal_terms, rarity_prior, subject_terms
from newsclean.dedup.grouping import EventGraph, _parse_day, date_closeness, date_gaps, event_graph
from newsclean.dedup.signing import DocSignature, Signer, specific_id
from newsclean.dedup.types import DedupDoc
from newsclean.settings import DedupSettings

_SHOWN = 15  # terms listed per side


def why(
    docs: Sequence[DedupDoc],
    a: str,
    b: str,
    settings: DedupSettings | None = None,
    *,
    signatures: Sequence[DocSignature] | None = None,
    graph: EventGraph | None = None,
) -> dict[str, Any]:
    """The score of documents `a` and `b` (ids among `docs`, which carry their texts) in parts.

    `signatures` (one per document, as the run state holds them) and `graph` (their
    `event_graph`) are made when not given. Keys: shared_specifics (event terms both stories
    hold, rarest first), conflicting_specifics (each side's principal specifics, the title's,
    that the other story never mentions: what `conflict` weighs), unmatched_specifics (each
    side's event terms the other never mentions, rarest first), date_gap_days, cosine, overlap,
    event_score (cosine x overlap factor), conflict, subjects (each side's headline name rarest
    in the corpus, None without one), different_subjects (each subject absent from the other
    story: a cannot-link), agreement (1 - conflict), date_close_factor,
    date_gap_factor, edge_weight (the weight clustering saw, after crowd scaling; None when the
    pair was no candidate or its edge was not kept), threshold (the cut), same_cluster."""
    s = settings or (graph.settings if graph is not None else DedupSettings())
    by_id = {d.id: d for d in docs}
    doc_a, doc_b = by_id[a], by_id[b]
    if signatures is None:
        signatures = Signer(s).sign([d.text for d in docs], [d.title for d in docs])
    sig_of = {d.id: sig for d, sig in zip(docs, signatures, strict=True)}
    if graph is None:
        graph = event_graph(zip(docs, signatures, strict=True), s)
    mine = _specifics(doc_a, sig_of[b])
    theirs = _specifics(doc_b, sig_of[a])
    bag_a, bag_b = event_terms(doc_a.text, doc_a.title), event_terms(doc_b.text, doc_b.title)
    unit_index = {u: i for i, u in enumerate(graph.units)}
    unit_of = {doc_id: unit for unit, members in graph.members.items() for doc_id in members}
    ua, ub = unit_index[unit_of[a]], unit_index[unit_of[b]]
    ra, rb = graph.unit_rep[ua], graph.unit_rep[ub]
    left, right = np.array([ra], dtype=np.int64), np.array([rb], dtype=np.int64)
    space = graph.space
    conflict = float(space.pair_conflicts(left, right)[0])
    apart = bool(space.pair_disagreements(left, right)[0])
    day_a, day_b = _parse_day(doc_a.published), _parse_day(doc_b.published)
    days = np.array([d.toordinal() if d else -1 for d in (day_a, day_b)], dtype=np.int64)
    pair = np.array([[0, 1]], dtype=np.int64)
    pairs = graph.edges.pairs
    hit = np.flatnonzero(
        ((pairs[:, 0] == ua) & (pairs[:, 1] == ub)) | ((pairs[:, 0] == ub) & (pairs[:, 1] == ua))
    )
    labels = graph.grouping().assignments
    return {
        "a": a,
        "b": b,
        "same_unit": ua == ub,  # copies of one text: no event score needed
        "shared_specifics": _strongest(set(bag_a) & set(bag_b)),
        "conflicting_specifics": {a: sorted(mine["missing"]), b: sorted(theirs["missing"])},
        "unmatched_specifics": {
            a: _strongest(set(bag_a) - set(bag_b)),
            b: _strongest(set(bag_b) - set(bag_a)),
        },
        "date_gap_days": abs((day_a - day_b).days) if day_a and day_b else None,
        "cosine": round(space.cosine(ra, rb), 4),
        "overlap": round(space.overlap(ra, rb), 4),
        "event_score": round(space.score(ra, rb), 4),
        "conflict": round(conflict, 4),
        "subjects": {a: _subject(graph, ra, unit_of[a], sig_of), b: _subject(graph, rb, unit_of[b], sig_of)},
        "different_subjects": apart,  # a cannot-link: never one cluster, whatever the score
        "agreement": round(1.0 - conflict, 4),
        "date_close_factor": round(
            1.0 + (float(date_closeness(days, pair, s)[0]) - 1.0) * (1.0 - conflict), 4
        ),
        "date_gap_factor": round(float(date_gaps(days, pair, s)[0]), 4),
        # None also for a cannot-link (weight -inf, which JSON cannot hold): see different_subjects.
        "edge_weight": _finite(graph.edges.weights[hit[0]]) if len(hit) else None,
        "threshold": s.linkage_threshold,
        "same_cluster": labels[a].cluster_id == labels[b].cluster_id,
    }


def _subject(graph: EventGraph, item: int, unit: str, sig_of: dict[str, DocSignature]) -> str | None:
    """The subject `EventSpace` took for `item` (its headline name rarest in the corpus), named.

    The space keeps no term strings: the item's row holds its features in the order of its
    signature's term ids, so the member whose signature matches the row names the column."""
    space = graph.space
    subject = space.subject_matrix.getrow(item)
    if not subject.nnz:
        return None
    row = space.matrix.getrow(item)
    at = int(np.searchsorted(row.indices, subject.indices[0]))
    for doc_id in graph.members[unit]:
        sig, doc = sig_of[doc_id], graph.by_id[doc_id]
        if len(sig.term_ids) != row.nnz:
            continue
        names: set[str] = set()
        bag = event_terms(doc.text, doc.title, names)
        for term in subject_terms(principal_terms(doc.text, doc.title, bag), doc.title, names):
            if sig.term_ids[at] == np.uint64(specific_id(term)):
                return term
    return None


def _finite(weight: float) -> float | None:
    return round(float(weight), 4) if np.isfinite(weight) else None


def _strongest(terms: set[str], k: int = _SHOWN) -> list[str]:
    """Up to `k` single-word terms, rarest in general English first (numbers and names first)."""
    return sorted((t for t in terms if " " not in t), key=lambda t: (-rarity_prior(t), t))[:k]


def _specifics(doc: DedupDoc, other: DocSignature) -> dict[str, set[str]]:
    """`doc`'s principal specifics split by whether the other story's features hold them."""
    ids = set(other.term_ids.tolist())
    terms = principal_terms(doc.text, doc.title)
    held = {t for t in terms if specific_id(t) in ids}
    return {"shared": held, "missing": terms - held}
