"""Grouping documents into events: exact copies, near copies, then same-event coverage.

Three layers, each cheaper and stricter than the next is broad:
1. exact: identical normalised text (a hash);
2. near copies: MinHash-LSH over word 5-grams finds candidates, exact Jaccard or containment on
   the shingle sets decides (containment attaches a teaser to its full article);
3. same event: MinHash-LSH over each near-group's most telling event terms finds candidates, a
   TF-IDF cosine over all event terms plus a date window verifies, and average linkage inside each
   connected component groups, so one broad article cannot chain unrelated stories together.
No step compares all pairs: candidates come from LSH, linkage runs per component.
"""

from __future__ import annotations

import math
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import date

import numpy as np
from datasketch import MinHashLSH
from scipy.cluster.hierarchy import fcluster, linkage

from dedup.features import event_terms, exact_key, idf, rarity_prior, salient_terms, shingles, words
from dedup.minhash import MinHasher
from dedup.types import Assignment, DedupDoc, Grouping, Relation
from newsclean.settings import DedupSettings

SparseVector = dict[str, float]


class UnionFind:
    """Disjoint sets over string ids; the smallest id is each set's root, so results are stable."""

    def __init__(self, items: Iterable[str]) -> None:
        self.parent = {item: item for item in items}

    def find(self, item: str) -> str:
        root = item
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[item] != root:
            self.parent[item], item = root, self.parent[item]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            if rb < ra:
                ra, rb = rb, ra
            self.parent[rb] = ra

    def groups(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = defaultdict(list)
        for item in sorted(self.parent):
            out[self.find(item)].append(item)
        return dict(out)


def _lsh_pairs(sets: dict[str, set[str]], hasher: MinHasher, threshold: float) -> set[tuple[str, str]]:
    """Candidate pairs (a < b) whose MinHash signatures collide in some LSH band."""
    ids = sorted(k for k, v in sets.items() if v)
    if len(ids) < 2:
        return set()
    signatures = hasher.signatures([sets[i] for i in ids])
    lsh = MinHashLSH(threshold=threshold, num_perm=hasher.num_perm)
    leans = [hasher.lean(row) for row in signatures]
    with lsh.insertion_session() as session:
        for doc_id, lean in zip(ids, leans, strict=True):
            session.insert(doc_id, lean)
    pairs: set[tuple[str, str]] = set()
    for doc_id, lean in zip(ids, leans, strict=True):
        for other in lsh.query(lean):
            if other != doc_id:
                pairs.add((doc_id, other) if doc_id < other else (other, doc_id))
    return pairs


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


class _EventSpace:
    """Event-term weights for the units being grouped: corpus IDF times general-English rarity.

    Similarity is the weighted overlap coefficient: the weight two stories share over the total
    weight of the shorter one. Cosine would punish a long article for its extra names (a long
    report and a short wire story about one meeting share few of the long one's terms), while
    the overlap asks the right question: how much of the shorter story's evidence the other has.
    """

    def __init__(self, bags: dict[str, Counter[str]]) -> None:
        doc_freq: Counter[str] = Counter()
        for bag in bags.values():
            doc_freq.update(bag.keys())
        n = len(bags)
        self.vectors: dict[str, SparseVector] = {}
        self.totals: dict[str, float] = {}
        for unit, bag in bags.items():
            vec = {
                term: (1.0 + math.log(tf)) * idf(doc_freq[term], n) * rarity_prior(term)
                for term, tf in bag.items()
            }
            vec = {t: w for t, w in vec.items() if w > 0}
            self.vectors[unit] = vec
            self.totals[unit] = sum(vec.values())

    def similarity(self, a: str, b: str) -> float:
        va, vb = self.vectors[a], self.vectors[b]
        if len(va) > len(vb):
            va, vb = vb, va
        shared = sum(min(w, vb[t]) for t, w in va.items() if t in vb)
        smaller = min(self.totals[a], self.totals[b])
        return shared / smaller if smaller > 0 else 0.0


def _dates_compatible(a: date | None, b: date | None, max_days: int) -> bool:
    return a is None or b is None or abs((a - b).days) <= max_days


def _event_score(
    a: str, b: str, space: _EventSpace, days: dict[str, date | None], settings: DedupSettings
) -> float | None:
    """Evidence that two units report one event; None when their dates rule it out.

    Dates within the window on both sides are evidence in their own right (same names in the
    same days), so they add a bonus; a missing date is no evidence either way.
    """
    day_a, day_b = days[a], days[b]
    if not _dates_compatible(day_a, day_b, settings.event_max_days_apart):
        return None
    bonus = settings.event_date_bonus if day_a is not None and day_b is not None else 0.0
    return space.similarity(a, b) + bonus


def _average_linkage(
    units: list[str], space: _EventSpace, days: dict[str, date | None], settings: DedupSettings
) -> list[list[str]]:
    """Average-linkage clusters of one component; date-incompatible pairs count as unrelated."""
    if len(units) == 1:
        return [units]
    m = len(units)
    distances = np.empty(m * (m - 1) // 2)
    k = 0
    for i in range(m):
        for j in range(i + 1, m):
            score = _event_score(units[i], units[j], space, days, settings)
            distances[k] = 2.0 if score is None else 1.0 - score
            k += 1
    tree = linkage(np.clip(distances, 0.0, 2.0), method="average")
    labels = fcluster(tree, t=1.0 - settings.linkage_threshold, criterion="distance")
    clusters: dict[int, list[str]] = defaultdict(list)
    for unit, label in zip(units, labels, strict=True):
        clusters[int(label)].append(unit)
    return sorted(clusters.values())


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

    # 2. Candidates among representatives, from two LSH indexes: word shingles find copies,
    #    salient event terms find coverage of one event. Every candidate pair is first checked as
    #    a copy, so a teaser (too short for Jaccard, found through its names) joins its article.
    shingle_sets = {r: shingles(tokens[r], s.near_shingle_words) for r in reps}
    bags = {r: event_terms(by_id[r].text, by_id[r].title) for r in reps}
    near_pairs = _lsh_pairs(shingle_sets, MinHasher(s.near_num_perm, s.seed), s.near_lsh_threshold)
    salient = {r: salient_terms(bags[r], s.event_terms_per_doc) for r in reps}
    event_pairs = _lsh_pairs(salient, MinHasher(s.event_num_perm, s.seed + 1), s.event_lsh_threshold)
    near = UnionFind(reps)
    for a, b in sorted(near_pairs | event_pairs):
        if _copy_score(shingle_sets[a], shingle_sets[b], s) is not None:
            near.union(a, b)
    near_groups = near.groups()  # unit id (smallest rep) -> reps
    t_near = time.perf_counter()

    # 3. Same event among near-groups, each represented by its longest member.
    unit_doc = {
        unit: _canonical([by_id[r] for r in members], lengths) for unit, members in near_groups.items()
    }
    space = _EventSpace({u: bags[d.id] for u, d in unit_doc.items()})
    unit_pairs = {
        (min(ua, ub), max(ua, ub)) for a, b in event_pairs if (ua := near.find(a)) != (ub := near.find(b))
    }
    unit_day: dict[str, date | None] = {}
    for unit, members in near_groups.items():
        known = [
            day
            for rep in members
            for doc_id in reps[rep]
            if (day := _parse_day(by_id[doc_id].published)) is not None
        ]
        unit_day[unit] = min(known) if known else None
    linked = UnionFind(unit_doc)
    for a, b in sorted(unit_pairs):
        score = _event_score(a, b, space, unit_day, s)
        if score is not None and score >= s.event_similarity:
            linked.union(a, b)
    clusters: list[list[str]] = []
    for component in linked.groups().values():
        if len(component) > s.max_component_size:
            clusters.extend([u] for u in component)  # too broad to be one event: keep apart
        else:
            clusters.extend(_average_linkage(component, space, unit_day, s))
    t_event = time.perf_counter()

    # 4. Canonical and relations.
    unit_of = {
        doc_id: unit for unit, members in near_groups.items() for rep in members for doc_id in reps[rep]
    }
    assignments: dict[str, Assignment] = {}
    for units in clusters:
        member_ids = sorted(doc_id for u in units for rep in near_groups[u] for doc_id in reps[rep])
        canonical = _canonical([by_id[i] for i in member_ids], lengths)
        canon_key = exact_key(canonical.text)
        canon_unit = unit_of[canonical.id]
        canon_shingles = shingles(tokens[canonical.id], s.near_shingle_words)
        cluster_id = "c_" + canonical.id
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
                relation, similarity = "same_event", space.similarity(unit_of[doc_id], canon_unit)
            if similarity is not None:
                similarity = round(similarity, 4)
            assignments[doc_id] = Assignment(cluster_id, canonical.id, relation, similarity)

    finished = time.perf_counter()
    stats = {
        "documents": float(len(docs)),
        "exact_groups": float(len(reps)),
        "near_candidate_pairs": float(len(near_pairs)),
        "near_groups": float(len(near_groups)),
        "event_candidate_pairs": float(len(event_pairs)),
        "candidate_pairs": float(len(near_pairs) + len(event_pairs)),
        "clusters": float(len(clusters)),
        "seconds_near": round(t_near - started, 4),
        "seconds_event": round(t_event - t_near, 4),
        "seconds_total": round(finished - started, 4),
    }
    return Grouping(assignments=assignments, stats=stats)
