"""Grouping relations on real article text: copies, wire edits, rewrites, and what must stay apart."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from newsclean.cleaners import clean_text
from newsclean.dedup import DedupDoc, group_documents
from newsclean.dedup.features import event_terms, exact_key, shingles, words
from newsclean.dedup.grouping import EventGraph, event_graph
from newsclean.dedup.signing import Signer
from newsclean.settings import DedupSettings
from support import seed_text


def seed_doc(doc_id: str, name: str) -> DedupDoc:
    cleaned = clean_text(seed_text(name))
    meta = cleaned.metadata
    return DedupDoc(doc_id, cleaned.text, meta.title, meta.published, meta.outlet)


TOKYO_2021_A = "000_cd16a20b02b0c67d.txt"
WASHINGTON_2023 = "001_5ad0f19daa08a087.txt"
TOKYO_2021_B = "002_e5de64b388efb1a4.txt"
TOKYO_2021_C = "003_42f1c81c42cc92c4.txt"
TOKYO_2024 = "004_9bb03da469b49762.txt"


def wire_copy(doc: DedupDoc, doc_id: str) -> DedupDoc:
    """What syndication does: new dateline, a paragraph cut, an editor's note appended."""
    paragraphs = doc.text.split("\n\n")
    edited = ["TOKYO (Wire) —" + paragraphs[1], *paragraphs[2:-2], paragraphs[-1]]
    edited.append("Editor's note: this story has been updated with the ministers' joint statement.")
    return DedupDoc(doc_id, "\n\n".join(edited), "Blinken, Austin open Asia tour in Tokyo", None, "Wire Copy")


def test_exact_copy_ignores_case_and_spacing() -> None:
    original = seed_doc("a", TOKYO_2021_B)
    copy = DedupDoc("b", "  " + original.text.upper().replace("\n\n", "\n"), None, None, "Mirror")
    assert exact_key(original.text) == exact_key(copy.text)
    grouping = group_documents([original, copy])
    assert grouping.assignments["b"].relation == "exact_duplicate"
    assert grouping.assignments["b"].similarity == 1.0
    assert grouping.assignments["a"].relation == "canonical"


def test_lightly_edited_wire_copy_is_a_near_duplicate() -> None:
    original = seed_doc("orig", TOKYO_2021_B)
    copy = wire_copy(original, "copy")
    grouping = group_documents([original, copy, seed_doc("other", WASHINGTON_2023)])
    a = grouping.assignments
    assert a["copy"].cluster_id == a["orig"].cluster_id
    assert a["orig"].relation == "canonical"  # the more complete text is canonical
    assert a["copy"].relation == "near_duplicate"
    assert a["copy"].similarity is not None and 0.5 < a["copy"].similarity < 1.0
    assert a["other"].cluster_id != a["orig"].cluster_id
    # What the run writes of each assignment: every field, as dataclasses.asdict names them.
    assert all(x.as_dict() == dataclasses.asdict(x) for x in a.values())


def test_teaser_is_attached_to_its_full_article_by_containment() -> None:
    full = seed_doc("full", TOKYO_2021_B)
    teaser_text = " ".join(full.text.split()[:120])
    grouping = group_documents([full, DedupDoc("teaser", teaser_text)])
    assert grouping.assignments["teaser"].canonical_id == "full"
    assert grouping.assignments["teaser"].relation == "near_duplicate"


def test_same_event_rewrites_group_and_other_meetings_stay_apart() -> None:
    docs = [
        seed_doc("tokyo21a", TOKYO_2021_A),
        seed_doc("dc23", WASHINGTON_2023),
        seed_doc("tokyo21b", TOKYO_2021_B),
        seed_doc("tokyo21c", TOKYO_2021_C),
        seed_doc("tokyo24", TOKYO_2024),
    ]
    grouping = group_documents(docs)
    assert sorted(grouping.clusters().values()) == [
        ["dc23"],
        ["tokyo21a", "tokyo21b", "tokyo21c"],
        ["tokyo24"],
    ]
    a = grouping.assignments
    assert {a[i].relation for i in ("tokyo21a", "tokyo21b", "tokyo21c")} == {"canonical", "same_event"}
    # The rewrites really are paraphrases: almost no shared word 5-grams.
    s1 = shingles(words(docs[0].text), 5)
    s2 = shingles(words(docs[3].text), 5)
    assert len(s1 & s2) / len(s1 | s2) < 0.02


