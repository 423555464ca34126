"""The vectorised pair scorer agrees with the one-pair definition; copies name what they copy."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from test_grouping import (
    TOKYO_2021_A,
    TOKYO_2021_B,
    TOKYO_2021_C,
    TOKYO_2024,
    WASHINGTON_2023,
    seed_doc,
    wire_copy,
)

from newsclean.dedup import DedupDoc, group_documents
from newsclean.dedup.event_space import EventSpace, neighbourhood_levels
from newsclean.dedup.features import event_terms, rarity_prior, shingles, words
from newsclean.dedup.grouping import crowd_scaled, strongest_edges
from newsclean.dedup.signing import shingle_ids, shingle_set
from newsclean.settings import DedupSettings
from support import SEEDS, seed_text


def test_batch_scores_equal_single_scores() -> None:
    docs = [seed_doc(str(i), name) for i, name in enumerate([TOKYO_2021_A, TOKYO_2021_B, WASHINGTON_2023])]
    docs.append(DedupDoc("empty", "", None))  # no words, no terms: scores 0, never fails
    bags: list[Counter[str]] = [event_terms(d.text, d.title) for d in docs]
    space = EventSpace.from_texts([d.text for d in docs], bags, overlap_offset=2.0, overlap_reference=0.3)
    pairs = [(0, 1), (1, 0), (0, 2), (2, 1), (0, 3), (3, 2), (1, 2)]
    batch = space.scores(pairs)
    for (a, b), value in zip(pairs, batch, strict=True):
        assert abs(value - space.score(a, b)) < 1e-12
    assert space.scores([]) == []
    assert batch[4] == 0.0


def test_copy_of_a_non_canonical_member_names_its_original() -> None:
    """A wire copy of a shorter article of the event sits under the event's canonical (a longer
    article), so relation-to-canonical says same_event; duplicate_of still names the copied text."""
    longest = seed_doc("long", TOKYO_2021_B)
    shorter = seed_doc("short", TOKYO_2021_C)
    copy = wire_copy(shorter, "copy")
    other = seed_doc("other", TOKYO_2021_A)
    a = group_documents([longest, shorter, copy, other]).assignments
    assert a["copy"].cluster_id == a["long"].cluster_id == a["short"].cluster_id
    assert a["long"].relation == "canonical" and a["long"].duplicate_of is None
    assert a["copy"].duplicate_of == "short"
    assert a["short"].duplicate_of is None  # the copy group's own canonical
    assert a["other"].duplicate_of is None


def test_exact_copy_is_a_duplicate_of_its_original() -> None:
    original = seed_doc("a", TOKYO_2021_B)
    copy = DedupDoc("b", original.text.upper(), None, None, "Mirror")
    a = group_documents([original, copy]).assignments
    assert a["b"].relation == "exact_duplicate" and a["b"].duplicate_of == "a"
    assert a["a"].duplicate_of is None


def test_neighbourhood_level_is_the_mean_of_the_best_k_scores() -> None:
    pairs = np.array([[0, 1], [0, 2], [0, 3], [1, 2]], dtype=np.int64)
    scores = np.array([0.9, 0.3, 0.6, -0.2])
    levels = neighbourhood_levels(5, pairs, scores, k=2)
    assert levels[0] == pytest.approx((0.9 + 0.6) / 2)  # its two best, not its third
    assert levels[1] == pytest.approx((0.9 + 0.0) / 2)  # a negative score counts as nothing
    assert levels[3] == pytest.approx(0.6 / 2)  # one neighbour: the missing one counts as 0
    assert levels[4] == 0.0  # no candidate at all
    assert not neighbourhood_levels(3, pairs[:0], scores[:0], k=2).any()
    assert not neighbourhood_levels(5, pairs, scores, k=0).any()


def test_crowd_scaling_lowers_crowded_pairs_and_never_raises_any() -> None:
    # Items 0-3 all score high with each other (a crowd); 4-5 are a lone pair.
    crowd = [(a, b) for a in range(4) for b in range(a + 1, 4)]
    pairs = np.array([*crowd, (4, 5)], dtype=np.int64)
    scores = np.array([0.8] * len(crowd) + [0.3])
    settings = DedupSettings(event_crowd_neighbours=3, event_crowd_reference=0.35)
    scaled = crowd_scaled(6, pairs, scores, settings)
    assert scaled[0] == pytest.approx(0.8 * 0.35 / 0.8)  # level 0.8 each: scaled to 0.35
    assert scaled[-1] == pytest.approx(0.3)  # level 0.1: a sparse pair keeps its score
    assert all(s <= raw + 1e-12 for s, raw in zip(scaled, scores, strict=True))
    off = crowd_scaled(6, pairs, scores, DedupSettings(event_crowd_neighbours=0))
    assert off == pytest.approx(list(scores))


def test_crowd_scaling_keeps_the_samples_right() -> None:
    """The samples are a sparse corpus: scaling leaves them as the cut alone groups them."""
    names = [TOKYO_2021_A, WASHINGTON_2023, TOKYO_2021_B, TOKYO_2021_C, TOKYO_2024]
    docs = [seed_doc(str(i), name) for i, name in enumerate(names)]
    for settings in (DedupSettings(), DedupSettings(event_crowd_neighbours=0)):
        clusters = sorted(group_documents(docs, settings).clusters().values())
        assert clusters == [["0", "2", "3"], ["1"], ["4"]]


def test_strongest_edges_keeps_each_items_best_and_drops_non_positive() -> None:
    # Item 0 is linked to 1..4 with falling scores; 5-6 is a lone pair; 2-3 scores nothing.
    pairs = np.array([[0, 1], [0, 2], [0, 3], [0, 4], [5, 6], [2, 3]], dtype=np.int64)
    scores = np.array([0.9, 0.7, 0.5, 0.3, 0.4, -0.1])
    kept = strongest_edges(pairs, scores, per_item=2)
    # 0-3 and 0-4 are not among 0's two best, but are the best of 3 and of 4: an edge stays
    # when either end ranks it; 2-3 is not positive.
    assert kept.tolist() == [True, True, True, True, True, False]
    assert strongest_edges(pairs, scores, per_item=1).tolist() == [True, True, True, True, True, False]
    hub = np.array([[0, k] for k in range(1, 6)] + [[1, k] for k in range(2, 6)], dtype=np.int64)
    hub_scores = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.1, 0.1, 0.1, 0.1])
    kept = strongest_edges(hub, hub_scores, per_item=1)
    assert kept[:5].tolist() == [True, True, True, True, True]  # each leaf's best is its hub link
    assert not kept[5:].any()  # 1's weak links rank last for both ends
    assert strongest_edges(hub, hub_scores, per_item=0).all()


def test_edge_ranks_equal_their_definition_with_ties() -> None:
    """Each end's edges strongest first; equal scores by entry (the edges where the item is
    the first end, by index, before those where it is the second), on graphs full of ties."""
    from newsclean.dedup.event_space import edge_ranks

    rng = np.random.default_rng(3)
    for trial in range(60):
        n_items = int(rng.integers(2, 30))
        ends = rng.integers(0, n_items, (int(rng.integers(0, 200)), 2))
        pairs = ends[ends[:, 0] != ends[:, 1]]
        levels = np.array([0.3, 0.1, 0.0, -0.0, -0.2])
        scores = rng.choice(levels, len(pairs)) if trial % 2 else rng.random(len(pairs))
        n = len(pairs)
        entries = sorted((int(pairs[j % n, j // n]), -scores[j % n], j) for j in range(2 * n))
        items, edges, ranks = edge_ranks(pairs, scores)
        assert items.tolist() == [item for item, _, _ in entries]
        assert edges.tolist() == [j % n for _, _, j in entries]
        seen: Counter[int] = Counter()
        expected_ranks = []
        for item, _, _ in entries:
            expected_ranks.append(seen[item])
            seen[item] += 1
        assert ranks.tolist() == expected_ranks


def test_top_terms_are_each_rows_largest_weights_ties_to_the_smaller_feature() -> None:
    """`EventSpace.top_terms` against its definition, on rows full of equal weights, empty rows
    and rows shorter than k."""
    from scipy import sparse

    rng = np.random.default_rng(5)
    space = EventSpace([], [], overlap_offset=0.75, overlap_reference=0.3)
    for trial in range(40):
        n_rows, n_cols = int(rng.integers(1, 30)), int(rng.integers(1, 60))
        dense = (
            rng.choice([0.0, 0.0, 0.5, 1.0, 2.0], (n_rows, n_cols))
            if trial % 2
            else rng.random((n_rows, n_cols))
        )
        dense[rng.random((n_rows, n_cols)) < 0.5] = 0.0
        space.matrix = sparse.csr_matrix(dense)
        k = int(rng.integers(1, 8))
        expected = []
        for row in dense:
            ranked = sorted((-w, c) for c, w in enumerate(row) if w != 0)
            expected.append({str(c) for _, c in ranked[:k]})
        assert space.top_terms(k) == expected


def test_shingle_ids_are_the_distinct_shingles() -> None:
    text = "the cat sat on the mat and the cat sat on the mat"
    ids = shingle_ids(text, 3)
    assert len(ids) == len(shingles(words(text), 3)) == 7
    assert list(ids) == sorted(ids)
    assert len(shingle_ids("two words", 5)) == 1  # shorter than a shingle: one shingle
    assert len(shingle_ids("", 5)) == 0


def test_plain_word_rarity_equals_wordfreq() -> None:
    """The direct table lookup behind `zipf` gives wordfreq's own value for every word kind it
    takes (common, rare, unseen), and other words still go through wordfreq."""
    from wordfreq import get_frequency_dict, zipf_frequency

    from newsclean.dedup.features import zipf

    table = list(get_frequency_dict("en", "best"))
    plain = [w for w in table[::50] if w.isascii() and w.isalpha() and w.islower()]
    assert len(plain) > 4000
    for word in [*plain, "motegi", "okinawa", "zzqxvkj", "the"]:
        assert zipf(word) == zipf_frequency(word, "en"), word
    for word in ["u.s.", "naïve", "Tokyo", "co-op", "2021"]:
        assert zipf(word) == zipf_frequency(word, "en"), word


def _event_terms_one_token_at_a_time(text: str, title: str | None = None) -> Counter[str]:
    """The definition `event_terms` implements faster: every token judged where it stands."""
    from newsclean.dedup.features import _NAME_MAX_ZIPF, _POSSESSIVE, _RARE_ZIPF, _TOKEN, zipf

    bag: Counter[str] = Counter()
    for source in (text, title or ""):
        run: list[tuple[str, bool]] = []
        last_end = 0
        for match in _TOKEN.finditer(source):
            token = _POSSESSIVE.sub("", match.group(0))
            lower = token.casefold()
            gap = source[last_end : match.start()]
            last_end = match.end()
            if gap.strip():
                run = []
            if len(lower) < 2:
                run = []
                continue
            if token[0].isdigit():
                if len(lower.replace(",", "").replace(".", "")) >= 2:
                    bag["#" + lower] += 1
                run = []
                continue
            if token[0].isupper():
                rare = zipf(lower) < _NAME_MAX_ZIPF
                if rare:
                    bag[lower] += 1
                run.append((lower, rare))
                if len(run) >= 2 and (run[-1][1] or run[-2][1]):
                    bag[run[-2][0] + " " + run[-1][0]] += 1
                continue
            run = []
            if len(lower) >= 4 and zipf(lower) < _RARE_ZIPF:
                bag[lower] += 1
    return bag


@pytest.mark.parametrize("name", [TOKYO_2021_A, TOKYO_2021_B, TOKYO_2021_C, TOKYO_2024, WASHINGTON_2023])
def test_event_terms_equal_their_definition(name: str) -> None:
    doc = seed_doc("x", name)
    assert event_terms(doc.text, doc.title) == _event_terms_one_token_at_a_time(doc.text, doc.title)
    tricky = (
        "Japan's Prime Minister Fumio Kishida met U.S. President Joe Biden. A 2,000-strong crowd "
        "in São Paulo; North  Korea's missile, 1.5bn yen, 21st March. I saw O'Neill's X-ray. "
        "Défense Minister Nobuo Kishi, Okinawa-based troops, the G7 Hiroshima summit."
    )
    for title in (None, "Kishida And Biden Meet In Tokyo", ""):
        assert event_terms(tricky, title) == _event_terms_one_token_at_a_time(tricky, title)


def _top_candidates_by_sorting(
    pairs: np.ndarray, strength: np.ndarray, rank: np.ndarray, k: int
) -> np.ndarray:
    """The definition: sort each item's candidates (strongest, then closest, then first) and
    keep an edge that is among the first k of either end."""
    items = np.concatenate((pairs[:, 0], pairs[:, 1]))
    edges = np.concatenate((np.arange(len(pairs)), np.arange(len(pairs))))
    distance = np.abs(rank[pairs[:, 0]] - rank[pairs[:, 1]])
    order = np.lexsort(
        (edges, np.concatenate((distance, distance)), -np.concatenate((strength, strength)), items)
    )
    items, edges = items[order], edges[order]
    first = np.flatnonzero(np.concatenate(([True], items[1:] != items[:-1])))
    position = np.arange(len(items)) - np.repeat(first, np.diff(np.concatenate((first, [len(items)]))))
    keep = np.zeros(len(pairs), dtype=bool)
    keep[edges[position < k]] = True
    return keep


def test_top_candidates_equal_their_definition() -> None:
    from newsclean.dedup.grouping import top_candidates

    rng = np.random.default_rng(3)
    for _ in range(60):
        n = int(rng.integers(3, 300))
        a, b = rng.integers(0, n, (2, int(rng.integers(2, 3000))))
        drawn = np.stack((np.minimum(a, b), np.maximum(a, b)), axis=1)[a != b]
        pairs = np.unique(drawn, axis=0)
        strength = rng.integers(0, int(rng.integers(1, 20)), len(pairs))
        rank = rng.permutation(n)
        k = int(rng.integers(1, 30))
        expected = _top_candidates_by_sorting(pairs, strength, rank, k)
        codes = pairs[:, 0] * n + pairs[:, 1]
        assert (top_candidates(codes, n, strength, rank, k) == expected).all()
        # as sketch_agreement gives it: 16-bit counts
        assert (top_candidates(codes, n, strength.astype(np.uint16), rank, k) == expected).all()
    empty = np.empty(0, dtype=np.int64)
    assert len(top_candidates(empty, 3, np.empty(0, dtype=np.int64), np.arange(3), 5)) == 0


def test_sketch_agreement_counts_agreeing_low_bytes() -> None:
    from newsclean.dedup.lsh import byte_sketch, sketch_agreement

    rng = np.random.default_rng(5)
    sig = rng.integers(0, 2**32, (6, 130), dtype=np.uint64).astype(np.uint32)  # 130: padded to 136
    sig[1, :70] = sig[0, :70]
    pairs = np.array([[0, 1], [0, 2], [3, 4], [4, 5]])
    padding = 136 - 130
    expected = [int(((sig[i] & 0xFF) == (sig[j] & 0xFF)).sum()) + padding for i, j in pairs]
    assert sketch_agreement(pairs[:, 0] * 6 + pairs[:, 1], 6, byte_sketch(sig)).tolist() == expected
    assert expected[0] >= 70 + padding


@pytest.mark.parametrize("num_perm", [16, 64, 128, 256])
def test_lsh_bands_are_the_ones_datasketch_picks(num_perm: int) -> None:
    """`bands_for` picks the (bands, rows) of `MinHashLSH(threshold, num_perm)`, here over a
    grid of thresholds and the defaults' (near 0.5, event 0.05, topic 0.08)."""
    from datasketch.lsh import _optimal_param

    from newsclean.dedup.lsh import bands_for

    for threshold in [0.05, 0.08, 0.5, *(k / 40 for k in range(1, 40))]:
        assert bands_for(threshold, num_perm) == tuple(_optimal_param(threshold, num_perm, 0.5, 0.5))


