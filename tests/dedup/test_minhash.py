"""Behaviour of the vectorised MinHash signer in dedup.minhash.

The signer claims bit-compatibility with datasketch's affine32 scheme (given the same base
hash), so most checks compare against datasketch's own MinHash rather than against numbers
worked out by hand.
"""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from datasketch import MinHash, MinHashLSH

from newsclean.dedup.minhash import (
    EMPTY_HASH,
    MinHasher,
    affine32_permutations,
    hash_ngrams,
    hash_shingles,
    sha1_hashes,
    shingle_hash32,
)

NUM_PERM = 128

SAMPLE_TEXT = (
    "the council voted on tuesday to approve a new budget for schools roads and parks after "
    "months of debate residents packed the hall some cheered others left early the mayor said "
    "the plan would raise taxes slightly but improve services across every district of the city"
)
WORDS = SAMPLE_TEXT.split()


def _text(rng: random.Random, n_words: int) -> list[str]:
    return [rng.choice(WORDS) + str(rng.randrange(50)) for _ in range(n_words)]


def _shingles(tokens: list[str], n: int = 5) -> set[str]:
    """Word n-grams as strings, with the short-text rule of `hash_ngrams` (one shingle)."""
    if not tokens:
        return set()
    return {" ".join(tokens[i : i + n]) for i in range(max(1, len(tokens) - n + 1))}


def _datasketch(shingles: set[str], hashfunc: object = None, seed: int = 1) -> np.ndarray:
    """What datasketch's own MinHash.update_batch gives for the shingles' UTF-8 bytes."""
    kwargs = {} if hashfunc is None else {"hashfunc": hashfunc}
    m = MinHash(num_perm=NUM_PERM, seed=seed, **kwargs)
    if shingles:
        m.update_batch([s.encode("utf-8") for s in shingles])
    return m.hashvalues


def _sigma(j: float, num_perm: int = NUM_PERM) -> float:
    """Standard deviation of the MinHash Jaccard estimate (a binomial proportion)."""
    return math.sqrt(j * (1 - j) / num_perm)


@pytest.fixture(scope="module")
def hasher() -> MinHasher:
    return MinHasher(num_perm=NUM_PERM, seed=1)


# --- bit-compatibility with datasketch -------------------------------------------------------


def test_base_hash_matches_scalar_reference() -> None:
    strings = ["a b c d e", "", "café naïve résumé", "emoji 🎉 here", "x\x00y", "\x00", "a b"]
    expected = [shingle_hash32(s.encode("utf-8")) for s in strings]
    # the NUL-containing strings force the slower boundary path; both paths must agree
    assert hash_shingles(strings).tolist() == expected
    assert hash_shingles(strings[:4]).tolist() == expected[:4]


def test_signatures_equal_datasketch_with_same_base_hash(hasher: MinHasher) -> None:
    rng = random.Random(3)
    sets = [_shingles(_text(rng, k)) for k in (0, 1, 4, 5, 6, 40, 300)] + [{"naïve café ü"}]
    sigs = hasher.signatures(sets)
    assert sigs.dtype == np.uint32
    assert sigs.shape == (len(sets), NUM_PERM)
    for row, s in zip(sigs, sets, strict=True):
        assert np.array_equal(row, _datasketch(s, hashfunc=shingle_hash32))


def test_sha1_base_hashes_reproduce_default_datasketch(hasher: MinHasher) -> None:
    rng = random.Random(4)
    sets = [_shingles(_text(rng, k)) for k in (0, 3, 60)]
    sigs = hasher.signatures_from_hashes([sha1_hashes(s) for s in sets])
    for row, s in zip(sigs, sets, strict=True):
        assert np.array_equal(row, _datasketch(s))  # datasketch's default: SHA-1, affine32


def test_other_seed_and_num_perm_follow_datasketch() -> None:
    shingles = {"one two three", "two three four", "three four five"}
    h = MinHasher(num_perm=64, seed=7)
    m = MinHash(num_perm=64, seed=7, hashfunc=shingle_hash32)
    m.update_batch([s.encode() for s in shingles])
    assert np.array_equal(h.signatures([shingles])[0], m.hashvalues)


