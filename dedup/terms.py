"""A story's features as ids: what signing stores for grouping's TF-IDF and event-term views.

Computed in the cleaning workers and kept in the run state with the signature, so this module
is part of the cleaning fingerprint (`newsclean.fingerprint.CLEANING_SOURCES`); the weighting
and scoring of these features (`newsclean.dedup.event_space`) is grouping's and is not: a change
there regroups from the stored features, it does not clean every file again.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Mapping
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from newsclean.dedup.features import rarity_prior
from newsclean.dedup.stopwords import ENGLISH_STOP_WORDS

_WORD = re.compile(r"\b\w\w+\b")
U32Array = npt.NDArray[np.uint32]
U64Array = npt.NDArray[np.uint64]
F64Array = npt.NDArray[np.float64]


def term_counts(text: str, bag: Mapping[str, int]) -> Counter[str]:
    """The TF-IDF features of a story: its words (no stop words) and its event terms, counted.

    Event terms are prefixed with a NUL, so no word can collide with them."""
    counts = Counter(_WORD.findall(text.lower()))
    for word in ENGLISH_STOP_WORDS.intersection(counts):  # deleting keeps the others' order
        del counts[word]
    for term, tf in bag.items():
        counts["\x00" + term] += tf
    return counts


@lru_cache(maxsize=1 << 18)
def term_id(term: str) -> int:
    """A stable 64-bit id for a feature (Python's `hash` differs between processes).

    Cached: a story's features are mostly words every story has, and hashing them again was a
    large share of signing; the cache holds the common vocabulary (size: docs/tuning.md)."""
    digest = hashlib.blake2b(term.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def term_arrays(counts: Mapping[str, int]) -> tuple[U64Array, U32Array]:
    """Features as (sorted ids, counts): compact, and what `EventSpace` is built from."""
    ids = np.fromiter(map(term_id, counts), dtype=np.uint64, count=len(counts))
    values = np.fromiter(counts.values(), dtype=np.uint32, count=len(counts))
    order = np.argsort(ids, kind="stable")
    return ids[order], values[order]


def event_features(ids: U64Array, bag: Mapping[str, int]) -> tuple[U32Array, F64Array]:
    """A story's event terms as arrays: where each sits in its features (`term_arrays(term_counts
    (text, bag))`, whose count for an event term is its count in the bag) and its rarity prior,
    both in feature order. Grouping needs no term strings: the ids identify them."""
    if not bag:
        return np.empty(0, dtype=np.uint32), np.empty(0, dtype=np.float64)
    terms = list(bag)
    wanted = np.fromiter(map(term_id, ["\x00" + t for t in terms]), dtype=np.uint64, count=len(terms))
    order = np.argsort(wanted, kind="stable")
    positions = np.searchsorted(ids, wanted[order])
    found = ids[np.minimum(positions, len(ids) - 1)] if len(ids) else np.empty(0, dtype=np.uint64)
    if len(found) != len(wanted) or (found != wanted[order]).any():
        raise ValueError("event terms missing from the features: sign both from one bag")
    in_order = [terms[j] for j in order.tolist()]
    priors = np.fromiter(map(rarity_prior, in_order), dtype=np.float64, count=len(terms))
    return positions.astype(np.uint32), priors
