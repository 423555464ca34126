"""What grouping needs to know about one document, computed once, where the document is cleaned.

Grouping compares documents, but most of its work looks at one document at a time: the
exact-copy key, the word-shingle MinHash, the event terms and their MinHash, the word counts of
the TF-IDF space. None of that depends on the rest of the corpus. Computing it in the cleaning
workers spreads it over every core, and keeping it in the run state means a scheduled run signs
only the files that are new: the grouping stage is left with the work that really is about pairs.
"""

from __future__ import annotations

import base64
import json
import mmap
import os
import struct
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from newsclean.dedup.features import (
    event_terms,
    headline_codes,
    joined_key,
    principal_terms,
    rare_subject_terms,
    salient_terms,
    subject_terms,
    words,
)
from newsclean.dedup.kernels import intersection_sizes
from newsclean.dedup.lsh import sorted_unique
from newsclean.dedup.minhash import MinHasher, hash_ngrams
from newsclean.dedup.terms import event_features, term_arrays, term_counts, term_id
from newsclean.settings import DedupSettings

U32Array = npt.NDArray[np.uint32]
U64Array = npt.NDArray[np.uint64]
F64Array = npt.NDArray[np.float64]

_HEADER = struct.Struct("<I")


@dataclass(frozen=True, slots=True, eq=False)
class DocSignature:
    """One document as grouping sees it. Arrays are read-only views; do not modify them."""

    exact_key: str
    n_words: int
    n_shingles: int
    near: U32Array  # MinHash of the word shingles (near_num_perm values)
    shingles: U32Array  # its word shingles' hashes, repeats kept (`MinHasher.signatures_and_hashes`)
    salient: U32Array  # MinHash of the most salient event terms (event_num_perm values)
    term_ids: U64Array  # TF-IDF features (words and event terms), sorted ids ...
    term_counts: U32Array  # ... and their counts
    event_at: U32Array  # where its event terms sit in term_ids (`event_features`) ...
    event_priors: F64Array  # ... and their rarity priors
    # Where its principal specifics (`features.principal_terms`) sit in term_ids, sorted.
    principal_at: U32Array
    # Where its headline's names (`features.subject_terms`) sit in term_ids, sorted.
    subject_at: U32Array = field(default_factory=lambda: np.empty(0, dtype=np.uint32))
    # ... and those of them rare in general English (`features.rare_subject_terms`), sorted.
    rare_subject_at: U32Array = field(default_factory=lambda: np.empty(0, dtype=np.uint32))
    titled: bool = False  # it came with a headline
    # Where the company codes its headline marks (`features.headline_codes`) sit in term_ids.
    code_at: U32Array = field(default_factory=lambda: np.empty(0, dtype=np.uint32))

    def event_parts(self) -> tuple[U32Array, F64Array, U32Array, U32Array, U32Array, bool, U32Array]:
        """What `EventSpace` takes of a story beside its features (its `events` entry)."""
        subjects = (self.subject_at, self.rare_subject_at)
        return (self.event_at, self.event_priors, self.principal_at, *subjects, self.titled, self.code_at)

    def to_bytes(self) -> bytes:
        """Compact and exact: a JSON header, then the arrays' bytes (little-endian)."""
        header = json.dumps(
            {
                "k": self.exact_key,
                "w": self.n_words,
                "s": self.n_shingles,
                "t": int(self.titled),
                "n": [
                    len(a)
                    for a in (
                        self.near,
                        self.shingles,
                        self.salient,
                        self.term_ids,
                        self.event_at,
                        self.principal_at,
                        self.subject_at,
                        self.rare_subject_at,
                        self.code_at,
                    )
                ],
            },
            sort_keys=True,
            ensure_ascii=False,
        ).encode("utf-8", "surrogatepass")
        return b"".join(
            (
                _HEADER.pack(len(header)),
                header,
                self.near.astype("<u4").tobytes(),
                self.shingles.astype("<u4").tobytes(),
                self.salient.astype("<u4").tobytes(),
                self.term_ids.astype("<u8").tobytes(),
                self.term_counts.astype("<u4").tobytes(),
                self.event_at.astype("<u4").tobytes(),
                self.event_priors.astype("<f8").tobytes(),
                self.principal_at.astype("<u4").tobytes(),
                self.subject_at.astype("<u4").tobytes(),
                self.rare_subject_at.astype("<u4").tobytes(),
                self.code_at.astype("<u4").tobytes(),
            )
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> DocSignature:
        (size,) = _HEADER.unpack_from(data)
        header = json.loads(data[_HEADER.size : _HEADER.size + size].decode("utf-8", "surrogatepass"))
        n_near, n_shingles, n_salient, n_terms, n_events, *rest = header["n"]
        n_principal = rest[0] if rest else 0
        n_subject = rest[1] if len(rest) > 1 else 0
        n_rare = rest[2] if len(rest) > 2 else 0
        n_codes = rest[3] if len(rest) > 3 else 0
        offset = _HEADER.size + size

        def take(dtype: str, count: int) -> npt.NDArray[Any]:
            """The next `count` values of `dtype`, a read-only view into `data`."""
            nonlocal offset
            values = np.frombuffer(data, dtype=dtype, count=count, offset=offset)
            offset += values.nbytes
            return values

        near, shingles, salient = take("<u4", n_near), take("<u4", n_shingles), take("<u4", n_salient)
        ids, counts = take("<u8", n_terms), take("<u4", n_terms)
        event_at, priors = take("<u4", n_events), take("<f8", n_events)
        principal, subject, rare = take("<u4", n_principal), take("<u4", n_subject), take("<u4", n_rare)
        return cls(
            header["k"], header["w"], header["s"], near, shingles, salient, ids, counts, event_at, priors,
            principal, subject, rare, bool(header.get("t", 0)), take("<u4", n_codes),
        )  # fmt: skip

    def to_text(self) -> str:
        """For JSON files and the run state: base64 of `to_bytes`."""
        return base64.b64encode(self.to_bytes()).decode("ascii")

    @classmethod
    def from_text(cls, text: str) -> DocSignature:
        return cls.from_bytes(base64.b64decode(text))


class Signer:
    """Signs documents with the MinHash permutations and sizes that `settings` name."""

    def __init__(self, settings: DedupSettings | None = None) -> None:
        self.settings = settings or DedupSettings()
        self.near_hasher = MinHasher(self.settings.near_num_perm, self.settings.seed)
        self.event_hasher = MinHasher(self.settings.event_num_perm, self.settings.seed + 1)

    def sign(self, texts: Sequence[str], titles: Sequence[str | None]) -> list[DocSignature]:
        """Signatures for many documents at once (MinHash is vectorised over the whole batch)."""
        s = self.settings
        tokens = [words(t) for t in texts]
        joined = [" ".join(t) for t in tokens]  # for the exact-copy key and the word shingles
        names: list[set[str]] = [set() for _ in texts]  # each text's names, for its subject
        bags = [
            event_terms(text, title, seen) for text, title, seen in zip(texts, titles, names, strict=True)
        ]
        # The shingle hashes are kept: grouping's copy checks compare shingle sets, and making
        # them again from the texts is slow.
        near, shingles = self.near_hasher.signatures_and_hashes(tokens, s.near_shingle_words, joined)
        salient = self.event_hasher.signatures([salient_terms(bag, s.event_terms_per_doc) for bag in bags])
        out: list[DocSignature] = []
        for i, (text, title) in enumerate(zip(texts, titles, strict=True)):
            ids, counts = term_arrays(term_counts(f"{title or ''}\n{text}", bags[i]))
            event_at, event_priors = event_features(ids, bags[i])
            principal = principal_terms(text, title, bags[i])
            principal_at = _principal_positions(ids, principal)
            subjects = subject_terms(principal, title, names[i])
            subject_at = _principal_positions(ids, subjects)
            rare_subject_at = _principal_positions(ids, rare_subject_terms(subjects))
            code_at = _principal_positions(ids, headline_codes(title))
            out.append(
                DocSignature(
                    exact_key=joined_key(joined[i]),
                    n_words=len(tokens[i]),
                    n_shingles=_distinct_shingles(tokens[i], s.near_shingle_words),
                    near=near[i],
                    shingles=shingles[i],
                    salient=salient[i],
                    term_ids=ids,
                    term_counts=counts,
                    event_at=event_at,
                    event_priors=event_priors,
                    principal_at=principal_at,
                    subject_at=subject_at,
                    rare_subject_at=rare_subject_at,
                    titled=bool(title and title.strip()),
                    code_at=code_at,
                )
            )
        return out


def specific_id(term: str) -> int:
    """The feature id under which a story holds a specific: a number or a company code as its
    event term (NUL-prefixed, `event_space.term_counts`), a name or rare word as its word."""
    return term_id("\x00" + term if term.startswith(("#", "<")) else term)


def _principal_positions(ids: U64Array, terms: set[str]) -> U32Array:
    """Where the principal specifics sit in a story's features (`specific_id`), sorted: so that
    another story's features say whether it contains the specific."""
    wanted = np.asarray(sorted({specific_id(t) for t in terms}), dtype=np.uint64)
    if not len(ids) or not len(wanted):
        return np.empty(0, dtype=np.uint32)
    at = np.minimum(np.searchsorted(ids, wanted), len(ids) - 1)
    return at[ids[at] == wanted].astype(np.uint32)  # a stop word is no feature: left out


def shingle_set(hashes: U32Array) -> U32Array:
    """Distinct shingle hashes, sorted: what copy checks intersect.

    Two different shingles share a hash with probability 2**-32, so a Jaccard from these is
    exact but for an error far below its fourth decimal, at 4 bytes a shingle (string sets took
    far more memory)."""
    return sorted_unique(hashes)


class ShingleSets:
    """Every document's shingle set (`shingle_set`) in one flat array, by document id.

    Why: grouping needs the sets after the rest of the signatures (copy checks, and each
    member's relation to its canonical). Taken from the signatures, each set's array kept all of
    its signature's bytes alive; flat, they cost their distinct hashes' 4 bytes each and one
    offset.

    `spill_dir`: write the flat array to a temporary file there (deleted at once) and map it
    read-only, instead of holding it. The candidate search runs between building the sets and
    reading them, and is the grouping's memory peak; mapped, the sets' pages are the kernel's
    page cache, dropped under pressure and read back when a copy check touches them. The same
    values either way."""

    _CHUNK = 4096  # sets written to the spill file at a time

    def __init__(
        self, ids: Sequence[str], hashes: Sequence[U32Array], spill_dir: str | os.PathLike[str] | None = None
    ) -> None:
        self._index = {doc_id: k for k, doc_id in enumerate(ids)}
        lengths: list[int] = []
        if spill_dir is None:
            sets = [shingle_set(h) for h in hashes]
            lengths = [len(x) for x in sets]
            self._values = np.concatenate([*sets, np.empty(0, dtype=np.uint32)])
            self._values.flags.writeable = False  # so is every view of it
        else:
            self._values = _spilled(hashes, lengths, spill_dir)
        self._bounds = np.concatenate(([0], np.cumsum(lengths, dtype=np.int64))).astype(np.int64)

    def __call__(self, doc_id: str) -> U32Array:
        """The document's distinct shingle hashes, sorted (a read-only view)."""
        k = self._index[doc_id]
        return self._values[self._bounds[k] : self._bounds[k + 1]]

    def sizes(self, doc_ids: Sequence[str]) -> npt.NDArray[np.int64]:
        """How many distinct shingles each document has."""
        at = self._positions(doc_ids)
        sizes: npt.NDArray[np.int64] = self._bounds[at + 1] - self._bounds[at]
        return sizes

    def shared(self, left: Sequence[str], right: Sequence[str]) -> npt.NDArray[np.integer]:
        """Per pair (left[k], right[k]), how many shingles the two documents share."""
        return intersection_sizes(self._bounds, self._values, self._positions(left), self._positions(right))

    def _positions(self, doc_ids: Sequence[str]) -> npt.NDArray[np.int64]:
        return np.fromiter((self._index[d] for d in doc_ids), dtype=np.int64, count=len(doc_ids))


def _spilled(hashes: Sequence[U32Array], lengths: list[int], spill_dir: str | os.PathLike[str]) -> U32Array:
    """`shingle_set` of each of `hashes`, one after the other, in a read-only mapping of a
    deleted temporary file in `spill_dir`; each set's length is appended to `lengths`. A few
    thousand sets are held at a time, never the whole array."""
    with tempfile.TemporaryFile(dir=spill_dir) as spill:
        for first in range(0, len(hashes), ShingleSets._CHUNK):
            sets = [shingle_set(h) for h in hashes[first : first + ShingleSets._CHUNK]]
            lengths.extend(len(x) for x in sets)
            spill.write(np.concatenate([*sets, np.empty(0, dtype=np.uint32)]).tobytes())
        spill.flush()
        size = spill.tell()
        if size == 0:  # mmap cannot map an empty file
            return np.empty(0, dtype=np.uint32)
        mapped = mmap.mmap(spill.fileno(), size, access=mmap.ACCESS_READ)  # outlives the file
    return np.frombuffer(mapped, dtype=np.uint32)  # read-only, as the mapping is


def shingle_ids(text: str, size: int) -> U32Array:
    """A text's distinct word-shingle hashes, sorted."""
    return shingle_set(hash_ngrams(words(text), size))


def _distinct_shingles(tokens: list[str], size: int) -> int:
    if len(tokens) < size:
        return 1 if tokens else 0
    return len(set(zip(*(tokens[i:] for i in range(size)), strict=False)))
