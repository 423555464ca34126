"""MinHash signatures for many documents at once, as datasketch objects.

Why this exists: datasketch's ``MinHash.update_batch`` spends most of its time calling SHA-1 once
per shingle from Python, then builds an ``n_shingles x num_perm`` array per document. Here
the same construction is done for a whole chunk of documents with a handful of numpy calls:

1. **Base hash** (one 32-bit value per shingle). Instead of SHA-1 per string, the shingles of
   a chunk are joined into one byte buffer and every shingle gets a 64-bit polynomial hash of
   its bytes, computed for all of them at once from sums over that buffer (see
   `_hash_groups`), then folded to 32 bits by multiply-shift (datasketch's own fmix32
   pre-mix avalanches it afterwards). The scalar reference is `shingle_hash32`, which can be
   handed to datasketch as ``hashfunc``.
2. **Permutations** -- datasketch 2.0's ``"affine32"`` scheme, bit for bit: the same ``a``, ``b``
   (drawn as a datasketch ``MinHash`` with the same ``num_perm`` and ``seed`` draws them:
   `affine32_permutations`), the same 32-bit fmix pre-mix, ``a * h + b mod 2**32`` and a
   column minimum per document.

So a signature equals ``datasketch.MinHash(num_perm, seed, hashfunc=shingle_hash32)`` fed
with the UTF-8 bytes of the same shingles, and `MinHasher.signatures_from_hashes` equals
datasketch for *any* base hash (e.g. `sha1_hashes`, which reproduces datasketch's default
MinHash exactly, at datasketch's hashing speed).

The signatures are not interchangeable with default (SHA-1) datasketch MinHash objects: both
say ``scheme="affine32"``, but the base hash differs, so never put both kinds in one LSH index.

Word n-grams: `hash_ngrams` / `MinHasher.signatures_from_tokens` hash every
``" ".join(tokens[i:i + n])`` straight from the token list, without building the shingle
strings (the n-gram is a contiguous slice of ``" ".join(tokens)``, so one prefix sum over the
text serves all of them); the values are identical to hashing those strings.
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections.abc import Collection, Iterable, Iterator, Sequence
from itertools import chain, pairwise
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
from numba import njit

if TYPE_CHECKING:
    from datasketch import LeanMinHash

SCHEME = "affine32"
"""The datasketch permutation scheme the signatures follow (datasketch >= 2.0)."""

EMPTY_HASH = np.uint32(0xFFFFFFFF)
"""Every value of an empty set's signature (datasketch's initial / "empty" state)."""

U32Array = npt.NDArray[np.uint32]
U64Array = npt.NDArray[np.uint64]
I64Array = npt.NDArray[np.int64]

_MASK64 = (1 << 64) - 1
# Polynomial base: any odd 64-bit constant works (odd makes it invertible mod 2**64, which the
# prefix-sum trick needs); this one is the 64-bit golden-ratio constant, with well-spread bits.
_POLY_BASE = 0x9E3779B97F4A7C15
_POLY_BASE_INV = pow(_POLY_BASE, -1, 1 << 64)
# Folds the byte length into the hash so that e.g. b"a" and b"\x00a" differ.
_LEN_MUL = 0xC2B2AE3D27D4EB4F
# Multiply-shift (Dietzfelbinger et al.) from 64 to 32 bits: the top half of a product with an
# odd constant depends on every bit of the polynomial hash, including its weak low bits.
_FOLD_MUL = 0xD6E8FEB86659FD93
# The length term of `_finish`, folded in advance.
_LEN_FOLD = (_LEN_MUL * _FOLD_MUL) & _MASK64
# MurmurHash3 fmix32 constants: datasketch's affine32 pre-mix, which does the avalanching.
_FMIX32_M1 = 0x85EBCA6B
_FMIX32_M2 = 0xC2B2AE35

# Bytes that cannot occur inside a shingle / token in the fast paths; if they do, a slower
# per-string path finds the boundaries instead, with the same result.
_SHINGLE_SEP = "\x00"
_TOKEN_SEP = " "

# Shingles hashed together in one chunk (of several documents, or a piece of a huge one): large
# enough that numpy's per-call overhead fades, small enough to bound scratch memory (docs/tuning.md).
_CHUNK_SHINGLES = 1 << 16
# Scratch arrays larger than this are not kept between calls.
_WORKSPACE_MAX_BYTES = 64 << 20


def shingle_hash32(data: bytes) -> int:
    """The base hash of one shingle's UTF-8 bytes, in plain Python (the scalar reference).

    Pass it as ``hashfunc=`` to ``datasketch.MinHash`` to get exactly the signatures
    `MinHasher` computes -- that is how compatibility is checked, and how a MinHash for a
    single new text can be built without numpy batching.
    """
    h = 0
    for byte in data:
        h = (h * _POLY_BASE + byte) & _MASK64
    x = (h + len(data) * _LEN_MUL) & _MASK64
    return ((x * _FOLD_MUL) & _MASK64) >> 32


class _PowerTables:
    """Cached ``base**j * FOLD`` and ``base**-j`` (mod 2**64) for j below some length.

    Grown on demand; recomputing them per chunk would cost as much as the hashing itself.
    (The fold multiplier is premultiplied into the forward powers: one multiply less per hash.)
    """

    def __init__(self) -> None:
        self._tables: tuple[U64Array, U64Array] = (
            np.full(1, _FOLD_MUL, dtype=np.uint64),
            np.ones(1, dtype=np.uint64),
        )

    def get(self, length: int) -> tuple[U64Array, U64Array]:
        """``(pow_fold, inv)`` with at least `length` entries each (powers 0 .. length-1)."""
        tables = self._tables  # one read: a concurrent grow swaps the pair as a whole
        if tables[1].size < length:
            size = 1 << max(16, (length - 1).bit_length())
            pw = np.full(size, _POLY_BASE, dtype=np.uint64)
            inv = np.full(size, _POLY_BASE_INV, dtype=np.uint64)
            pw[0] = _FOLD_MUL
            inv[0] = 1
            np.multiply.accumulate(pw, out=pw)  # wraps mod 2**64, as intended
            np.multiply.accumulate(inv, out=inv)
            tables = self._tables = (pw, inv)
        return tables


_POWERS = _PowerTables()


class _Workspace(threading.local):
    """Scratch arrays reused from call to call (one set per thread).

    The big temporaries here are a few MB each; allocating them afresh per chunk means fresh
    pages from the OS every time, and those page faults cost more than the arithmetic.
    """

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}

    def get(self, name: str, shape: tuple[int, ...], dtype: type[np.generic]) -> np.ndarray:
        """An uninitialised array of `shape`, a view of a cached one when it fits."""
        size = math.prod(shape)
        if size * np.dtype(dtype).itemsize > _WORKSPACE_MAX_BYTES:
            return np.empty(shape, dtype=dtype)  # an outsized one-off: don't keep it around
        arr = self.arrays.get(name)
        if arr is None or arr.size < size or arr.dtype != dtype:
            arr = np.empty(max(size, 1 << 12), dtype=dtype)
            self.arrays[name] = arr
        return arr[:size].reshape(shape)


_WORK = _Workspace()


def _finish(sums: U64Array, ends: I64Array, lengths: I64Array) -> U32Array:
    """Turn the weighted byte sums of slices into their `shingle_hash32` values.

    `sums[i]` is ``sum_j buf[j] * base**-j`` over slice i, which ends (exclusive) at `ends[i]`;
    multiplying by ``base**(end-1)`` makes it the polynomial hash of the slice's bytes, the
    same wherever the slice sits in the buffer.
    """
    pow_fold, _ = _POWERS.get(int(ends.max()) + 1)
    # ((poly + len * LEN) * FOLD) >> 32, with poly = sums * base**(end-1); an empty slice has a
    # zero sum, so the power at index -1 (the table's last) is as good as any
    sums *= pow_fold[ends - 1]
    sums += lengths.view(np.uint64) * np.uint64(_LEN_FOLD)
    sums >>= np.uint64(32)
    return sums.astype(np.uint32)


def _weighted(buf: npt.NDArray[np.uint8]) -> U64Array:
    """``buf[j] * base**-j`` for every byte, plus one trailing zero, in a scratch array."""
    n_bytes = buf.size
    _, inv = _POWERS.get(n_bytes + 1)
    w = _WORK.get("weighted", (n_bytes + 1,), np.uint64)
    w[:n_bytes] = buf
    w[n_bytes] = 0
    w *= inv[: n_bytes + 1]
    return w


def _encode(text: str) -> npt.NDArray[np.uint8]:
    """UTF-8 bytes of `text` as a uint8 array (lone surrogates pass through rather than fail)."""
    return np.frombuffer(text.encode("utf-8", "surrogatepass"), dtype=np.uint8)


def _hash_groups(groups: Sequence[Collection[str]]) -> U32Array:
    """`shingle_hash32` of the UTF-8 bytes of every string in `groups`, back to back.

    The strings are joined with NUL bytes into one buffer (joining each group first and then
    the groups is about twice as fast as joining one chained iterable). A NUL adds nothing to a
    polynomial sum, so each string's sum is the sum over its slice *including* the NUL after it,
    which ``add.reduceat`` computes for all slices in one pass over the bytes (faster than a
    full cumulative sum). The byte length enters the hash separately.
    """
    total = sum(map(len, groups))
    if total == 0:
        return np.empty(0, dtype=np.uint32)
    buf = _encode(_SHINGLE_SEP.join([_SHINGLE_SEP.join(g) for g in groups if g]))
    seps = np.flatnonzero(buf == 0)
    if seps.size == total - 1:
        ends = np.empty(total, dtype=np.int64)
        ends[:-1] = seps
        ends[-1] = buf.size
        lengths = np.diff(ends, prepend=-1) - 1
    else:  # some string holds a NUL itself: take the slices from per-string byte lengths
        encoded = [s.encode("utf-8", "surrogatepass") for s in chain.from_iterable(groups)]
        buf = np.frombuffer(b"\x00".join(encoded), dtype=np.uint8)
        lengths = np.fromiter(map(len, encoded), dtype=np.int64, count=total)
        ends = np.cumsum(lengths + 1) - 1
    starts = ends - lengths
    sums = np.add.reduceat(_weighted(buf), starts)
    return _finish(sums, ends, lengths)


def hash_shingles(shingles: Iterable[str]) -> U32Array:
    """Base hashes (`shingle_hash32` of the UTF-8 bytes) of string shingles, as uint32."""
    return _hash_groups([list(shingles)])


def ngram_hashes_flat(
    token_lists: Sequence[Sequence[str]], n: int, joined: Sequence[str] | None = None
) -> tuple[U32Array, I64Array]:
    """Base hashes of the word n-grams of several token lists, concatenated, and their counts.

    The n-gram ``" ".join(tokens[i:i+n])`` is the slice of ``" ".join(tokens)`` from the start
    of token i to the end of token i+n-1, so one buffer of the whole text yields them all.
    A list with fewer than `n` tokens gives one shingle of all its tokens (short texts are
    not empty); an empty list gives none. `joined`: each list's ``" ".join(tokens)``, when the
    caller has it already (joining a list of short strings is most of the cost left here).
    """
    n_tok = np.fromiter(map(len, token_lists), dtype=np.int64, count=len(token_lists))
    n_grams = np.where(n_tok == 0, 0, np.maximum(n_tok - n + 1, 1))
    total_tok = int(n_tok.sum())
    total_grams = int(n_grams.sum())
    if total_grams == 0:
        return np.empty(0, dtype=np.uint32), n_grams
    # join each list, then the lists: about twice as fast as joining one chained iterable
    if joined is None:
        joined = [_TOKEN_SEP.join(t) for t in token_lists]
    buf = _encode(_TOKEN_SEP.join([text for text, t in zip(joined, token_lists, strict=True) if t]))
    pow_fold, inv = _POWERS.get(buf.size + 1)
    hashes = np.empty(total_grams, dtype=np.uint32)
    bounds = np.empty((2, total_tok), dtype=np.int64)  # each token's first byte and its end
    seps = np.flatnonzero(buf == ord(_TOKEN_SEP))
    if seps.size == total_tok - 1:
        bounds[0, 0], bounds[0, 1:] = 0, seps + 1
        bounds[1, :-1], bounds[1, -1] = seps, buf.size
    else:  # some token holds a space: take token boundaries from their byte lengths
        lens = np.fromiter(
            (len(t.encode("utf-8", "surrogatepass")) for t in chain.from_iterable(token_lists)),
            dtype=np.int64,
            count=total_tok,
        )
        bounds[1] = np.cumsum(lens + 1) - 1
        bounds[0] = bounds[1] - lens
    _ngram_slice_hashes(buf, bounds, n_tok, n, pow_fold, inv, hashes)
    return hashes, n_grams


@njit(cache=True, nogil=True)
def _ngram_slice_hashes(
    buf: npt.NDArray[np.uint8],
    bounds: I64Array,
    n_tok: I64Array,
    n: int,
    pow_fold: U64Array,
    inv: U64Array,
    out: U32Array,
) -> None:  # pragma: no cover - compiled; tested against shingle_hash32 and datasketch
    """`shingle_hash32` of every word n-gram, the byte slice of `buf` from its first token's
    start to its last token's end (token ranges in `bounds`, `n_tok` tokens per text, texts
    back to back; a text of fewer than `n` tokens has one n-gram of all of them), into `out`.

    The n-grams overlap, so each slice's sum is the difference of one cumulative sum of
    ``buf[j] * base**-j``, times ``base**(end-1)``; then `_finish`'s length term and fold. One
    pass over the bytes, one over the n-grams: the same arithmetic as the numpy passes it
    replaced (`_weighted`, a cumulative sum, index arrays and gathers, `_finish`), whose
    temporaries of eight bytes per text byte cost more than the arithmetic."""
    prefix = np.empty(buf.size + 1, dtype=np.uint64)
    acc = np.uint64(0)
    prefix[0] = acc
    for j in range(buf.size):
        acc += np.uint64(buf[j]) * inv[j]
        prefix[j + 1] = acc
    length_fold = np.uint64(_LEN_FOLD)
    shift = np.uint64(32)
    k = 0
    first_token = 0
    for d in range(n_tok.size):
        tokens = n_tok[d]
        grams = tokens - n + 1 if tokens >= n else (1 if tokens > 0 else 0)
        span = n - 1 if tokens >= n else tokens - 1
        for i in range(grams):
            start = bounds[0, first_token + i]
            end = bounds[1, first_token + i + span]
            h = prefix[end] - prefix[start]
            if end > 0:  # an empty slice at 0 has a zero sum, whatever the power
                h *= pow_fold[end - 1]
            h += np.uint64(end - start) * length_fold
            out[k] = np.uint32(h >> shift)
            k += 1
        first_token += tokens


def hash_ngrams(tokens: Sequence[str], n: int) -> U32Array:
    """Base hashes of the word n-grams of one token list, without building the strings.

    Equal to ``hash_shingles(" ".join(tokens[i:i+n]) for i in ...)``; fewer than `n` tokens
    give one hash of all of them. May contain repeats (MinHash ignores them).
    """
    if n < 1:
        raise ValueError("n must be positive")
    return ngram_hashes_flat([tokens], n)[0]


def sha1_hashes(shingles: Iterable[str]) -> U32Array:
    """datasketch's default base hash (``sha1_hash32`` of the UTF-8 bytes) of each shingle.

    For exact interoperability with default-constructed datasketch MinHash objects, via
    `MinHasher.signatures_from_hashes`; as slow as datasketch's own hashing.
    """
    return np.fromiter(
        (int.from_bytes(hashlib.sha1(s.encode("utf-8")).digest()[:4], "little") for s in shingles),
        dtype=np.uint32,
    )


def _chunks(counts: Sequence[int], limit: int) -> Iterator[tuple[int, int]]:
    """Consecutive ``[lo, hi)`` index ranges whose counts add up to at most `limit`.

    An item over the limit gets a range of its own (give or take empty items next to it).
    """
    lo, acc = 0, 0
    for i, c in enumerate(counts):
        if acc and acc + c > limit:
            yield lo, i
            lo, acc = i, 0
        acc += c
    if lo < len(counts):
        yield lo, len(counts)


def affine32_permutations(num_perm: int, seed: int) -> tuple[U32Array, U32Array]:
    """The `a` (odd) and `b` of datasketch's affine32 permutations for `num_perm` and `seed`:
    ``MinHash(num_perm=num_perm, seed=seed, scheme="affine32").permutations``, drawn the way
    datasketch 2.0 draws them (tests/dedup/test_minhash.py checks they are equal).

    Why not ask datasketch: importing it loads `datasketch.lsh` and with it `scipy.integrate`,
    0.8 s of every run that cleans a file, for two arrays of 128 numbers."""
    draw = np.random.RandomState(seed)
    a = draw.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = draw.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return a, b


class MinHasher:
    """Signs shingle sets with `num_perm` permutations seeded by `seed` (datasketch affine32)."""

    def __init__(self, num_perm: int = 128, seed: int = 1) -> None:
        self.num_perm = num_perm
        self.seed = seed
        self._a, self._b = affine32_permutations(num_perm, seed)
        self._chunk = _CHUNK_SHINGLES

    def signatures(self, shingle_sets: Sequence[Collection[str]]) -> np.ndarray:
        """One row of `num_perm` uint32 hash values per set (an empty set gives the empty row).

        Row i equals datasketch's ``MinHash(num_perm, seed, hashfunc=shingle_hash32)`` after
        ``update_batch`` with the UTF-8 bytes of ``shingle_sets[i]``. Sets are processed a
        chunk at a time (up to 65,536 shingles); a set larger than a chunk is split, so memory
        stays bounded whatever the input.
        """
        out = self._empty(len(shingle_sets))
        counts = [len(s) for s in shingle_sets]
        for lo, hi in _chunks(counts, self._chunk):
            if sum(counts[lo:hi]) <= self._chunk:
                hashes = _hash_groups(shingle_sets[lo:hi])
                self._sign(hashes, counts[lo:hi], out[lo:hi])
                continue
            for i in range(lo, hi):  # one huge set (maybe beside empty ones): piece by piece
                items = list(shingle_sets[i])
                for p in range(0, len(items), self._chunk):
                    piece = items[p : p + self._chunk]
                    self._sign(_hash_groups([piece]), [len(piece)], out[i : i + 1])
        return out

    def signatures_from_tokens(self, token_lists: Sequence[Sequence[str]], n: int) -> np.ndarray:
        """Signatures of the word n-gram sets of token lists (see `hash_ngrams`).

        Same rows as ``signatures`` of the sets of ``" ".join(tokens[i:i+n])`` strings, but
        without building those strings, which is most of the remaining cost.
        """
        return self._from_tokens(token_lists, n, None)

    def signatures_and_hashes(
        self, token_lists: Sequence[Sequence[str]], n: int, joined: Sequence[str] | None = None
    ) -> tuple[np.ndarray, list[U32Array]]:
        """`signatures_from_tokens`, and each list's n-gram base hashes it was made from (in text
        order, repeats kept), for a caller that compares the shingle sets themselves later.
        `joined[i]`, if given, must be ``" ".join(token_lists[i])`` (the signer makes it for the
        exact-copy key anyway)."""
        hashes: list[U32Array] = []
        return self._from_tokens(token_lists, n, hashes, joined), hashes

    def _from_tokens(
        self,
        token_lists: Sequence[Sequence[str]],
        n: int,
        keep: list[U32Array] | None,
        joined: Sequence[str] | None = None,
    ) -> np.ndarray:
        if n < 1:
            raise ValueError("n must be positive")
        out = self._empty(len(token_lists))
        n_grams = [max(len(t) - n + 1, 1) if t else 0 for t in token_lists]
        for lo, hi in _chunks(n_grams, self._chunk):
            if sum(n_grams[lo:hi]) <= self._chunk:
                texts = None if joined is None else joined[lo:hi]
                hashes, counts = ngram_hashes_flat(token_lists[lo:hi], n, texts)
                if keep is not None:
                    bounds = np.concatenate(([0], np.cumsum(counts))).tolist()
                    keep.extend(hashes[a:b] for a, b in pairwise(bounds))
                self._sign(hashes, counts, out[lo:hi])
                continue
            for i in range(lo, hi):  # one huge text: overlapping pieces of chunk + n-1 tokens
                tokens = token_lists[i]
                pieces: list[U32Array] = []
                for p in range(0, n_grams[i], self._chunk):
                    hashes, counts = ngram_hashes_flat([tokens[p : p + self._chunk + n - 1]], n)
                    if keep is not None:
                        pieces.append(hashes)
                    self._sign(hashes, counts, out[i : i + 1])
                if keep is not None:
                    keep.append(np.concatenate(pieces) if pieces else np.empty(0, dtype=np.uint32))
        return out

    def signatures_from_hashes(self, hash_arrays: Sequence[npt.ArrayLike]) -> np.ndarray:
        """Signatures from base hashes already computed (uint32 values, one array per set).

        Bit-identical to datasketch's ``MinHash(num_perm, seed, hashfunc=f)`` when the arrays
        hold ``f`` of each item -- e.g. `sha1_hashes` for datasketch's default MinHash.
        """
        arrays = [np.asarray(h) for h in hash_arrays]
        for h in arrays:
            if h.size and (h.dtype.kind not in "iu" or h.min() < 0 or h.max() > EMPTY_HASH):
                raise ValueError("base hashes must be integers in [0, 2**32)")
        out = self._empty(len(arrays))
        counts = [h.size for h in arrays]
        for lo, hi in _chunks(counts, self._chunk):
            part = arrays[lo:hi]
            flat = np.concatenate(part).astype(np.uint32) if part else np.empty(0, np.uint32)
            self._sign(flat, counts[lo:hi], out[lo:hi])
        return out

    def lean(self, row: np.ndarray) -> LeanMinHash:
        """A datasketch LeanMinHash for one signature row, usable with MinHashLSH."""
        from datasketch import LeanMinHash  # deferred: see `affine32_permutations`

        return LeanMinHash(seed=self.seed, hashvalues=row, scheme=SCHEME)

    def _empty(self, n_docs: int) -> U32Array:
        return np.full((n_docs, self.num_perm), EMPTY_HASH, dtype=np.uint32)

    def _sign(self, hashes: U32Array, counts: Sequence[int] | I64Array, out: U32Array) -> None:
        """Fold base hashes (the docs' hashes back to back) into their rows of `out`.

        One compiled pass (`_fold_minima`): each hash is pre-mixed, permuted and compared with
        its row's minima while it is in a register. The numpy version wrote the ``num_perm x
        window`` matrix of permuted values, then read it back for ``minimum.reduceat``, and that
        memory traffic was most of signing's permutation time. Rows are folded into, not
        overwritten, so a huge document can be fed in pieces.
        """
        if hashes.size == 0:
            return
        cnt = np.asarray(counts, dtype=np.int64)
        if int(cnt.sum()) != hashes.size or len(cnt) != len(out):
            raise ValueError("counts must cover the hashes, one count per row of out")
        _fold_minima(hashes, cnt, self._a, self._b, out)


@njit(cache=True, nogil=True)
def _fold_minima(
    hashes: U32Array, counts: I64Array, a: U32Array, b: U32Array, out: U32Array
) -> None:  # pragma: no cover - compiled; tested against datasketch through MinHasher
    """Row d of `out` takes the minimum with ``a * fmix32(h) + b mod 2**32`` (each
    permutation) of its `counts[d]` base hashes, which follow the previous rows' in `hashes`.
    The pre-mix is datasketch's affine32 one (MurmurHash3's fmix32), done here in a register: the base
    hashes are left as they are (the signer keeps them), and no pre-mixed copy is written."""
    mask = np.uint64(0xFFFFFFFF)
    m1, m2 = np.uint32(_FMIX32_M1), np.uint32(_FMIX32_M2)
    s16, s13 = np.uint32(16), np.uint32(13)
    pos = 0
    for d in range(counts.size):
        row = out[d]
        for j in range(pos, pos + counts[d]):
            x = hashes[j]
            x ^= x >> s16
            x = np.uint32(x * m1)
            x ^= x >> s13
            x = np.uint32(x * m2)
            x ^= x >> s16
            h = np.uint64(x)
            for p in range(a.size):
                row[p] = min(row[p], np.uint32((np.uint64(a[p]) * h + np.uint64(b[p])) & mask))
        pos += counts[d]
