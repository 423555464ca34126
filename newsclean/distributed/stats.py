"""Corpus statistics on a cluster: document frequencies as a distributed reduce, and the TF-IDF
rows of each partition from them.

`newsclean.dedup.event_space.tfidf_matrix` weighs a story's features by the whole corpus
(sublinear TF x smoothed IDF, rows L2-normalised): the IDF needs every document's features.
Here each partition counts its documents per feature, partitions' counts merge pairwise (a
vocabulary and its counts, never the documents), and each partition then weighs its own rows:
stacked, they equal `tfidf_matrix` of the whole corpus to the bit (tests/distributed).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from distributed import Client, Future
from scipy import sparse

from newsclean.dedup.lsh import sorted_unique
from newsclean.distributed.partitions import bounds

U64Array = npt.NDArray[np.uint64]
U32Array = npt.NDArray[np.uint32]
Counts = tuple[U64Array, npt.NDArray[np.int64]]  # (sorted feature ids, documents holding each)


def partition_counts(term_ids: Sequence[U64Array]) -> Counts:
    """Map: each feature of these documents, with how many of them hold it (a document's ids
    are distinct, `terms.term_arrays`)."""
    if not term_ids or sum(len(t) for t in term_ids) == 0:
        return np.empty(0, dtype=np.uint64), np.empty(0, dtype=np.int64)
    ids = np.sort(np.concatenate(term_ids))
    starts = np.concatenate(([0], np.flatnonzero(ids[1:] != ids[:-1]) + 1))
    counts = np.diff(np.concatenate((starts, [len(ids)]))).astype(np.int64)
    return ids[starts], counts


def merge_counts(*parts: Counts) -> Counts:
    """Reduce: the counts of several partitions, summed per feature."""
    ids = np.concatenate([p[0] for p in parts])
    counts = np.concatenate([p[1] for p in parts])
    vocabulary = sorted_unique(ids)
    summed = np.zeros(len(vocabulary), dtype=np.int64)
    np.add.at(summed, np.searchsorted(vocabulary, ids), counts)
    return vocabulary, summed


def document_frequencies(client: Client, term_ids: Sequence[U64Array], partitions: int = 2) -> Counts:
    """(vocabulary, document frequency per feature) of the documents' feature ids, by a tree
    reduce over `partitions` partitions of documents."""
    level: list[Future] = [
        client.submit(partition_counts, list(term_ids[lo:hi])) for lo, hi in bounds(len(term_ids), partitions)
    ]
    while len(level) > 1:
        level = [client.submit(merge_counts, *level[i : i + 2]) for i in range(0, len(level), 2)]
    result: Counts = client.gather(level[0])
    return result


def tfidf_rows(
    term_ids: Sequence[U64Array],
    counts: Sequence[U32Array],
    vocabulary: U64Array,
    doc_freq: npt.NDArray[np.int64],
    n_docs: int,
) -> sparse.csr_matrix:
    """A partition's rows of `tfidf_matrix` of the whole corpus (`n_docs` documents whose
    features have `doc_freq` over `vocabulary`)."""
    n = len(term_ids)
    lengths = np.fromiter((len(x) for x in term_ids), dtype=np.int64, count=n)
    if n == 0 or lengths.sum() == 0:
        return sparse.csr_matrix((n, max(len(vocabulary), 1)))
    columns = np.searchsorted(vocabulary, np.concatenate(term_ids))
    idf = np.log((1.0 + n_docs) / (1.0 + doc_freq.astype(np.float64))) + 1.0
    data = np.concatenate(counts).astype(np.float64)
    np.log(data, out=data)
    data += 1.0
    data *= idf[columns]
    rows = np.repeat(np.arange(n), lengths)
    norms = np.sqrt(np.bincount(rows, weights=data * data, minlength=n))
    data /= np.where(norms > 0, norms, 1.0)[rows]
    indptr = np.concatenate(([0], np.cumsum(lengths)))
    return sparse.csr_matrix((data, columns, indptr), shape=(n, len(vocabulary)), dtype=np.float64)


def tfidf_matrix(
    client: Client, term_ids: Sequence[U64Array], counts: Sequence[U32Array], partitions: int = 2
) -> list[sparse.csr_matrix]:
    """`event_space.tfidf_matrix(term_ids, counts)` as the rows of `partitions` partitions."""
    vocabulary, doc_freq = document_frequencies(client, term_ids, partitions)
    [vocab_f, df_f] = client.scatter([vocabulary, doc_freq], broadcast=True)
    futures = [
        client.submit(tfidf_rows, list(term_ids[lo:hi]), list(counts[lo:hi]), vocab_f, df_f, len(term_ids))
        for lo, hi in bounds(len(term_ids), partitions)
    ]
    rows: list[sparse.csr_matrix] = client.gather(futures)
    return rows