def _graph(docs: list[DedupDoc]) -> EventGraph:
    settings = DedupSettings()
    signatures = Signer(settings).sign([d.text for d in docs], [d.title for d in docs])
    return event_graph(zip(docs, signatures, strict=True), settings)


def _first_half(text: str) -> str:
    paragraphs = text.split("\n\n")
    return "\n\n".join(paragraphs[: max(1, len(paragraphs) // 2)])


def _seed_docs() -> list[DedupDoc]:
    names = {"tokyo21a": TOKYO_2021_A, "dc23": WASHINGTON_2023, "tokyo21b": TOKYO_2021_B,
             "tokyo21c": TOKYO_2021_C, "tokyo24": TOKYO_2024}  # fmt: skip
    return [seed_doc(doc_id, name) for doc_id, name in names.items()]


def test_a_left_out_document_no_longer_holds_two_events_together() -> None:
    """Half of the 2023 Washington story glued to half of a 2021 Tokyo one scores high against
    both, and average linkage joins the two events through it. Left out (as the pipeline leaves
    out a document that turned out to be all furniture), it takes no part in the clustering."""
    seeds = _seed_docs()
    by_id = {d.id: d for d in seeds}
    bridge = DedupDoc(
        "bridge", _first_half(by_id["dc23"].text) + "\n\n" + _first_half(by_id["tokyo21a"].text)
    )
    graph = _graph([*seeds, bridge])
    bridged = sorted(graph.grouping().clusters().values())
    assert ["bridge", "dc23", "tokyo21a", "tokyo21b", "tokyo21c"] in bridged
    without = graph.grouping(leave_out=["bridge"])
    assert "bridge" not in without.assignments
    assert sorted(without.clusters().values()) == [
        ["dc23"],
        ["tokyo21a", "tokyo21b", "tokyo21c"],
        ["tokyo24"],
    ]
    assert without.stats["documents"] == len(seeds)


def test_leaving_out_nothing_or_a_loner_changes_no_other_assignment() -> None:
    seeds = _seed_docs()
    graph = _graph(seeds)
    whole = graph.grouping()
    assert whole.assignments == group_documents(seeds).assignments
    without_loner = graph.grouping(leave_out=["tokyo24"])
    assert without_loner.assignments == {k: v for k, v in whole.assignments.items() if k != "tokyo24"}


def _same(reused: EventGraph, fresh: EventGraph, leave_out: list[str]) -> bool:
    return reused.grouping(leave_out=leave_out).assignments == fresh.grouping(leave_out=leave_out).assignments


def test_clustering_again_around_the_left_out_equals_clustering_everything_again() -> None:
    """After a clustering of every unit, one with some left out clusters again only the parts
    of the graph that held them; a graph that never clustered everything clusters it all. Both
    give the same assignments, whichever documents are left out."""
    seeds = _seed_docs()
    by_id = {d.id: d for d in seeds}
    bridge = DedupDoc(
        "bridge", _first_half(by_id["dc23"].text) + "\n\n" + _first_half(by_id["tokyo21a"].text)
    )
    docs = [*seeds, bridge, wire_copy(by_id["tokyo24"], "wire24"), wire_copy(by_id["dc23"], "wire23")]
    settings = DedupSettings()
    signatures = Signer(settings).sign([d.text for d in docs], [d.title for d in docs])
    pairs = list(zip(docs, signatures, strict=True))
    ids = [d.id for d in docs]
    for leave_out in ([i] for i in ids):
        reused = event_graph(iter(pairs), settings)
        reused.grouping()
        fresh = event_graph(iter(pairs), settings)
        assert not fresh.labels_of_all
        assert _same(reused, fresh, leave_out)
    reused = event_graph(iter(pairs), settings)
    whole = reused.grouping()
    for leave_out in (["bridge", "wire24"], ["tokyo21a", "tokyo21b", "dc23"], ids[:-1]):
        fresh = event_graph(iter(pairs), settings)
        assert _same(reused, fresh, leave_out)
    assert reused.grouping().assignments == whole.assignments


def test_leaving_out_a_canonical_elects_another() -> None:
    seeds = _seed_docs()
    graph = _graph(seeds)
    canonical = graph.grouping().assignments["tokyo21b"].canonical_id
    rest = graph.grouping(leave_out=[canonical]).assignments
    survivors = sorted({"tokyo21a", "tokyo21b", "tokyo21c"} - {canonical})
    new_canonical = rest[survivors[0]].canonical_id
    assert new_canonical in survivors and new_canonical != canonical
    assert {rest[i].cluster_id for i in survivors} == {"c_" + new_canonical}
    assert sorted(rest[i].relation for i in survivors) == ["canonical", "same_event"]


def test_dates_far_apart_keep_lookalike_stories_apart() -> None:
    first = seed_doc("first", TOKYO_2021_A)
    second = seed_doc("second", TOKYO_2021_C)
    together = group_documents([first, second])
    assert together.assignments["first"].cluster_id == together.assignments["second"].cluster_id
    years_later = DedupDoc(second.id, second.text, second.title, "2024-07-28", second.outlet)
    apart = group_documents([first, years_later])
    assert apart.assignments["first"].cluster_id != apart.assignments["second"].cluster_id


def test_grouping_is_deterministic_and_order_free() -> None:
    docs = [
        seed_doc(str(i), name)
        for i, name in enumerate(sorted([TOKYO_2021_A, TOKYO_2021_B, TOKYO_2021_C, TOKYO_2024]))
    ]
    first = group_documents(docs).assignments
    second = group_documents(list(reversed(docs))).assignments
    assert first == second


def test_the_event_graph_reads_a_stream_of_signed_documents_once_in_any_order() -> None:
    """The pipeline streams (document, signature) pairs from its run state in path order; the
    graph must read them once and give what the documents sorted by id give."""
    docs = [*_seed_docs(), wire_copy(seed_doc("x", TOKYO_2021_B), "wire")]
    settings = DedupSettings()
    signatures = Signer(settings).sign([d.text for d in docs], [d.title for d in docs])
    pairs = list(zip(docs, signatures, strict=True))
    expected = event_graph(iter(pairs), settings).grouping()
    streamed = event_graph((pair for pair in reversed(pairs)), settings).grouping()
    assert streamed.assignments == expected.assignments
    assert expected.assignments["wire"].relation == "near_duplicate"
    with pytest.raises(ValueError, match="unique"):
        event_graph(iter([pairs[0], pairs[0]]), settings)


def test_event_terms_are_names_numbers_and_rare_words() -> None:
    bag = event_terms("Japanese Defense Minister Nobuo Kishi met Blinken in Tokyo on Tuesday, 2021.")
    assert {"nobuo", "kishi", "nobuo kishi", "blinken", "#2021"} <= set(bag)
    assert "minister" not in bag and "defense" not in bag and "met" not in bag


def test_thresholds_come_from_settings() -> None:
    docs = [seed_doc("a", TOKYO_2021_A), seed_doc("c", TOKYO_2021_C)]
    strict = group_documents(docs, DedupSettings(linkage_threshold=0.99))
    assert len(strict.clusters()) == 2
    assert strict.stats["candidate_pairs"] >= 1


def test_linkage_without_edges_between_strong_parts_equals_linkage_over_every_edge() -> None:
    """`average_linkage` drops the edges between the parts joined by edges at or above the cut
    before merging; on random graphs of many parts, with edges above and below the cut and some
    units' edges removed (as the pipeline leaves emptied documents out), it must give exactly
    the labels of the greedy loop over every edge."""
    import random

    from newsclean.dedup.linkage import Edges, _greedy_average_linkage, average_linkage

    rng = random.Random(11)
    n = 400
    threshold = 0.17
    edges: dict[tuple[int, int], float] = {}
    for _ in range(900):  # parts of about ten units: edges mostly inside a block of ten
        a = rng.randrange(n)
        b = min(n - 1, max(0, a + rng.randint(-9, 9))) if rng.random() < 0.95 else rng.randrange(n)
        if a != b:
            edges[(min(a, b), max(a, b))] = rng.choice([rng.uniform(0.0, 0.5), -0.1])
    for dead in ([], [7], [3, 150, 151, 399], rng.sample(range(n), 40)):
        live = Edges.of({p: w for p, w in edges.items() if p[0] not in dead and p[1] not in dead})
        assert average_linkage(n, live, threshold) == _greedy_average_linkage(n, live, threshold)
    assert len(set(average_linkage(n, Edges.of(edges), threshold))) < n - 50  # the cut does merge here
    assert average_linkage(3, Edges.of({}), threshold) == [0, 1, 2]


def _python_average_linkage(n_items: int, edges: list[tuple[int, int, float]], threshold: float) -> list[int]:
    """The definition of the greedy merge loop, in plain Python (what `newsclean.dedup.kernels` compiles):
    dictionaries of cluster-to-cluster sums and a heap of (-average, ids, versions)."""
    import heapq

    size = dict.fromkeys(range(n_items), 1)
    sums: dict[int, dict[int, float]] = {i: {} for i in range(n_items)}
    for a, b, sim in edges:
        if a != b and (sim > 0 or sim == -math.inf):
            sums[a][b] = sums[a].get(b, 0.0) + sim
            sums[b][a] = sums[b].get(a, 0.0) + sim
    version = dict.fromkeys(range(n_items), 0)
    heap = [(-t, a, b, 0, 0) for a, row in sums.items() for b, t in row.items() if a < b and t >= threshold]
    heapq.heapify(heap)
    parent = list(range(n_items))
    while heap:
        negative, a, b, va, vb = heapq.heappop(heap)
        if a not in size or b not in size or version[a] != va or version[b] != vb:
            continue
        if -negative < threshold:
            break
        parent[b] = a
        size[a] += size.pop(b)
        merged = sums[a]
        merged.pop(b, None)
        for k, total in sums.pop(b).items():
            if k != a:
                merged[k] = merged.get(k, 0.0) + total
                sums[k][a] = sums[k].get(a, 0.0) + sums[k].pop(b, 0.0)
        version[a] += 1
        del version[b]
        for k, total in merged.items():
            if total / (size[a] * size[k]) >= threshold:
                lo, hi = min(a, k), max(a, k)
                heapq.heappush(heap, (-total / (size[a] * size[k]), lo, hi, version[lo], version[hi]))
    labels = []
    for i in range(n_items):
        while parent[i] != i:
            i = parent[i]
        labels.append(i)
    return labels


def test_compiled_linkage_gives_the_labels_of_its_python_definition() -> None:
    """The compiled merge loop against the Python one on random graphs: repeated and reversed
    edges, self-loops, weights at or below 0, and many equal weights (ties break on ids)."""
    import random

    from newsclean.dedup.linkage import Edges, _greedy_average_linkage

    rng = random.Random(5)
    for trial in range(30):
        n = rng.randint(1, 120)
        levels = [0.1, 0.2, 0.25, 0.3] if trial % 2 else None  # half the graphs: ties everywhere
        edges = []
        for _ in range(rng.randint(0, 4 * n)):
            a, b = rng.randrange(n), rng.randrange(n)
            weight = rng.choice(levels) if levels else rng.choice([rng.uniform(0, 0.6), -0.1, 0.0])
            edges.append((a, b, weight))
        pairs = np.array([(a, b) for a, b, _ in edges], dtype=np.int64).reshape(-1, 2)
        weights = np.array([w for _, _, w in edges], dtype=np.float64)
        got = _greedy_average_linkage(n, Edges(pairs, weights), 0.17)
        assert got == _python_average_linkage(n, edges, 0.17)
    assert _greedy_average_linkage(0, Edges(np.empty((0, 2), np.int64), np.empty(0)), 0.17) == []


def test_a_lone_story_joins_the_cluster_it_fits_nearly_as_well_as_its_loosest_member() -> None:
    """After the linkage, a story left alone joins the cluster its median edge into is highest
    for (edges it lacks count as 0) when that median reaches `fit` x the cluster's looseness
    (its least attached member's average, or the cut if higher); nothing else moves, two lone
    stories never pair up below the cut, and one member alike to everything carries no one in."""
    from newsclean.dedup.linkage import Edges, attach_lone_items, average_linkage

    cut, fit = 0.17, 0.72
    # A tight cluster of four (0-3: looseness 0.3), a loose pair (4-5: 0.2), lone stories 6-9.
    edges = {(a, b): 0.3 for a in range(4) for b in range(4) if a < b}
    edges[(4, 5)] = 0.2
    edges |= {(4, 6): 0.16, (5, 6): 0.14}  # average 0.15 >= 0.72 x 0.2: joins the pair
    edges |= {(0, 7): 0.16, (1, 7): 0.16, (2, 7): 0.16, (3, 7): 0.16}  # 0.16 < 0.72 x 0.3: stays
    edges |= {(8, 9): 0.16, (0, 8): 0.05}  # lone 8 and 9 stay apart; 8's 0.0125 is far too low
    labels = average_linkage(10, Edges.of(edges), cut)
    assert len(set(labels[:4])) == 1 and labels[4] == labels[5] and len(set(labels)) == 6
    joined = attach_lone_items(labels, Edges.of(edges), cut, fit)
    assert joined[6] == labels[4]
    assert joined[:6] + joined[7:] == labels[:6] + labels[7:]
    assert attach_lone_items(labels, Edges.of(edges), cut, 0.5)[7] == labels[0]  # 0.16 >= 0.5 x 0.3
    assert attach_lone_items(labels, Edges.of(edges), cut, 0.0) == labels  # 0 switches it off
    # A hub: a cluster of three (looseness 0.2) and a lone story close to one member only. At
    # fit 0.5 its mean (0.103) is below the cut and above 0.5 x 0.2, but its median is 0.06.
    hub = {(0, 1): 0.2, (0, 2): 0.2, (1, 2): 0.2, (0, 3): 0.19, (1, 3): 0.06, (2, 3): 0.06}
    hub_labels = average_linkage(4, Edges.of(hub), cut)
    assert len(set(hub_labels[:3])) == 1 and hub_labels[3] != hub_labels[0]
    assert attach_lone_items(hub_labels, Edges.of(hub), cut, 0.5) == hub_labels
    hub[(2, 3)] = 0.12  # now the median is 0.12 >= 0.1: it does fit in
    assert attach_lone_items(hub_labels, Edges.of(hub), cut, 0.5)[3] == hub_labels[0]
    # Equal medians against two equal clusters: the smaller label wins, whatever the edge order.
    tie = {(0, 1): 0.3, (2, 3): 0.3, (0, 4): 0.15, (1, 4): 0.15, (2, 4): 0.15, (3, 4): 0.15}
    tie_labels = average_linkage(5, Edges.of(tie), cut)
    assert len(set(tie_labels)) == 3
    for ordered in (tie, dict(reversed(tie.items()))):
        joined_tie = attach_lone_items(tie_labels, Edges.of(ordered), cut, 0.4)
        assert joined_tie[4] == min(tie_labels[0], tie_labels[2])


def test_choices_per_item_split_by_owner_equal_the_whole() -> None:
    """`top_candidates` and `strongest_edges` with `owned`: partitions of the items, each given
    every pair of its items (in their global order), choose together what the whole chooses,
    ties included (the dask engine's per-item steps rest on this)."""
    from newsclean.dedup.grouping import strongest_edges, top_candidates

    rng = np.random.default_rng(31)
    cut = 0  # cases where the choices drop pairs
    for _ in range(40):
        n = int(rng.integers(4, 200))
        a, b = rng.integers(0, n, (2, int(rng.integers(10, 2000))))
        drawn = np.stack((np.minimum(a, b), np.maximum(a, b)), axis=1)[a != b]
        pairs = np.unique(drawn, axis=0)
        codes = pairs[:, 0] * n + pairs[:, 1]
        strength = rng.integers(0, 6, len(pairs)).astype(np.uint16)  # many ties
        scores = rng.integers(-2, 5, len(pairs)) / 4.0  # ties, and non-positive edges
        rank = rng.permutation(n)
        k = int(rng.integers(1, 12))
        whole_top = top_candidates(codes, n, strength, rank, k)
        whole_strong = strongest_edges(pairs, scores, k)
        top = np.zeros(len(pairs), dtype=bool)
        strong = np.zeros(len(pairs), dtype=bool)
        cuts = np.sort(rng.choice(np.arange(1, n), size=min(3, n - 1), replace=False))
        for lo, hi in zip(np.concatenate(([0], cuts)), np.concatenate((cuts, [n])), strict=True):
            owned = np.zeros(n, dtype=bool)
            owned[lo:hi] = True
            mine = np.flatnonzero(owned[pairs[:, 0]] | owned[pairs[:, 1]])
            top[mine[top_candidates(codes[mine], n, strength[mine], rank, k, owned)]] = True
            strong[mine[strongest_edges(pairs[mine], scores[mine], k, owned)]] = True
        assert (top == whole_top).all()
        assert (strong == whole_strong).all()
        cut += int(not whole_top.all()) + int(not (whole_strong | (scores <= 0)).all())
    assert cut > 20
