"""MinHash signatures for many documents at once, as datasketch objects.

First version: a thin wrapper over datasketch's own MinHash.update_batch. The interface is what
the rest of dedup relies on; the implementation is meant to be replaced by a vectorised one.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np
from datasketch import LeanMinHash, MinHash


class MinHasher:
    """Signs shingle sets with `num_perm` permutations seeded by `seed`."""

    def __init__(self, num_perm: int = 128, seed: int = 1) -> None:
        self.num_perm = num_perm
        self.seed = seed
        self._template = MinHash(num_perm=num_perm, seed=seed)

    def signatures(self, shingle_sets: Sequence[Collection[str]]) -> np.ndarray:
        """One row of `num_perm` hash values per set (an empty set gives the empty row)."""
        out = np.empty((len(shingle_sets), self.num_perm), dtype=self._template.hashvalues.dtype)
        for i, shingles in enumerate(shingle_sets):
            m = self._template.copy()
            if shingles:
                m.update_batch([s.encode("utf-8") for s in shingles])
            out[i] = m.hashvalues
        return out

    def lean(self, row: np.ndarray) -> LeanMinHash:
        """A datasketch LeanMinHash for one signature row, usable with MinHashLSH."""
        return LeanMinHash(seed=self.seed, hashvalues=row, scheme=self._template.scheme)
