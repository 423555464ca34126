"""How strongly two stories look like coverage of one event.

Two views of a story, combined:
- TF-IDF cosine over its words plus its event terms (as extra tokens): the whole vocabulary of
  the story, which carries what happened ("earthquake", "magnitude", "evacuated");
- the weighted overlap of event terms (names, places, numbers, rare words), relative to the
  shorter story: who and where, which separates two meetings of the same ministers in different
  years that word vectors alone find alike.
score = cosine × (overlap + c) / (r + c): the cosine, scaled up when the stories share more of
their specific evidence than the reference level r and down when they share less. On events-dev
this product beats either view alone (measured with bench/dedup.py), and only it also keeps the
sample 2021/2023/2024 meetings apart.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer

from dedup.features import idf, rarity_prior

_WORD = re.compile(r"\b\w\w+\b")


def _tokens(text: str, bag: Counter[str]) -> list[str]:
    words = [w for w in _WORD.findall(text.lower()) if w not in ENGLISH_STOP_WORDS]
    for term, tf in bag.items():
        words.extend(["\x00" + term] * tf)  # event terms as tokens no word can collide with
    return words


class EventSpace:
    """Vectors for a set of units (one per near-copy group), and pairwise scores between them."""

    def __init__(
        self,
        texts: Sequence[str],
        bags: Sequence[Counter[str]],
        *,
        overlap_offset: float,
        overlap_reference: float,
    ) -> None:
        self.offset = overlap_offset
        self.reference = overlap_reference
        docs = [_tokens(text, bag) for text, bag in zip(texts, bags, strict=True)]
        if docs and any(docs):
            vectorizer = TfidfVectorizer(analyzer=lambda tokens: tokens, sublinear_tf=True, dtype=np.float64)
            self.matrix: sparse.csr_matrix = vectorizer.fit_transform(docs).tocsr()
        else:
            self.matrix = sparse.csr_matrix((len(docs), 1))
        doc_freq: Counter[str] = Counter()
        for bag in bags:
            doc_freq.update(bag.keys())
        n = len(bags)
        self.weights: list[dict[str, float]] = []
        self.totals: list[float] = []
        for bag in bags:
            vec = {
                term: w
                for term, tf in bag.items()
                if (w := (1.0 + math.log(tf)) * idf(doc_freq[term], n) * rarity_prior(term)) > 0
            }
            self.weights.append(vec)
            self.totals.append(sum(vec.values()))

    def top_terms(self, i: int, k: int) -> set[str]:
        """The `k` highest-weighted TF-IDF features of item `i` (as feature ids), for LSH.

        What a story is most about, relative to this corpus: two stories of one event share
        several of them even when they are long and their wording differs."""
        row = self.matrix.getrow(i)
        if row.nnz == 0:
            return set()
        order = np.lexsort((row.indices, -row.data))[:k]
        return {str(row.indices[j]) for j in order}

    def cosine(self, a: int, b: int) -> float:
        return float(self.matrix[a].multiply(self.matrix[b]).sum())

    def overlap(self, a: int, b: int) -> float:
        """Weight of shared event terms over the total weight of the shorter story's terms."""
        va, vb = self.weights[a], self.weights[b]
        if len(va) > len(vb):
            va, vb = vb, va
        shared = sum(min(w, vb[t]) for t, w in va.items() if t in vb)
        smaller = min(self.totals[a], self.totals[b])
        return shared / smaller if smaller > 0 else 0.0

    def score(self, a: int, b: int) -> float:
        return self.cosine(a, b) * (self.overlap(a, b) + self.offset) / (self.reference + self.offset)

    def scores(self, pairs: Sequence[tuple[int, int]]) -> list[float]:
        """Scores for many pairs at once (the cosines in one sparse pass)."""
        if not pairs:
            return []
        left = self.matrix[[a for a, _ in pairs]]
        right = self.matrix[[b for _, b in pairs]]
        cosines = np.asarray(left.multiply(right).sum(axis=1)).ravel()
        factor = 1.0 / (self.reference + self.offset)
        return [
            float(c) * (self.overlap(a, b) + self.offset) * factor
            for c, (a, b) in zip(cosines, pairs, strict=True)
        ]