@pytest.mark.parametrize(("num_perm", "seed"), [(128, 1), (128, 2), (128, 3), (64, 7), (16, 0), (300, 12345)])
def test_permutations_are_datasketchs(num_perm: int, seed: int) -> None:
    a, b = affine32_permutations(num_perm, seed)
    expected = MinHash(num_perm=num_perm, seed=seed, scheme="affine32").permutations
    assert a.dtype == b.dtype == np.uint32
    assert np.array_equal(a, expected[0]) and np.array_equal(b, expected[1])


# --- determinism -----------------------------------------------------------------------------


def test_identical_sets_identical_signatures(hasher: MinHasher) -> None:
    rng = random.Random(5)
    items = list(_shingles(_text(rng, 80)))
    forward, backward = set(items), set(reversed(items))
    sigs = hasher.signatures([forward, backward, list(items), tuple(reversed(items))])
    assert all(np.array_equal(sigs[0], r) for r in sigs[1:])


def test_deterministic_across_instances_and_processes() -> None:
    sets = [{"the quick brown fox jumps", "quick brown fox jumps over"}, {"lazy dog"}]
    a = MinHasher(num_perm=NUM_PERM, seed=1).signatures(sets)
    b = MinHasher(num_perm=NUM_PERM, seed=1).signatures(list(reversed(sets)))[::-1]
    assert np.array_equal(a, b)
    # Pinned values: no salted Python hash() anywhere, so these hold in every process.
    assert shingle_hash32(b"hello world") == 3966383979
    assert a[0, :6].tolist() == [1660046107, 168190836, 2832100934, 1519115679, 487427755, 2145897480]


# --- Jaccard estimates -----------------------------------------------------------------------


@pytest.mark.parametrize("jaccard", [0.1, 0.5, 0.8])
def test_estimates_close_to_exact_jaccard(hasher: MinHasher, jaccard: float) -> None:
    """Pairs with a known Jaccard: each estimate within 4.5 sigma, the mean within 4 sigma/sqrt(n)."""
    n_pairs, union = 40, 400
    shared = round(jaccard * union)
    only = (union - shared) // 2
    sets: list[set[str]] = []
    for p in range(n_pairs):
        pool = [f"pair{p} jaccard{jaccard} item {i}" for i in range(shared + 2 * only)]
        sets += [set(pool[: shared + only]), set(pool[:shared] + pool[shared + only :])]
    exact = shared / (shared + 2 * only)
    sigs = hasher.signatures(sets)
    est = np.array([np.mean(sigs[2 * p] == sigs[2 * p + 1]) for p in range(n_pairs)])
    sigma = _sigma(exact)
    assert np.all(np.abs(est - exact) < 4.5 * sigma)
    assert abs(est.mean() - exact) < 4 * sigma / math.sqrt(n_pairs)


def test_lean_minhash_jaccard_and_lsh(hasher: MinHasher) -> None:
    rng = random.Random(6)
    original = _text(rng, 200)
    edited = list(original)
    edited[100] = "CHANGED"  # one word: 5 of ~196 shingles differ
    unrelated = _text(random.Random(99), 200)
    sets = [_shingles(t) for t in (original, edited, unrelated)]
    leans = [hasher.lean(row) for row in hasher.signatures(sets)]

    exact = len(sets[0] & sets[1]) / len(sets[0] | sets[1])
    assert abs(leans[0].jaccard(leans[1]) - exact) < 4.5 * _sigma(exact)
    assert leans[0].jaccard(leans[2]) < 0.1

    lsh = MinHashLSH(threshold=0.5, num_perm=NUM_PERM)
    lsh.insert("original", leans[0])
    lsh.insert("unrelated", leans[2])
    assert lsh.query(leans[1]) == ["original"]


# --- empty sets and batching -----------------------------------------------------------------