def test_lsh_candidates_equal_datasketch_minhashlsh() -> None:
    """Without a bucket cap, the vectorised banding finds exactly the pairs datasketch's
    `MinHashLSH` returns for the same threshold and signatures; with a cap, a subset."""
    from datasketch import MinHash, MinHashLSH

    from newsclean.dedup.lsh import candidate_codes, candidate_pairs, merge_codes, pairs_of_codes
    from newsclean.dedup.minhash import SCHEME, MinHasher

    rng = np.random.default_rng(11)
    vocabulary = [f"w{i}" for i in range(400)]
    base = [set(rng.choice(vocabulary, 30, replace=False).tolist()) for _ in range(40)]
    sets = base + [set(list(s)[:25]) | {"extra"} for s in base[:30]]  # near variants
    signatures = MinHasher(128, 1).signatures(sets)
    for threshold in (0.3, 0.5):
        lsh = MinHashLSH(threshold=threshold, num_perm=128)
        for i, row in enumerate(signatures):
            lsh.insert(str(i), MinHash(num_perm=128, hashvalues=row.astype(np.uint64), scheme=SCHEME))
        expected = {
            (min(i, int(j)), max(i, int(j)))
            for i, row in enumerate(signatures)
            for j in lsh.query(MinHash(num_perm=128, hashvalues=row.astype(np.uint64), scheme=SCHEME))
            if int(j) != i
        }
        found = {tuple(p) for p in candidate_pairs(signatures, threshold).tolist()}
        assert found == expected and expected
        capped = {tuple(p) for p in candidate_pairs(signatures, threshold, bucket_cap=2).tolist()}
        assert capped <= found
    low = candidate_codes(signatures, 0.3)
    high = candidate_codes(signatures, 0.5)
    parts = [low, high]
    union = merge_codes(parts)
    assert parts == []
    assert union.tolist() == sorted(set(low.tolist()) | set(high.tolist()))
    assert {tuple(p) for p in pairs_of_codes(union, len(signatures)).tolist()} == {
        (int(c) // len(signatures), int(c) % len(signatures)) for c in union
    }


@pytest.mark.parametrize("spill", [False, True])
def test_shingle_sets_hold_each_documents_distinct_sorted_hashes(
    spill: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In memory or spilled to a mapped file (written a few sets at a time: 7 here, so the 30
    documents span several writes), the same read-only sets; empty sets and none at all too."""
    from newsclean.dedup.signing import ShingleSets, shingle_set

    monkeypatch.setattr(ShingleSets, "_CHUNK", 7)
    spill_dir = tmp_path if spill else None
    rng = np.random.default_rng(4)
    hashes = [rng.integers(0, 50, int(rng.integers(0, 40))).astype(np.uint32) for _ in range(30)]
    hashes[8] = hashes[21] = np.empty(0, dtype=np.uint32)
    ids = [f"d{i:02d}" for i in range(30)]
    sets = ShingleSets(ids, hashes, spill_dir)
    for doc_id, h in zip(ids, hashes, strict=True):
        assert sets(doc_id).tolist() == sorted(set(h.tolist())) == shingle_set(h).tolist()
    assert sets.sizes(ids).tolist() == [len(set(h.tolist())) for h in hashes]
    assert not sets("d03").flags.writeable
    with pytest.raises(KeyError):
        sets("missing")
    nothing = ShingleSets(["a", "b"], [np.empty(0, dtype=np.uint32)] * 2, spill_dir)
    assert nothing("a").tolist() == [] and nothing.sizes(["a", "b"]).tolist() == [0, 0]
    assert list(tmp_path.iterdir()) == []  # the spill file is deleted at once


@pytest.mark.parametrize("spill", [False, True])
def test_shared_shingles_and_copy_decisions_equal_their_set_definitions(spill: bool, tmp_path: Path) -> None:
    """The compiled merge counts what the two sets share, as Python sets do; a pair is a copy when
    its Jaccard reaches `near_jaccard`, or when at least 8 shingles of the smaller set make up
    `near_containment` of it; an empty set is never a copy."""
    from newsclean.dedup.grouping import _copies
    from newsclean.dedup.signing import ShingleSets

    rng = np.random.default_rng(8)
    base = rng.integers(0, 2**32, 300).astype(np.uint32)
    hashes = [np.empty(0, dtype=np.uint32)]
    for _ in range(40):  # overlapping sets: teasers, copies, strangers
        keep = base[rng.random(len(base)) < rng.choice([0.03, 0.2, 0.8, 1.0])]
        hashes.append(
            np.concatenate((keep, rng.integers(0, 2**32, int(rng.integers(0, 60))).astype(np.uint32)))
        )
    ids = [f"d{i:02d}" for i in range(len(hashes))]
    sets = ShingleSets(ids, hashes, tmp_path if spill else None)
    pairs = [(ids[a], ids[b]) for a in range(len(ids)) for b in range(len(ids)) if a != b]
    left, right = [a for a, _ in pairs], [b for _, b in pairs]
    shared = sets.shared(left, right)
    settings = DedupSettings()
    copies = _copies(shared, sets.sizes(left), sets.sizes(right), settings)
    for k, (a, b) in enumerate(pairs):
        x, y = set(sets(a).tolist()), set(sets(b).tolist())
        assert shared[k] == len(x & y)
        smaller = min(len(x), len(y))
        expected = bool(x and y) and (
            len(x & y) / len(x | y) >= settings.near_jaccard
            or (smaller >= 8 and len(x & y) / smaller >= settings.near_containment)
        )
        assert copies[k] == expected
    assert copies.any() and not copies.all()


def test_signatures_round_trip_and_hold_the_shingles_their_minhash_is_made_from() -> None:
    from newsclean.dedup.minhash import MinHasher
    from newsclean.dedup.signing import DocSignature, Signer, specific_id

    settings = DedupSettings()
    texts = [seed_text(p.name) for p in sorted(SEEDS.glob("*.txt"))] + ["two words", ""]
    signed = Signer(settings).sign(texts, [None] * len(texts))
    near = MinHasher(settings.near_num_perm, settings.seed).signatures_from_tokens(
        [words(t) for t in texts], settings.near_shingle_words
    )
    for text, sig, row in zip(texts, signed, near, strict=True):
        assert (sig.near == row).all()  # the same MinHash as hashing the tokens directly
        assert (shingle_set(sig.shingles) == shingle_ids(text, settings.near_shingle_words)).all()
        back = DocSignature.from_text(sig.to_text())
        for field in ("near", "shingles", "salient", "term_ids", "term_counts", "event_at", "event_priors"):
            assert (getattr(back, field) == getattr(sig, field)).all(), field
        assert (back.exact_key, back.n_words, back.n_shingles) == (sig.exact_key, sig.n_words, sig.n_shingles)
        # The event terms are the bag's: their counts in the features, and their priors.
        bag = event_terms(text)
        assert sorted(sig.term_counts[sig.event_at].tolist()) == sorted(bag.values())
        assert sorted(sig.event_priors.tolist()) == sorted(rarity_prior(t) for t in bag)
    # A wire item: its headline's subject and company codes round-trip too.
    wire = Signer(settings).sign(
        ["Lotus Development Corp said it will ship software for Apple Computer Inc <AAPL> machines."],
        ["LOTUS <LOTS> INTRODUCES NEW SOFTWARE"],
    )[0]
    back = DocSignature.from_text(wire.to_text())
    for field in ("principal_at", "subject_at", "rare_subject_at", "code_at"):
        assert (getattr(back, field) == getattr(wire, field)).all(), field
    assert back.titled and len(wire.code_at) == 1  # <LOTS>, not the <AAPL> its text names
    assert wire.term_ids[wire.code_at[0]] == specific_id("<lots>")


def test_date_closeness_raises_only_pairs_dated_within_the_window() -> None:
    from newsclean.dedup.grouping import date_closeness

    days = np.array([738000, 738001, 738003, -1])  # ordinals; -1: unknown
    pairs = np.array([[0, 1], [0, 2], [0, 3], [3, 3]])
    settings = DedupSettings(event_close_days=1, event_close_bonus=0.5)
    assert date_closeness(days, pairs, settings).tolist() == [1.5, 1.0, 1.0, 1.0]
    off = DedupSettings(event_close_bonus=0.0)
    assert date_closeness(days, pairs, off).tolist() == [1.0, 1.0, 1.0, 1.0]


def test_threads_give_the_same_agreements() -> None:
    """Sketch agreement splits its chunks over threads (`newsclean.dedup.parallel`); the counts must not
    depend on the split, or a run's output would depend on the machine's cores."""
    from newsclean.dedup.lsh import byte_sketch, sketch_agreement
    from newsclean.dedup.parallel import map_ranges

    rng = np.random.default_rng(3)
    sketch = byte_sketch(rng.integers(0, 2**32, (50, 64), dtype=np.uint64).astype(np.uint32))
    pairs = rng.integers(0, 50, (1001, 2))
    codes = pairs[:, 0] * 50 + pairs[:, 1]
    single = sketch_agreement(codes, 50, sketch)
    assert (single == sketch_agreement(codes, 50, sketch, threads=2)).all()
    assert (single == sketch_agreement(codes, 50, sketch, threads=3)).all()
    as_bytes = sketch.view(np.uint8)
    assert single.tolist() == [int((as_bytes[a] == as_bytes[b]).sum()) for a, b in pairs.tolist()]
    spans = map_ranges(lambda lo, hi: list(range(lo, hi)), [0, 3, 3, 7], threads=2)
    assert spans == [[0, 1, 2], [3, 4, 5, 6]]


def test_top_candidates_with_many_ties_equal_their_definition() -> None:
    """Few strength levels over many pairs: most items' cut-offs overflow, so the ties are
    ordered by day distance (the compiled pass lists them; their count is known beforehand)."""
    from newsclean.dedup import grouping

    rng = np.random.default_rng(11)
    n = 120
    a, b = rng.integers(0, n, (2, 4000))
    pairs = np.unique(np.stack((np.minimum(a, b), np.maximum(a, b)), axis=1)[a != b], axis=0)
    strength = rng.integers(0, 6, len(pairs)).astype(np.uint16)
    rank = rng.permutation(n)
    codes = pairs[:, 0] * n + pairs[:, 1]
    kept = grouping.top_candidates(codes, n, strength, rank, 9)
    assert (kept == _top_candidates_by_sorting(pairs, strength.astype(np.int64), rank, 9)).all()
    assert 0 < kept.sum() < len(pairs)


def test_repeats_dropped_in_place_equal_np_unique(monkeypatch: pytest.MonkeyPatch) -> None:
    """The in-place compaction, in steps of 7 so runs of repeats straddle steps, keeps exactly
    the distinct values, and so do the codes of several indexes merged through it."""
    from newsclean.dedup import lsh

    monkeypatch.setattr(lsh, "_STEP", 7)
    rng = np.random.default_rng(5)
    for size, spread in ((0, 1), (1, 1), (200, 3), (500, 40), (64, 1)):
        values = np.sort(rng.integers(0, spread, size)).astype(np.int64)
        expected = np.unique(values)
        assert (lsh._drop_repeats_in_place(values.copy()) == expected).all()
    parts = [np.unique(rng.integers(0, 300, 150)).astype(np.int64) for _ in range(3)]
    expected = np.unique(np.concatenate(parts))
    assert (lsh.merge_codes(parts) == expected).all()


def test_top_candidates_refuse_a_fractional_strength() -> None:
    from newsclean.dedup.grouping import top_candidates

    codes = np.array([1, 2, 5], dtype=np.int64)  # pairs of 3 items: (0,1), (0,2), (1,2)
    with pytest.raises(TypeError, match="integer"):
        top_candidates(codes, 3, np.array([0.5, 1.0, 2.0]), np.arange(3), 1)


def test_freed_memory_goes_back_where_the_c_library_can_trim() -> None:
    import platform

    from newsclean.dedup.memory import release_freed_memory

    trimmed = release_freed_memory()
    if platform.system() == "Linux" and platform.libc_ver()[0] == "glibc":
        assert trimmed  # the machines this is measured on
    else:
        assert trimmed is False


def test_tfidf_rows_equal_their_definition_whatever_the_block(monkeypatch: pytest.MonkeyPatch) -> None:
    """Sublinear tf x smoothed idf, each row L2-normalised (scikit-learn's `TfidfVectorizer(
    sublinear_tf=True)`), computed densely here; normalising in blocks of 3 rows, so blocks
    end mid-corpus and an empty row sits inside one, gives the same weights to the bit."""
    from newsclean.dedup import event_space

    rng = np.random.default_rng(11)
    ids, counts = [], []
    for size in (5, 0, 3, 7, 1, 4, 6, 2, 0, 5):
        row = np.unique(rng.integers(0, 12, size)).astype(np.uint64)
        ids.append(row)
        counts.append(rng.integers(1, 6, len(row)).astype(np.uint32))
    vocabulary = np.unique(np.concatenate(ids))
    dense = np.zeros((len(ids), len(vocabulary)))
    for i, (row, tf) in enumerate(zip(ids, counts, strict=True)):
        dense[i, np.searchsorted(vocabulary, row)] = 1.0 + np.log(tf)
    doc_freq = (dense > 0).sum(axis=0)
    dense *= np.log((1.0 + len(ids)) / (1.0 + doc_freq)) + 1.0
    norms = np.linalg.norm(dense, axis=1, keepdims=True)
    expected = np.divide(dense, norms, out=np.zeros_like(dense), where=norms > 0)

    whole = event_space.tfidf_matrix(ids, counts)
    assert np.allclose(whole.toarray(), expected, rtol=1e-12, atol=0)
    monkeypatch.setattr(event_space, "_ROWS_PER_BLOCK", 3)
    blocked = event_space.tfidf_matrix(ids, counts)
    assert np.array_equal(blocked.data, whole.data)
    assert np.array_equal(blocked.indices, whole.indices)
    assert np.array_equal(blocked.indptr, whole.indptr)


def test_consuming_join_equals_concatenation_and_lets_the_parts_go() -> None:
    from newsclean.dedup.lsh import join_consuming

    rng = np.random.default_rng(2)
    parts = [rng.integers(0, 1000, size).astype(np.int64) for size in (4, 0, 9, 1)]
    expected = np.concatenate(parts)
    assert (join_consuming(parts) == expected).all()
    assert parts == []
    assert len(join_consuming([])) == 0


def test_large_blocks_get_mappings_of_their_own_where_glibc_runs() -> None:
    import platform

    from newsclean.dedup.memory import map_large_blocks_apart

    assert map_large_blocks_apart(0) is False  # 0 keeps the C library's default
    if platform.system() == "Linux" and platform.libc_ver()[0] == "glibc":
        assert map_large_blocks_apart(1 << 20) is True
    else:
        assert map_large_blocks_apart(1 << 20) is False


def test_pair_sums_equal_their_dense_definition_on_any_thread_count() -> None:
    """The compiled pair reduction (`newsclean.dedup.kernels`) against the dense definition: per pair, the
    sum over columns of the two rows' products, and of their minima; rows of different lengths,
    an empty row, a pair of one row with itself, and pairs given either way round. Split over
    threads, every pair's sum is the same to the bit."""
    from scipy import sparse

    from newsclean.dedup.event_space import _pair_reduce

    rng = np.random.default_rng(5)
    dense = rng.random((40, 30)) * (rng.random((40, 30)) < 0.3)
    dense[7] = 0.0  # an empty row
    matrix = sparse.csr_matrix(dense)
    pairs = rng.integers(0, 40, (500, 2))
    pairs[:3] = [[7, 1], [2, 2], [1, 7]]
    left, right = pairs[:, 0], pairs[:, 1]
    products = (dense[left] * dense[right]).sum(axis=1)
    minima = np.minimum(dense[left], dense[right]).sum(axis=1)
    single = _pair_reduce(matrix, left, right, minimum=False)
    assert np.allclose(single, products, rtol=1e-12, atol=1e-15)
    assert np.allclose(_pair_reduce(matrix, left, right, minimum=True), minima, rtol=1e-12, atol=1e-15)
    assert single[0] == 0.0 and single[0] == single[2]
    for threads in (2, 3):
        assert np.array_equal(_pair_reduce(matrix, left, right, minimum=False, threads=threads), single)
    assert len(_pair_reduce(matrix, left[:0], right[:0], minimum=True, threads=2)) == 0
