"""bench/perf.py, section minhash: bench/minhash.py's measurement at the pipeline's settings.

newsclean's MinHasher against datasketch's update_batch at the pipeline's `near_num_perm` and
shingle size, on CPU time, with the Jaccard-agreement check; imported from bench/minhash.py,
not copied.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable

from common import heading, timed_rounds
from perf_runs import Bench, table

SIGNER_PATH = "newsclean signatures_and_hashes(tokens, joined) (the signer's)"


def section_minhash(bench: Bench) -> None:
    """Why: signing must be >= 10x datasketch at the same num_perm and shingles, and agree with it."""
    import minhash as mb  # datasketch and numpy: only when this section runs

    from newsclean.settings import Settings

    dedup = Settings().dedup
    k, ngram = dedup.near_num_perm, dedup.near_shingle_words
    heading(f"minhash: newsclean MinHasher vs {mb.BASELINE}, num_perm={k}, word {ngram}-grams")
    rows = mb.load_articles()  # ~3 KB articles
    token_lists = [mb.tokens_of(r["text"]) for r in rows]
    sets = [mb.shingles_of(t) for t in token_lists]
    joined = [" ".join(t) for t in token_lists]
    hasher = mb.MinHasher(num_perm=k, seed=1)
    methods: dict[str, Callable[[], object]] = {
        mb.BASELINE: lambda: mb.datasketch_signatures(sets, k),
        "newsclean signatures(shingle sets)": lambda: hasher.signatures(sets),
        "newsclean signatures_from_tokens(tokens)*": lambda: hasher.signatures_from_tokens(
            token_lists, ngram
        ),
        "newsclean signatures_and_hashes(tokens)*": lambda: hasher.signatures_and_hashes(token_lists, ngram),
        # What dedup.signing.Signer calls: it keeps the shingle hashes for grouping, and passes
        # each text's tokens joined by spaces, which it makes for the exact-copy key anyway.
        SIGNER_PATH: lambda: hasher.signatures_and_hashes(token_lists, ngram, joined),
    }
    times = timed_rounds(methods, max(3, bench.args.runs))
    base = statistics.median(times[mb.BASELINE][0])
    out_rows = []
    for name, (cpu, wall) in times.items():
        c = statistics.median(cpu)
        out_rows.append([name, c / len(sets) * 1e3, statistics.median(wall) / len(sets) * 1e3, base / c])
    print(
        f"{len(sets)} events-dev articles of 2-4 KB; interleaved rounds, median; speed-up on CPU time "
        "(as bench/minhash.py)"
    )
    table(["method", "CPU ms/doc", "wall ms/doc", "speed-up"], out_rows)
    print(
        "* includes building the 5-grams from the tokens, which the others get for free; the "
        "signer's path starts from the tokens joined by spaces (its exact-copy key's text), where "
        "datasketch gets every 5-gram string made"
    )
    bench.figures["signing"] = (base / statistics.median(times[SIGNER_PATH][0]), SIGNER_PATH)

    # Jaccard agreement (bench/minhash.py's check): edited copies with spread-out true Jaccard
    import random

    agreement = mb.jaccard_agreement(sets, token_lists, hasher, random.Random(0))
    n, exact = len(sets), agreement.exact
    print(f"\nJaccard estimates on {n} (article, edited copy) pairs, true J mean {exact.mean():.3f}:")
    agree = agreement.rows()
    table(["signatures", "mean(est-J)", "mean|est-J|", "z spread"], agree)
    lean = hasher.lean(hasher.signatures(sets[:1])[0])
    print(
        f"mean |newsclean - datasketch| = {agreement.gap:.4f} (sampling sd of J at num_perm={k}: "
        f"{agreement.sampling_sd:.4f}); z spread ~1 = unbiased. Signatures are datasketch objects: "
        f"{type(lean).__name__}"
    )
    bench.figures["signing_agree"] = abs(agree[1][3] - 1) < 0.3
