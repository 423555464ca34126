"""Grouping documents into events: exact copies, near copies, then same-event coverage.

Three layers, each cheaper and stricter than the next is broad:
1. exact: identical normalised text (a hash);
2. near copies: MinHash-LSH over word 5-grams finds candidates, exact Jaccard or containment on
   the shingle sets decides (containment attaches a teaser to its full article);
3. same event: MinHash-LSH over each story's most salient event terms finds candidates, a score
   combining TF-IDF cosine and event-term overlap (see `dedup.event_space`) with a date penalty
   weighs them, and average linkage over that sparse graph groups, so one broad article cannot
   chain unrelated stories together.
No step compares all pairs: candidates come from LSH, and linkage only sees candidate pairs.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Sequence
from datetime import date

import numpy as np
from datasketch import MinHashLSH

from dedup.event_space import EventSpace
from dedup.features import event_terms, exact_key, salient_terms, shingles, words
from dedup.linkage import average_linkage
from dedup.minhash import EMPTY_HASH, MinHasher
from dedup.types import Assignment, DedupDoc, Grouping, Relation
from dedup.unionfind import UnionFind
from newsclean.settings import DedupSettings


def _lsh_pairs(
    ids: Sequence[str], signatures: np.ndarray, hasher: MinHasher, threshold: float
) -> set[tuple[str, str]]:
    """Candidate pairs (a < b) whose MinHash signatures collide in some LSH band.

    Rows of ids whose set was empty carry the empty signature and are left out."""
    empty = np.all(signatures == EMPTY_HASH, axis=1) if len(ids) else np.zeros(0, dtype=bool)
    keep = [i for i in range(len(ids)) if not empty[i]]
    if len(keep) < 2:
        return set()
    lsh = MinHashLSH(threshold=threshold, num_perm=hasher.num_perm)
    leans = {ids[i]: hasher.lean(signatures[i]) for i in keep}
    with lsh.insertion_session() as session:
        for doc_id, lean in leans.items():
            session.insert(doc_id, lean)
    pairs: set[tuple[str, str]] = set()
    for doc_id, lean in leans.items():
        for other in lsh.query(lean):
            if other != doc_id:
                pairs.add((doc_id, other) if doc_id < other else (other, doc_id))
    return pairs


def _plausible_copies(
    pairs: Sequence[tuple[int, int]], signatures: np.ndarray, sizes: np.ndarray, settings: DedupSettings
) -> list[bool]:
    """Which pairs could be copies, judged from their MinHash signatures alone.

    The exact check intersects two shingle sets; most same-event candidates are nowhere near a
    copy, and their signatures say so at a fraction of the cost. The margin (0.15 below either
    threshold, several standard errors at 128 permutations) keeps every real copy."""
    if not pairs:
        return []
    out: list[bool] = []
    for start in range(0, len(pairs), 50_000):
        chunk = np.asarray(pairs[start : start + 50_000])
        jaccard = (signatures[chunk[:, 0]] == signatures[chunk[:, 1]]).mean(axis=1)
        size_a, size_b = sizes[chunk[:, 0]], sizes[chunk[:, 1]]
        shared = jaccard / (1.0 + jaccard) * (size_a + size_b)
        containment = shared / np.maximum(np.minimum(size_a, size_b), 1)
        ok = (jaccard >= settings.near_jaccard - 0.15) | (containment >= settings.near_containment - 0.15)
        out.extend(bool(x) for x in ok)
    return out


def _copy_score(a: set[str], b: set[str], settings: DedupSettings) -> float | None:
    """Jaccard if the two shingle sets are copies of one text (by Jaccard or containment)."""
    if not a or not b:
        return None
    shared = len(a & b)
    jaccard = shared / len(a | b)
    if jaccard >= settings.near_jaccard:
        return jaccard
    smaller = min(len(a), len(b))
    # A handful of shingles contained in a long text proves little; demand a real teaser.
    if smaller >= 8 and shared / smaller >= settings.near_containment:
        return jaccard
    return None


def _parse_day(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def _date_penalty(a: date | None, b: date | None, settings: DedupSettings) -> float:
    """Known dates further apart than the window are evidence of two events, growing with the
    gap: a fortnight apart is a follow-up, years apart is another event. Not a veto, because some
    labelled events (a crisis, a trial) run for months; a missing date is no evidence at all."""
    if a is None or b is None:
        return 0.0
    days = abs((a - b).days)
    window = max(settings.event_max_days_apart, 1)
    if days <= window:
        return 0.0
    return min(1.0, settings.event_date_penalty * math.log2(days / window))


def _canonical(members: list[DedupDoc], lengths: dict[str, int]) -> DedupDoc:
    """Most complete text wins; the earliest date, then the smallest id, break ties."""
    return min(
        members,
        key=lambda d: (-lengths[d.id], d.published or "9999-99-99", d.id),
    )


def group_documents(docs: Sequence[DedupDoc], settings: DedupSettings | None = None) -> Grouping:
    """Assign every document to a cluster with one canonical and a relation to it."""
    s = settings or DedupSettings()
    started = time.perf_counter()
    by_id = {d.id: d for d in docs}
    if len(by_id) != len(docs):
        raise ValueError("document ids must be unique")
    tokens = {d.id: words(d.text) for d in docs}
    lengths = {i: len(t) for i, t in tokens.items()}

    # 1. Exact copies share a key; one representative each goes on.
    exact_groups: dict[str, list[str]] = defaultdict(list)
    for doc_id in sorted(by_id):
        exact_groups[exact_key(by_id[doc_id].text)].append(doc_id)
    reps = {members[0]: members for members in exact_groups.values()}

    # 2. Candidates among representatives, from two LSH indexes: word shingles find copies, each
    #    story's top TF-IDF terms (words and event terms) find coverage of one event. Every
    #    candidate pair is first checked as a copy, so a teaser (too short for Jaccard, found
    #    through what it is about) joins its article.
    rep_ids = sorted(reps)
    index = {r: i for i, r in enumerate(rep_ids)}
    shingle_sets = {r: shingles(tokens[r], s.near_shingle_words) for r in rep_ids}
    bags = [event_terms(by_id[r].text, by_id[r].title) for r in rep_ids]
    space = EventSpace(
        [f"{by_id[r].title or ''}\n{by_id[r].text}" for r in rep_ids],
        bags,
        overlap_offset=s.event_overlap_offset,
        overlap_reference=s.event_overlap_reference,
    )
    near_hasher = MinHasher(s.near_num_perm, s.seed)
    near_signatures = near_hasher.signatures_from_tokens([tokens[r] for r in rep_ids], s.near_shingle_words)
    near_pairs = _lsh_pairs(rep_ids, near_signatures, near_hasher, s.near_lsh_threshold)
    event_hasher = MinHasher(s.event_num_perm, s.seed + 1)
    salient = [salient_terms(bag, s.event_terms_per_doc) for bag in bags]
    event_pairs = _lsh_pairs(rep_ids, event_hasher.signatures(salient), event_hasher, s.event_lsh_threshold)
    if s.topic_terms_per_doc:
        topic_hasher = MinHasher(s.event_num_perm, s.seed + 2)
        topical = [space.top_terms(i, s.topic_terms_per_doc) for i in range(len(rep_ids))]
        event_pairs |= _lsh_pairs(
            rep_ids, topic_hasher.signatures(topical), topic_hasher, s.topic_lsh_threshold
        )
    near = UnionFind(rep_ids)
    checked = sorted(near_pairs | event_pairs)
    sizes = np.array([len(shingle_sets[r]) for r in rep_ids], dtype=np.float64)
    plausible = _plausible_copies([(index[a], index[b]) for a, b in checked], near_signatures, sizes, s)
    for (a, b), maybe in zip(checked, plausible, strict=True):
        if maybe and _copy_score(shingle_sets[a], shingle_sets[b], s) is not None:
            near.union(a, b)
    near_groups = near.groups()  # unit id (smallest rep) -> reps
    t_near = time.perf_counter()

    # 3. Same event among near-groups, each represented by its longest member.
    units = sorted(near_groups)
    unit_index = {u: i for i, u in enumerate(units)}
    unit_rep = [index[_canonical([by_id[r] for r in near_groups[u]], lengths).id] for u in units]
    unit_day: list[date | None] = []
    for u in units:
        known = [
            day
            for rep in near_groups[u]
            for doc_id in reps[rep]
            if (day := _parse_day(by_id[doc_id].published)) is not None
        ]
        unit_day.append(min(known) if known else None)
    unit_pairs = sorted(
        {
            (min(ia, ib), max(ia, ib))
            for a, b in event_pairs
            if (ia := unit_index[near.find(a)]) != (ib := unit_index[near.find(b)])
        }
    )
    scores = space.scores([(unit_rep[a], unit_rep[b]) for a, b in unit_pairs])
    edges = {
        pair: score - _date_penalty(unit_day[pair[0]], unit_day[pair[1]], s)
        for pair, score in zip(unit_pairs, scores, strict=True)
    }
    labels = average_linkage(len(units), edges, s.linkage_threshold)
    by_label: dict[int, list[str]] = defaultdict(list)
    for unit, label in zip(units, labels, strict=True):
        by_label[label].append(unit)
    clusters = sorted(by_label.values())
    t_event = time.perf_counter()

    # 4. Canonical and relations.
    unit_of = {
        doc_id: unit for unit, members in near_groups.items() for rep in members for doc_id in reps[rep]
    }
    # Same-event similarity of each unit to its cluster's canonical unit, scored in one batch.
    to_canon: list[tuple[str, str]] = []
    for members in clusters:
        docs_in = [by_id[i] for v in members for r in near_groups[v] for i in reps[r]]
        canon_of_cluster = unit_of[_canonical(docs_in, lengths).id]
        to_canon.extend((u, canon_of_cluster) for u in members if u != canon_of_cluster)
    to_canon_scores = dict(
        zip(
            to_canon,
            space.scores([(unit_rep[unit_index[u]], unit_rep[unit_index[c]]) for u, c in to_canon]),
            strict=True,
        )
    )
    assignments: dict[str, Assignment] = {}
    for units in clusters:
        member_ids = sorted(doc_id for u in units for rep in near_groups[u] for doc_id in reps[rep])
        canonical = _canonical([by_id[i] for i in member_ids], lengths)
        canon_key = exact_key(canonical.text)
        canon_unit = unit_of[canonical.id]
        canon_shingles = shingles(tokens[canonical.id], s.near_shingle_words)
        cluster_id = "c_" + canonical.id
        copy_canonical = {
            u: _canonical([by_id[d] for rep in near_groups[u] for d in reps[rep]], lengths).id
            for u in units
        }
        for doc_id in member_ids:
            relation: Relation
            similarity: float | None
            if doc_id == canonical.id:
                relation, similarity = "canonical", None
            elif exact_key(by_id[doc_id].text) == canon_key:
                relation, similarity = "exact_duplicate", 1.0
            elif unit_of[doc_id] == canon_unit:
                mine = shingles(tokens[doc_id], s.near_shingle_words)
                union = len(mine | canon_shingles) or 1
                relation, similarity = "near_duplicate", len(mine & canon_shingles) / union
            else:
                relation, similarity = "same_event", to_canon_scores[(unit_of[doc_id], canon_unit)]
            if similarity is not None:
                similarity = round(similarity, 4)
            copy_of = copy_canonical[unit_of[doc_id]]
            assignments[doc_id] = Assignment(
                cluster_id, canonical.id, relation, similarity, None if copy_of == doc_id else copy_of
            )

    finished = time.perf_counter()
    stats = {
        "documents": float(len(docs)),
        "exact_groups": float(len(reps)),
        "near_candidate_pairs": float(len(near_pairs)),
        "near_groups": float(len(near_groups)),
        "event_candidate_pairs": float(len(event_pairs)),
        "event_edges": float(len(edges)),
        "candidate_pairs": float(len(near_pairs) + len(event_pairs)),
        "clusters": float(len(clusters)),
        "seconds_near": round(t_near - started, 4),
        "seconds_event": round(t_event - t_near, 4),
        "seconds_total": round(finished - started, 4),
    }
    return Grouping(assignments=assignments, stats=stats)