def test_empty_sets(hasher: MinHasher) -> None:
    assert hasher.signatures([]).shape == (0, NUM_PERM)
    sigs = hasher.signatures([set(), {"a b c"}, set(), set()])
    assert np.all(sigs[[0, 2, 3]] == EMPTY_HASH)
    assert np.array_equal(sigs[0], MinHash(num_perm=NUM_PERM, seed=1).hashvalues)
    assert np.array_equal(sigs[1], hasher.signatures([{"a b c"}])[0])
    assert hasher.lean(sigs[0]).is_empty()
    assert not hasher.lean(sigs[1]).is_empty()
    assert np.all(hasher.signatures_from_tokens([[], []], 5) == EMPTY_HASH)
    assert np.all(hasher.signatures_from_hashes([np.array([], np.uint32)]) == EMPTY_HASH)


def test_chunk_boundaries_do_not_change_results(hasher: MinHasher) -> None:
    """Documents split across chunks (a huge one hashed in pieces) still get their own minima."""
    rng = random.Random(8)
    token_lists = [_text(rng, k) for k in (0, 300, 0, 30, 2, 120, 7, 0, 55, 1, 0)]
    sets = [_shingles(t) for t in token_lists]
    expected = np.stack([hasher.signatures([s])[0] for s in sets])

    small = MinHasher(num_perm=NUM_PERM, seed=1)
    small._chunk = 40  # tiny: several documents are over a chunk, most chunks hold several
    assert np.array_equal(small.signatures(sets), expected)
    assert np.array_equal(small.signatures_from_tokens(token_lists, 5), expected)
    assert np.array_equal(hasher.signatures(sets), expected)


# --- word n-grams straight from tokens -------------------------------------------------------


def test_ngram_hashes_equal_hashing_the_joined_strings() -> None:
    """Also n-grams at the buffer's very start: an empty first token, a one-byte one."""
    for tokens in (
        ["Über", "die", "Brücke", "", "gehen", "wir", "heute", "🎉"],
        ["", "a", "", "bc", "d"],
        ["a", "bc", "", "d", "é"],
    ):
        for n in (1, 2, 5, 8, 20):
            strings = [" ".join(tokens[i : i + n]) for i in range(max(1, len(tokens) - n + 1))]
            assert hash_ngrams(tokens, n).tolist() == hash_shingles(strings).tolist()
    assert hash_ngrams([], 5).size == 0
    with pytest.raises(ValueError):
        hash_ngrams(tokens, 0)


def test_signatures_from_tokens_match_string_shingles(hasher: MinHasher) -> None:
    rng = random.Random(9)
    token_lists = [_text(rng, k) for k in (0, 1, 3, 5, 6, 200)]
    token_lists.append(["new york", "city", "council", "votes", "today", "again"])  # spaces inside
    sets = [_shingles(t) for t in token_lists]
    assert np.array_equal(hasher.signatures_from_tokens(token_lists, 5), hasher.signatures(sets))


def test_signatures_and_hashes_keep_the_hashes_the_signatures_were_made_from() -> None:
    """Small and huge texts (the second over a chunk, hashed in pieces) and empty ones."""
    rng = random.Random(10)
    token_lists = [_text(rng, k) for k in (0, 300, 0, 30, 2, 120, 7, 0, 55, 1, 0)]
    small = MinHasher(num_perm=NUM_PERM, seed=1)
    small._chunk = 40
    token_lists.append(["new york", "city", "council", "votes", "today", "again"])  # spaces inside
    signatures, hashes = small.signatures_and_hashes(token_lists, 5)
    assert np.array_equal(signatures, small.signatures_from_tokens(token_lists, 5))
    assert [h.tolist() for h in hashes] == [hash_ngrams(t, 5).tolist() for t in token_lists]
    # The signer passes the texts it joined for the exact-copy key: the same signatures and hashes.
    joined = [" ".join(t) for t in token_lists]
    given, given_hashes = small.signatures_and_hashes(token_lists, 5, joined)
    assert np.array_equal(given, signatures)
    assert [h.tolist() for h in given_hashes] == [h.tolist() for h in hashes]


def test_signatures_from_hashes_rejects_out_of_range(hasher: MinHasher) -> None:
    with pytest.raises(ValueError):
        hasher.signatures_from_hashes([np.array([1 << 32], dtype=np.uint64)])
    with pytest.raises(ValueError):
        hasher.signatures_from_hashes([np.array([-1])])
