"""bench/perf.py, section ftfy: `ftfy.fix_text` against `newsclean.decode.fix_text` (same configuration).

On the decoded corpus texts, on CPU time; counts outputs that differ there and on
`ftfy-cases/*.json`.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Sequence

from common import FTFY_CASES, heading, timed_rounds
from perf_runs import Bench, label, table


def section_ftfy(bench: Bench) -> None:
    """Why: ftfy on every document was the costliest step; the skip must not change any output."""
    import ftfy

    from newsclean import decode
    from newsclean.settings import DecodeOptions

    opts = DecodeOptions()
    config = decode.ftfy_config(opts)
    n = min(bench.args.sizes)
    state = bench.corpus(n)
    heading(f"ftfy: ftfy.fix_text vs newsclean.decode.fix_text (same ftfy config) on the {label(n)} corpus")
    texts: list[tuple[str, str]] = []
    for e in state.manifest.entries:
        path = state.raw / e.path
        if not path.exists():
            continue
        data = path.read_bytes()
        if e.path.endswith(".gz"):
            import gzip

            data = gzip.decompress(data)
        texts.append((e.kind, decode.detect_and_decode(data, is_html=".htm" in e.path).text))
    cases = []
    for f in sorted(FTFY_CASES.glob("*.json")):
        cases += [c["original"] for c in json.loads(f.read_text(encoding="utf-8")) if "original" in c]

    def ftfy_all(items: Sequence[str]) -> list[str]:
        return [ftfy.fix_text(t, config) for t in items]

    def ours_all(items: Sequence[str]) -> list[str]:
        return [decode.fix_text(t, opts) for t in items]

    rows = []
    groups = {
        "text files": [t for k, t in texts if k != "html"],
        "HTML pages": [t for k, t in texts if k == "html"],
        "all corpus files": [t for _, t in texts],
    }
    for name, items in groups.items():
        if not items:
            continue
        last: dict[str, list[str]] = {}
        times = timed_rounds(
            {"ftfy": lambda items=items: ftfy_all(items), "ours": lambda items=items: ours_all(items)},
            max(3, bench.args.runs),
            last,
        )
        diffs = sum(a != b for a, b in zip(last["ftfy"], last["ours"], strict=True))
        kb = statistics.mean(len(t.encode("utf-8")) for t in items) / 1000
        a, b = statistics.median(times["ftfy"][0]), statistics.median(times["ours"][0])
        rows.append([name, len(items), kb, a / len(items) * 1e3, b / len(items) * 1e3, a / b, diffs])
    ref, got = ftfy_all(cases), ours_all(cases)
    case_diffs = [(o, r, g) for o, r, g in zip(cases, ref, got, strict=True) if r != g]
    rows.append(
        [
            "ftfy-cases/*.json",
            len(cases),
            statistics.mean(len(c.encode()) for c in cases) / 1000,
            float("nan"),
            float("nan"),
            float("nan"),
            len(case_diffs),
        ]
    )
    table(["texts", "n", "mean KB", "ftfy ms/doc", "newsclean ms/doc", "speed-up", "outputs differ"], rows)
    print(
        "CPU time, median of interleaved rounds. ftfy = ftfy.fix_text(text, newsclean's config); newsclean "
        "fix_text also repairs UTF-8 punctuation read as cp1252 that ftfy leaves, so a difference there "
        "is by design:"
    )
    punct = sum(decode._fix_punctuation_mojibake(r) == g for _, r, g in case_diffs)
    print(f"  ftfy-cases differences explained by that extra repair: {punct} of {len(case_diffs)}")
    for o, r, g in case_diffs[:3]:
        print(f"  e.g. {o[:60]!r}: ftfy {r[:60]!r} / newsclean {g[:60]!r}")
    bench.figures["ftfy_diffs"] = sum(r[-1] for r in rows[:-1]) + len(case_diffs) - punct
