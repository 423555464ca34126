"""Cleaning-quality benchmark: newsclean's cleaners beside trafilatura and resiliparse.

Why this exists: the cleaner is a pile of rules, and rules are only as good as the text they are
measured on. This script measures them on the 181 real pages of scrapinghub's
article-extraction-benchmark (AEB) with the metric under which trafilatura, readability and
resiliparse published their figures (see `bench/textmetrics.py`), so every change to a rule can be
read as "better or worse than the tools people would otherwise use".

Sections (all by default; pick some with --only):
  html       whole HTML page -> text: trafilatura, resiliparse, newsclean decode_bytes->clean_html
  wceb       held-out news pages (../shared/data/wceb-dev: L3S-GN1 2008, Dragnet 2012): newsclean
             beside trafilatura (include_comments=False) in the same run, per dataset, and the
             pages where newsclean is worse than trafilatura by more than 0.3 F1
  text       dirty text (resiliparse / readability / whole-page output) before and after clean_text
  harm       true bodies through clean_text must keep their F1 ("do no harm")
  encoding   true bodies re-encoded (cp1252, latin-1, Shift_JIS, GBK, EUC-KR, cp1251, UTF-8 with
             and without BOM, UTF-16, mojibake once and twice), bare and in HTML that declares a
             right or a wrong charset, through newsclean.decode.decode_bytes; plus ftfy's own test
             cases through newsclean.decode.fix_text
  artifacts  pages where an artifact kind (captions, share lines, ...) survives, by kind
  choice     (not run by default) the article-choice thresholds (newsclean.cleaners.article) swept
             on wceb-dev, leave one dataset out: chosen on one dataset, reported on the other
             and on AEB, beside the no-comparison baseline
  speed      ms per page (HTML path: AEB and wceb-dev pages) and per document (text path),
             beside trafilatura's on the same pages

    .venv/bin/python bench/cleaning.py                       # everything (about 2-3 minutes)
    .venv/bin/python bench/cleaning.py --only text,harm      # a subset
    .venv/bin/python bench/cleaning.py --only text --failures 5   # what the rules still miss

The newsclean functions are imported lazily and may be missing while they are being written: the
reference rows are still printed, and the newsclean rows say why they are absent.

The data is read from `<repo>/../shared/data` (never copied into the repository); without it the
script exits with a message.
"""

from __future__ import annotations

import argparse
import functools
import html
import importlib
import statistics
import sys
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import textmetrics as tm
from common import AEB_DIR, AEB_TRUTH, DATA, FTFY_CASES, heading, require_shared, table, timed_rounds

SECTIONS = ("html", "wceb", "text", "harm", "encoding", "artifacts", "speed", "choice")
DEFAULT_SECTIONS = tuple(s for s in SECTIONS if s != "choice")
WCEB_DIR = DATA / "wceb-dev"
WCEB_SETS = ("l3s-gn1", "dragnet")
TARGETS = {
    "html": 0.970,
    "wceb_delta": 0.01,  # newsclean F1 - trafilatura F1, on each wceb-dev dataset
    "wceb_worse": 0.3,  # a page this much worse (F1) than trafilatura's is a lost article
    "wceb_worse_share": 0.01,  # at most this share of the pages
    "resiliparse": 0.950,
    "readability": 0.965,
    "html-text": 0.850,
    "harm": 0.995,
    "encoding": 0.99,
    "speed": 1.5,
}
NOT_AVAILABLE = "newsclean: not available ({})"


# --------------------------------------------------------------------------------------------
# Printing
# --------------------------------------------------------------------------------------------


def mark(ok: bool) -> str:
    """Target reached or not, in one glyph a reader can scan for."""
    return "ok" if ok else "MISS"


def short(text: str, width: int = 150) -> str:
    """One display line: whitespace collapsed, long lines cut."""
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


# --------------------------------------------------------------------------------------------
# newsclean, imported lazily
# --------------------------------------------------------------------------------------------


@dataclass
class NewscleanApi:
    """The four newsclean entry points the benchmark calls, or why each could not be loaded."""

    clean_html: Callable[..., Any] | None = None
    clean_text: Callable[..., Any] | None = None
    decode_bytes: Callable[..., Any] | None = None
    fix_text: Callable[..., Any] | None = None
    errors: dict[str, str] = field(default_factory=dict)

    def missing(self, name: str) -> str:
        """The message printed in place of a row whose function is absent."""
        return NOT_AVAILABLE.format(self.errors.get(name, "unknown error"))


def load_newsclean() -> NewscleanApi:
    """Import each function on its own so one half-written module does not hide the others."""
    api = NewscleanApi()
    for attr, module_name in (
        ("clean_html", "newsclean.cleaners"),
        ("clean_text", "newsclean.cleaners"),
        ("decode_bytes", "newsclean.decode"),
        ("fix_text", "newsclean.decode"),
    ):
        try:
            module = importlib.import_module(module_name)
            func = getattr(module, attr)
        except Exception as exc:  # any failure to import is reported, never fatal
            api.errors[attr] = f"{module_name}.{attr}: {type(exc).__name__}: {exc}"
            continue
        setattr(api, attr, func)
    return api


def as_text(result: object) -> str:
    """`CleanedText.text` / `DecodedText.text`, tolerating a plain str while the API settles."""
    if isinstance(result, str):
        return result
    text = getattr(result, "text", None)
    if not isinstance(text, str):
        raise TypeError(f"expected an object with a str .text, got {type(result).__name__}")
    return text


@dataclass
class RunResult:
    """Outputs of one function over a corpus, its wall time and any exceptions it raised."""

    outputs: dict[str, str]
    seconds: float
    errors: dict[str, str] = field(default_factory=dict)

    def error_note(self) -> str | None:
        """A one-line summary of exceptions (an exception counts as an empty output)."""
        if not self.errors:
            return None
        key, msg = next(iter(self.errors.items()))
        return f"   ! {len(self.errors)} document(s) raised; first {key[:8]}: {short(msg, 110)}"


def run_each(func: Callable[[str, Any], str], inputs: Mapping[str, Any]) -> RunResult:
    """Apply `func(key, value)` to every input; exceptions become empty outputs and are counted."""
    outputs: dict[str, str] = {}
    errors: dict[str, str] = {}
    start = time.perf_counter()
    for key, value in inputs.items():
        try:
            outputs[key] = func(key, value)
        except Exception as exc:  # one bad document must not end the benchmark
            outputs[key] = ""
            errors[key] = f"{type(exc).__name__}: {exc}"
    return RunResult(outputs, time.perf_counter() - start, errors)


# --------------------------------------------------------------------------------------------
# The shared state of one run
# --------------------------------------------------------------------------------------------


class Bench:
    """Data and cached outputs shared by the sections, so each expensive pass runs once."""

    def __init__(self, limit: int | None) -> None:
        self.truth = tm.load_truth()
        if limit:
            self.truth = dict(list(self.truth.items())[:limit])
        self.urls = tm.load_urls()
        self.api = load_newsclean()
        self._pages: dict[str, bytes] | None = None
        self._html: dict[str, str] | None = None
        self._dirty: dict[str, dict[str, str]] = {}
        self.results: dict[str, RunResult] = {}
        self.limit = limit
        self.sections: list[str] = list(SECTIONS)
        self._wceb: dict[str, WcebSet] = {}

    @property
    def ids(self) -> list[str]:
        """Page ids in ground-truth order."""
        return list(self.truth)

    @property
    def pages(self) -> dict[str, bytes]:
        """Raw HTML bytes, loaded on first use."""
        if self._pages is None:
            self._pages = tm.load_pages(self.ids)
        return self._pages

    @property
    def html(self) -> dict[str, str]:
        """HTML decoded by the benchmark (the same str for every reference extractor)."""
        if self._html is None:
            self._html = {k: tm.bench_decode(b) for k, b in self.pages.items()}
        return self._html

    def dirty(self, name: str) -> dict[str, str]:
        """One dirty-text input, restricted to the pages in this run."""
        if name not in self._dirty:
            data = tm.load_dirty(name)
            self._dirty[name] = {k: data.get(k, "") for k in self.ids}
        return self._dirty[name]

    # -- cached passes ------------------------------------------------------------------------

    def trafilatura(self, label: str = "nocomments") -> RunResult:
        """trafilatura over the pages with one of the configurations in TRAFILATURA_CONFIGS."""
        key = f"trafilatura:{label}"
        if key not in self.results:
            import trafilatura

            kwargs = TRAFILATURA_CONFIGS[label][1]
            self.results[key] = run_each(
                lambda k, page: trafilatura.extract(page, url=self.urls.get(k), **kwargs) or "",
                self.html,
            )
        return self.results[key]

    def resiliparse(self, alt_texts: bool = True) -> RunResult:
        """resiliparse's main-content extractor over the pages."""
        key = f"resiliparse:{alt_texts}"
        if key not in self.results:
            from resiliparse.extract.html2text import extract_plain_text

            self.results[key] = run_each(
                lambda _k, page: extract_plain_text(page, main_content=True, alt_texts=alt_texts),
                self.html,
            )
        return self.results[key]

    def newsclean_pages(self) -> RunResult | None:
        """newsclean's pages path: decode_bytes (if present) then clean_html, with the URL."""
        clean_html = self.api.clean_html
        if clean_html is None:
            return None
        if "newsclean:pages" not in self.results:
            self.results["newsclean:pages"] = run_each(pages_path(self.api, self.urls), self.pages)
        return self.results["newsclean:pages"]

    def newsclean_text(self, name: str) -> RunResult | None:
        """clean_text over one dirty input ("truth" runs it over the true bodies)."""
        clean_text = self.api.clean_text
        if clean_text is None:
            return None
        key = f"newsclean:text:{name}"
        if key not in self.results:
            inputs = self.truth if name == "truth" else self.dirty(name)
            self.results[key] = run_each(lambda _k, text: as_text(clean_text(text)), inputs)
        return self.results[key]

    # -- wceb-dev: held-out news pages --------------------------------------------------------

    def wceb(self, name: str) -> WcebSet:
        """One wceb-dev dataset (its first `limit` pages with --limit), loaded on first use."""
        if name not in self._wceb:
            self._wceb[name] = load_wceb(name, self.limit)
        return self._wceb[name]

    def wceb_trafilatura(self, name: str) -> RunResult:
        """trafilatura with the reference configuration over one wceb-dev dataset's pages."""
        key = f"wceb:{name}:trafilatura"
        if key not in self.results:
            import trafilatura

            data = self.wceb(name)
            kwargs = TRAFILATURA_CONFIGS["nocomments"][1]
            self.results[key] = run_each(
                lambda k, page: (
                    trafilatura.extract(tm.bench_decode(page), url=data.urls.get(k), **kwargs) or ""
                ),
                data.pages,
            )
        return self.results[key]

    def wceb_newsclean(self, name: str) -> RunResult | None:
        """newsclean's pages path over one wceb-dev dataset's pages."""
        if self.api.clean_html is None:
            return None
        key = f"wceb:{name}:newsclean"
        if key not in self.results:
            data = self.wceb(name)
            self.results[key] = run_each(pages_path(self.api, data.urls), data.pages)
        return self.results[key]


@dataclass(frozen=True, slots=True)
class WcebSet:
    """One wceb-dev dataset: true article text, URL and raw page bytes, by page id."""

    name: str
    truth: dict[str, str]
    urls: dict[str, str]
    pages: dict[str, bytes]


def load_wceb(name: str, limit: int | None = None) -> WcebSet:
    """`../shared/data/wceb-dev/<name>`: ground-truth.json (id -> text), pages.json (id -> url),
    <id>.html.gz (the original bytes, any charset)."""
    import gzip
    import json

    folder = WCEB_DIR / name
    truth = json.loads((folder / "ground-truth.json").read_text(encoding="utf-8"))
    if limit:
        truth = dict(list(truth.items())[:limit])
    pages = json.loads((folder / "pages.json").read_text(encoding="utf-8"))
    urls = {k: (pages.get(k) or {}).get("url") or "" for k in truth}
    raw = {k: gzip.decompress((folder / f"{k}.html.gz").read_bytes()) for k in truth}
    return WcebSet(name, {k: v or "" for k, v in truth.items()}, urls, raw)


def pages_path(api: NewscleanApi, urls: Mapping[str, str]) -> Callable[[str, bytes], str]:
    """newsclean's pages path as a run reads a page file: decode_bytes (when present), then
    clean_html with the page's URL."""
    clean_html = api.clean_html
    decode = api.decode_bytes
    assert clean_html is not None

    def one(key: str, data: bytes) -> str:
        text = as_text(decode(data, filename=f"{key}.html")) if decode is not None else tm.bench_decode(data)
        return as_text(clean_html(text, url=urls.get(key) or None))

    return one


TRAFILATURA_CONFIGS: dict[str, tuple[str, dict[str, Any]]] = {
    "default": ("trafilatura.extract, library defaults", {}),
    "nocomments": (
        "trafilatura, include_comments=False  [reference]",
        {"include_comments": False},
    ),
    "precision": (
        "trafilatura, favor_precision, no comments",
        {"include_comments": False, "favor_precision": True},
    ),
    "recall": (
        "trafilatura, favor_recall, no comments",
        {"include_comments": False, "favor_recall": True},
    ),
}


def score_row(label: str, score: tm.Score, *extra: object) -> list[object]:
    """One table row: label, F1, P, R, then whatever the section adds."""
    return [label, score.f1, score.precision, score.recall, *extra]


# --------------------------------------------------------------------------------------------
# 1. Whole HTML page -> text
# --------------------------------------------------------------------------------------------


def section_html(bench: Bench) -> None:
    """Why: newsclean's HTML path must beat trafilatura alone, its own first stage."""
    heading(f"1. Whole HTML page -> text ({len(bench.ids)} AEB pages)")
    rows: list[list[object]] = []
    for label, (title, _kwargs) in TRAFILATURA_CONFIGS.items():
        res = bench.trafilatura(label)
        ms = 1000 * res.seconds / len(bench.ids)
        published = "0.958-0.964" if label in ("nocomments", "precision") else ""
        rows.append(score_row(title, tm.evaluate(res.outputs, bench.truth), f"{ms:.1f}", published))
    for alt in (True, False):
        res = bench.resiliparse(alt)
        title = "resiliparse main_content" + ("" if alt else ", alt_texts=False")
        ms = 1000 * res.seconds / len(bench.ids)
        published = "0.898" if alt else "0.916"
        rows.append(score_row(title, tm.evaluate(res.outputs, bench.truth), f"{ms:.1f}", published))
    res_nc = bench.newsclean_pages()
    label = "newsclean " + (
        "decode_bytes -> clean_html" if bench.api.decode_bytes else "clean_html (bench-decoded)"
    )
    if res_nc is None:
        rows.append([f"{label}: {bench.api.missing('clean_html')}"])
    else:
        score = tm.evaluate(res_nc.outputs, bench.truth)
        ms = 1000 * res_nc.seconds / len(bench.ids)
        target = TARGETS["html"]
        rows.append(score_row(label, score, f"{ms:.1f}", f">= {target} {mark(score.f1 >= target)}"))
        if note := res_nc.error_note():
            rows.append([note])
    table(["extractor", "F1", "P", "R", "ms/page", "published / target"], rows)


# --------------------------------------------------------------------------------------------
# 1b. Held-out news pages (wceb-dev)
# --------------------------------------------------------------------------------------------


def section_wceb(bench: Bench) -> None:
    """Why: the AEB pages are the ones the rules were written on; pages from other sites and
    years show whether the cleaning holds, and whether it ever loses the article trafilatura
    alone finds (a page far worse than trafilatura's is a lost article, not a leftover)."""
    heading("1b. Held-out news pages (wceb-dev) -> text, beside trafilatura in the same run")
    rows: list[list[object]] = []
    pooled_nc: dict[str, str] = {}
    pooled_tr: dict[str, str] = {}
    pooled_truth: dict[str, str] = {}
    worse: list[tuple[float, str, str, float, float]] = []
    counts = Counter[str]()
    for name in WCEB_SETS:
        data = bench.wceb(name)
        traf = bench.wceb_trafilatura(name)
        tr_score = tm.evaluate(traf.outputs, data.truth)
        rows.append(score_row(f"{name} ({len(data.truth)}): trafilatura, no comments", tr_score, "", ""))
        res = bench.wceb_newsclean(name)
        if res is None:
            rows.append([f"  {bench.api.missing('clean_html')}"])
            continue
        nc_score = tm.evaluate(res.outputs, data.truth)
        delta = nc_score.f1 - tr_score.f1
        target = TARGETS["wceb_delta"]
        rows.append(
            score_row(
                f"{name}: newsclean decode_bytes -> clean_html",
                nc_score,
                f"{delta:+.4f}",
                f">= +{target} {mark(delta >= target)}",
            )
        )
        if note := res.error_note():
            rows.append([note])
        for key in data.truth:
            nc_f1 = nc_score.per_doc[key].f1
            tr_f1 = tr_score.per_doc[key].f1
            counts["worse 0.05"] += nc_f1 < tr_f1 - 0.05
            counts["better 0.05"] += nc_f1 > tr_f1 + 0.05
            if nc_f1 < tr_f1 - TARGETS["wceb_worse"]:
                worse.append((nc_f1 - tr_f1, name, key, nc_f1, tr_f1))
            pooled_nc[f"{name}/{key}"] = res.outputs[key]
            pooled_tr[f"{name}/{key}"] = traf.outputs[key]
            pooled_truth[f"{name}/{key}"] = data.truth[key]
    if pooled_nc:
        tr_score = tm.evaluate(pooled_tr, pooled_truth)
        nc_score = tm.evaluate(pooled_nc, pooled_truth)
        rows.append(score_row("pooled: trafilatura, no comments", tr_score, "", ""))
        rows.append(score_row("pooled: newsclean", nc_score, f"{nc_score.f1 - tr_score.f1:+.4f}", ""))
    table(["pages", "F1", "P", "R", "nc - traf", "target"], rows)
    if not pooled_nc:
        return
    n = len(pooled_nc)
    share = len(worse) / n
    limit = TARGETS["wceb_worse_share"]
    print(
        f"pages where newsclean is worse than trafilatura by > {TARGETS['wceb_worse']} F1: "
        f"{len(worse)}/{n} ({100 * share:.1f}%; target <= {100 * limit:.0f}% {mark(share <= limit)});"
        f" by > 0.05: {counts['worse 0.05']}, better by > 0.05: {counts['better 0.05']}"
    )
    for diff, name, key, nc_f1, tr_f1 in sorted(worse):
        url = bench.wceb(name).urls.get(key, "")
        print(f"  {diff:+.3f}  {name}/{key[:12]}  newsclean {nc_f1:.3f}  trafilatura {tr_f1:.3f}  {url[:80]}")


# --------------------------------------------------------------------------------------------
# 7. Article choice: thresholds, leave one dataset out
# --------------------------------------------------------------------------------------------

CHOICE_GRID = {
    "growth": (1.2, 1.5, 2.0, 3.0),
    "min_cohesion": (0.0, 0.1, 0.2, 0.3, 0.5),
    "title_lead": (0.25, 0.34, 0.5, 2.0),  # 2.0: the title test never fires
}


def section_choice(bench: Bench) -> None:
    """Why: `choose_article`'s thresholds are chosen, so their figure must come from pages they
    were not chosen on: each wceb-dev dataset picks the values, the other one and AEB report them.
    Every page's extractions are made and cleaned once; only the choice is repeated."""
    import itertools

    from newsclean.cleaners.article import GROWTH, MIN_COHESION, TITLE_LEAD, choose_article
    from newsclean.cleaners.html_page import page_extractions
    from newsclean.decode import decode_bytes
    from newsclean.settings import CleaningOptions

    heading("7. Article choice (newsclean.cleaners.article): leave one dataset out")
    options = CleaningOptions()
    sets: dict[str, tuple[dict[str, str], dict[str, Any]]] = {}
    for name in (*WCEB_SETS, "aeb"):
        if name == "aeb":
            truth, urls, pages = bench.truth, bench.urls, bench.pages
        else:
            data = bench.wceb(name)
            truth, urls, pages = data.truth, data.urls, data.pages
        found = {}
        for key, raw in pages.items():
            html = as_text(decode_bytes(raw, filename=f"{key}.html"))
            found[key] = page_extractions(html, options, urls.get(key) or None)
        sets[name] = (truth, found)

    def f1(name: str, params: dict[str, float] | None) -> float:
        truth, found = sets[name]
        outputs = {}
        for key, extractions in found.items():
            kept = extractions[0].candidate
            if params is not None and len(extractions) > 1:
                title = extractions[0].result.metadata.title
                kept, _ = choose_article(kept, [e.candidate for e in extractions[1:]], title, **params)
            outputs[key] = kept.text
        return tm.evaluate(outputs, truth).f1

    grid = [
        dict(zip(CHOICE_GRID, values, strict=True)) for values in itertools.product(*CHOICE_GRID.values())
    ]
    scores = {name: [f1(name, params) for params in grid] for name in WCEB_SETS}
    rows: list[list[object]] = []
    baseline = {name: f1(name, None) for name in sets}
    rows.append(["no comparison (the kept pass)", "", *(baseline[n] for n in sets)])
    defaults = {"growth": GROWTH, "min_cohesion": MIN_COHESION, "title_lead": TITLE_LEAD}
    rows.append(["newsclean's constants", _params(defaults), *(f1(n, defaults) for n in sets)])
    for chosen_on in WCEB_SETS:
        best = max(range(len(grid)), key=lambda i: (scores[chosen_on][i], -i))
        params = grid[best]
        rows.append([f"best on {chosen_on}", _params(params), *(f1(n, params) for n in sets)])
    table(["choice", "growth / cohesion / title lead", *(f"F1 {n}" for n in sets)], rows)
    print(
        "'best on X' is chosen on X alone: its figures on the other datasets are held out."
        f" Grid: {CHOICE_GRID}."
    )
    for name in WCEB_SETS:
        ranked = sorted(range(len(grid)), key=lambda i: -scores[name][i])[:5]
        shown = "; ".join(f"{_params(grid[i])}: {scores[name][i]:.4f}" for i in ranked)
        print(f"  top 5 on {name}: {shown}")


def _params(params: dict[str, float]) -> str:
    return " / ".join(f"{params[k]:g}" for k in CHOICE_GRID)


# --------------------------------------------------------------------------------------------
# 2. Dirty text -> cleaned text, 3. do no harm
# --------------------------------------------------------------------------------------------


def section_text(bench: Bench) -> None:
    """Why: most newsclean input is text another extractor already produced, artifacts and all."""
    heading("2. Dirty text -> newsclean clean_text")
    rows: list[list[object]] = []
    for name in tm.DIRTY_INPUTS:
        before = tm.evaluate(bench.dirty(name), bench.truth)
        rows.append(score_row(f"{name}: as given", before, "", ""))
        res = bench.newsclean_text(name)
        if res is None:
            rows.append([f"  -> {bench.api.missing('clean_text')}"])
            continue
        after = tm.evaluate(res.outputs, bench.truth)
        target = TARGETS[name]
        rows.append(
            score_row(
                "  -> after clean_text",
                after,
                f"{after.f1 - before.f1:+.4f}",
                f">= {target} {mark(after.f1 >= target)}",
            )
        )
        if note := res.error_note():
            rows.append([note])
    table(["input", "F1", "P", "R", "change", "target"], rows)


def section_harm(bench: Bench) -> None:
    """Why: a rule deleting real prose is worse than a missed caption; clean text must survive."""
    heading("3. Do no harm: true bodies through clean_text")
    res = bench.newsclean_text("truth")
    if res is None:
        print(bench.api.missing("clean_text"))
        return
    score = tm.evaluate(res.outputs, bench.truth)
    changed = sum(tm.tokens(res.outputs[k]) != tm.tokens(bench.truth[k]) for k in bench.ids)
    target = TARGETS["harm"]
    table(
        ["input", "F1", "P", "R", "docs changed (tokens)", "target"],
        [
            score_row(
                "truth -> clean_text",
                score,
                f"{changed}/{len(bench.ids)}",
                f">= {target} {mark(score.f1 >= target)}",
            )
        ],
    )
    worst = sorted(score.per_doc.items(), key=lambda kv: kv[1].recall)[:5]
    worst = [(k, s) for k, s in worst if s.recall < 1.0]
    if worst:
        print("lowest recall (truth lines the cleaner removed):")
        for key, doc in worst:
            lost = tm.missing_lines(res.outputs[key], bench.truth[key])
            print(f"  {key[:8]} R={doc.recall:.3f} {bench.urls.get(key, '')[:80]}")
            for line in lost[:5]:
                print(f"      - {short(line, 140)}")
    if note := res.error_note():
        print(note)


# --------------------------------------------------------------------------------------------
# 4. Encoding
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EncodingCase:
    """Bytes built from one true body, and how they were built."""

    key: str
    kind: str
    variant: str  # "bare", "html:right", "html:wrong"
    declared: str | None
    data: bytes
    truth: str


def _script(text: str) -> str:
    """The page's main non-Latin script, to pick the legacy encodings a real site would use."""
    counts: Counter[str] = Counter()
    for ch in text:
        if ch.isalpha():
            name = unicodedata.name(ch, "")
            counts[name.split(" ")[0]] += 1
    if counts["HIRAGANA"] + counts["KATAKANA"] > 0:
        return "ja"
    if counts["HANGUL"] > 0:
        return "ko"
    if counts["CJK"] > 0:
        return "zh"
    if counts["CYRILLIC"] > counts["LATIN"]:
        return "ru"
    return "latin"


def _mojibake(text: str, times: int) -> str:
    """UTF-8 bytes read as Windows-1252 (ftfy's lossless 'sloppy' variant), `times` over."""
    import ftfy.bad_codecs  # noqa: F401  registers "sloppy-windows-1252"

    for _ in range(times):
        text = text.encode("utf-8").decode("sloppy-windows-1252")
    return text


# kind -> (codec used to make the bytes, label declared when right, label declared when wrong,
#          which scripts the kind applies to, whether pure-ASCII bodies are skipped)
ENCODING_KINDS: dict[str, tuple[str, str, str, tuple[str, ...], bool]] = {
    "utf-8": ("utf-8", "utf-8", "iso-8859-1", ("*",), True),
    "utf-8-bom": ("utf-8-sig", "utf-8", "windows-1252", ("*",), False),
    "utf-16": ("utf-16", "utf-16", "utf-8", ("*",), False),
    "cp1252": ("cp1252", "windows-1252", "utf-8", ("latin",), True),
    "latin-1": ("latin-1", "iso-8859-1", "utf-8", ("latin",), True),
    "shift_jis": ("shift_jis", "shift_jis", "utf-8", ("ja",), True),
    "gbk": ("gbk", "gbk", "utf-8", ("zh", "ja"), True),
    "euc-kr": ("euc-kr", "euc-kr", "utf-8", ("ko",), True),
    "cp1251": ("cp1251", "windows-1251", "utf-8", ("ru",), True),
    "mojibake-1": ("moji1", "utf-8", "windows-1252", ("*",), True),
    "mojibake-2": ("moji2", "utf-8", "windows-1252", ("*",), True),
}


def _wrap(body: str, label: str, style: int) -> str:
    """A minimal article page; the two common ways of declaring a charset, alternating."""
    meta = (
        f'<meta charset="{label}">'
        if style % 2 == 0
        else f'<meta http-equiv="Content-Type" content="text/html; charset={label}">'
    )
    paras = "\n".join(f"<p>{html.escape(p, quote=False)}</p>" for p in body.split("\n") if p.strip())
    return (
        f"<!DOCTYPE html>\n<html><head>{meta}<title>article</title></head>\n"
        f"<body>\n<article>\n{paras}\n</article>\n</body></html>\n"
    )


def _encode(text: str, codec: str) -> bytes:
    if codec == "moji1":
        return _mojibake(text, 1).encode("utf-8")
    if codec == "moji2":
        return _mojibake(text, 2).encode("utf-8")
    return text.encode(codec)  # strict: UnicodeEncodeError means "not possible", case skipped


def build_encoding_cases(truth: Mapping[str, str]) -> tuple[list[EncodingCase], Counter[str]]:
    """Every (body, kind) that can be encoded, bare and wrapped with a right and a wrong label."""
    cases: list[EncodingCase] = []
    skipped: Counter[str] = Counter()
    for index, (key, body) in enumerate(truth.items()):
        script = _script(body)
        for kind, (codec, right, wrong, scripts, skip_ascii) in ENCODING_KINDS.items():
            if "*" not in scripts and script not in scripts:
                continue
            if skip_ascii and body.isascii():
                skipped[f"{kind}: pure ASCII"] += 1
                continue
            try:
                bare = _encode(body, codec)
                html_right = _encode(_wrap(body, right, index), codec)
                html_wrong = _encode(_wrap(body, wrong, index + 1), codec)
            except UnicodeEncodeError:
                skipped[f"{kind}: not encodable"] += 1
                continue
            cases += [
                EncodingCase(key, kind, "bare", None, bare, body),
                EncodingCase(key, kind, "html:right", right, html_right, body),
                EncodingCase(key, kind, "html:wrong", wrong, html_wrong, body),
            ]
    return cases, skipped


def text_inside(page: str) -> str:
    """The paragraphs of a decoded wrapper page, as the truth was split into them."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(page, "html.parser")
    return "\n".join(p.get_text() for p in soup.find_all("p"))


def case_ok(case: EncodingCase, got: str) -> bool:
    """Equal to the truth after NFC and whitespace normalisation (see the section note)."""
    return tm.norm_ws(got) == tm.norm_ws(case.truth)


def case_text(
    decode: Callable[[bytes, str], str],
    data: bytes,
    filename: str,
    repair: Callable[[str], str] | None = None,
) -> str:
    """A case's text as a decoder leaves it: a bare file decoded; a page decoded, then its <p>
    texts, then (for newsclean, whose decode_bytes leaves pages unrepaired because clean_html
    repairs the article text it extracts) repaired the way clean_html repairs them."""
    decoded = decode(data, filename)
    if not filename.endswith(".html"):
        return decoded
    inside = text_inside(decoded)
    return repair(inside) if repair is not None else inside


def baseline_decode(data: bytes, filename: str = "") -> str:
    """A naive reference: BOM, else strict UTF-8, else charset-normalizer; then ftfy.

    Not newsclean: a yardstick that shows how hard the cases are and validates the harness.
    """
    import ftfy
    from charset_normalizer import from_bytes

    del filename
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = data.decode("utf-16")
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            best = from_bytes(data).best()
            text = str(best) if best is not None else data.decode("cp1252", errors="replace")
    return ftfy.fix_text(text, uncurl_quotes=False, fix_character_width=False)


def section_encoding(bench: Bench, show_failures: int, baseline_failures: int) -> None:
    """Why: a mis-decoded article poisons every later step (dedup hashes, dates, the output)."""
    heading("4. Encoding: true bodies re-encoded, through decode_bytes")
    print(
        "A case passes when the decoded text (for HTML cases: the <p> texts of the decoded page;\n"
        "for newsclean then repaired by fix_text, as clean_html repairs the text it extracts)\n"
        "equals the true body after NFC and collapsing every whitespace run to one space; the\n"
        "wrapper's own whitespace and line breaks are not the decoder's business. Wrong labels:\n"
        "'utf-8' on legacy bytes, 'windows-1252'/'iso-8859-1' on UTF-8, 'utf-8' on UTF-16."
    )
    cases, skipped = build_encoding_cases(bench.truth)
    decoders: list[tuple[str, Callable[[bytes, str], str], Callable[[str], str] | None]] = []
    decode_bytes = bench.api.decode_bytes
    fix_text = bench.api.fix_text
    if decode_bytes is not None:
        decoders.append(
            ("newsclean", lambda data, name: as_text(decode_bytes(data, filename=name)), fix_text)
        )
    decoders.append(("baseline", baseline_decode, None))
    if decode_bytes is None:
        print(bench.api.missing("decode_bytes"))

    ok: dict[str, Counter[tuple[str, str]]] = {}
    failures: dict[str, list[tuple[EncodingCase, str]]] = {}
    timing: dict[str, float] = {}
    for name, decode, repair in decoders:
        passed: Counter[tuple[str, str]] = Counter()
        failed: list[tuple[EncodingCase, str]] = []
        start = time.perf_counter()
        for case in cases:
            filename = "article.txt" if case.variant == "bare" else "article.html"
            try:
                got = case_text(decode, case.data, filename, repair)
            except Exception as exc:  # a crash is a failed case
                failed.append((case, f"raised {type(exc).__name__}: {short(str(exc), 80)}"))
                continue
            if case_ok(case, got):
                passed[(case.kind, case.variant)] += 1
            else:
                failed.append((case, _first_diff(case.truth, got)))
        timing[name] = time.perf_counter() - start
        ok[name] = passed
        failures[name] = failed

    totals: Counter[tuple[str, str]] = Counter((c.kind, c.variant) for c in cases)
    docs: dict[str, set[str]] = {}
    for c in cases:
        docs.setdefault(c.kind, set()).add(c.key)
    names = [n for n, _, _ in decoders]
    main_name = names[0]  # newsclean when present, else the baseline
    variants = ("bare", "html:right", "html:wrong")
    headers = ["kind", "docs", "cases", "bare", "html, right label", "html, wrong label"]
    headers += [f"{n} rate" for n in names]
    rows: list[list[object]] = []

    def rate(name: str, kind: str | None) -> float:
        good = sum(v for (k, _), v in ok[name].items() if kind in (None, k))
        total = sum(v for (k, _), v in totals.items() if kind in (None, k))
        return good / total if total else 0.0

    for kind in [*ENCODING_KINDS, None]:
        total = sum(v for (k, _), v in totals.items() if kind in (None, k))
        if not total:
            continue
        n_docs = len(docs[kind]) if kind else len({c.key for c in cases})
        row: list[object] = [kind or "all", n_docs, total]
        for v in variants:
            good = sum(n for (k, var), n in ok[main_name].items() if var == v and kind in (None, k))
            want = sum(n for (k, var), n in totals.items() if var == v and kind in (None, k))
            row.append(f"{good}/{want}")
        for n in names:
            tail = f" {mark(rate(n, kind) >= TARGETS['encoding'])}" if n == "newsclean" else ""
            row.append(f"{100 * rate(n, kind):.1f}%" + (tail if kind is None else ""))
        rows.append(row)
    print(f"(bare / html columns: {main_name}'s passes)")
    table(headers, rows)
    print(
        "target: newsclean >= 99% of cases; skipped (not encodable / pure ASCII): "
        + ", ".join(f"{k} {v}" for k, v in sorted(skipped.items()))
    )
    print("time: " + ", ".join(f"{n} {1000 * timing[n] / max(1, len(cases)):.2f} ms/case" for n in names))
    for n in names:
        fails = failures[n]
        limit = show_failures if n == main_name else baseline_failures
        if fails and limit:
            print(f"{n}: first failing cases ({len(fails)} in all)")
            for case, why in fails[:limit]:
                print(f"  {case.kind:<10} {case.variant:<10} {case.key[:8]} declared={case.declared}: {why}")
    section_ftfy(bench)


def _first_diff(truth: str, got: str) -> str:
    """Where the decoded text first departs from the truth, as two short excerpts."""
    a, b = tm.norm_ws(truth), tm.norm_ws(got)
    i = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
    return f"at {i}: want {a[max(0, i - 15) : i + 25]!r} got {b[max(0, i - 15) : i + 25]!r}"


def _ftfy_expected_ok(out: str, case: Mapping[str, str]) -> bool:
    """Does `out` match what ftfy's test expects, modulo what newsclean deliberately keeps?

    ftfy's `fixed` is the output of its default `fix_text`, which straightens curly quotes and
    narrows full-width characters; newsclean keeps both. `fixed-encoding` (where given) is
    `fix_encoding` alone, which skips steps newsclean does run (ligatures, control characters,
    HTML entities). So a case passes if the output equals `fixed`, or `fixed-encoding`, or
    becomes `fixed` once quotes are straightened and widths narrowed.
    """
    from ftfy.fixes import fix_character_width, uncurl_quotes

    if out in (case["fixed"], case.get("fixed-encoding")):
        return True
    return uncurl_quotes(fix_character_width(out)) == case["fixed"]


def section_ftfy(bench: Bench) -> None:
    """Why: newsclean configures ftfy itself; its choices must not undo what ftfy gets right."""
    import json

    import ftfy

    print(
        "\nftfy's own test cases through newsclean.decode.fix_text "
        "(reference: ftfy with newsclean's documented settings)"
    )
    require_shared(FTFY_CASES)
    fixers: list[tuple[str, Callable[[str], str] | None]] = [
        ("newsclean", bench.api.fix_text),
        ("ftfy-ref", lambda s: ftfy.fix_text(s, uncurl_quotes=False, fix_character_width=False)),
    ]
    headers = ["file", "cases", "expect"]
    for name, fixer in fixers:
        headers += [f"{name} ok", f"{name} fixed kept"] if fixer is not None else []
    rows: list[list[object]] = []
    bad: list[str] = []
    for path in sorted(FTFY_CASES.glob("*.json")):
        cases = json.loads(path.read_text(encoding="utf-8"))
        expect = Counter(c.get("expect", "pass") for c in cases)
        row: list[object] = [
            path.stem,
            len(cases),
            ", ".join(f"{v} {k}" for k, v in expect.items()),
        ]
        for name, fixer in fixers:
            if fixer is None:
                continue
            good = kept = 0
            for case in cases:
                try:
                    out = fixer(case["original"])
                    again = fixer(case.get("fixed-encoding", case["fixed"]))
                except Exception as exc:  # a crash fails the case
                    out = again = f"<raised {type(exc).__name__}>"
                passed = _ftfy_expected_ok(out, case)
                good += passed
                kept += _ftfy_expected_ok(again, case)
                if name == "newsclean" and case.get("expect", "pass") == "pass" and not passed:
                    bad.append(f"  {path.stem}: {case['label'][:60]}: {out[:50]!r}")
            row += [f"{good}/{len(cases)}", f"{kept}/{len(cases)}"]
        rows.append(row)
    if bench.api.fix_text is None:
        rows.append([bench.api.missing("fix_text")])
    table(headers, rows)
    print(
        "'ok': original -> expected (known-failures.json: ftfy itself is expected to fail these,"
        " so a low count there is normal);\n'fixed kept': the already-correct text is left as"
        " it is; negative.json: 'ok' means the text was not changed."
    )
    if bad:
        print(f"newsclean misses {len(bad)} case(s) ftfy expects to pass:")
        print("\n".join(bad[:20]))


# --------------------------------------------------------------------------------------------
# 5. Artifact kinds
# --------------------------------------------------------------------------------------------


def section_artifacts(bench: Bench, examples: int) -> None:
    """Why: F1 hides *which* furniture survives; the cleaner's rules are written per kind."""
    heading("5. Pages with an artifact in the output that is not in the truth, by kind")
    columns: list[tuple[str, Mapping[str, str] | None, str]] = [
        ("truth", bench.truth, "(detector fires on the truth itself: calibration)"),
        ("trafilatura", bench.trafilatura("nocomments").outputs, ""),
    ]
    pages = bench.newsclean_pages()
    columns.append(("nc pages", pages.outputs if pages else None, ""))
    for name in tm.DIRTY_INPUTS:
        short_name = {"resiliparse": "resil", "readability": "read", "html-text": "htmltext"}[name]
        columns.append((f"{short_name} in", bench.dirty(name), ""))
        res = bench.newsclean_text(name)
        columns.append((f"nc({short_name})", res.outputs if res else None, ""))

    counts: dict[str, Counter[str]] = {}
    hits: dict[str, dict[str, list[tuple[str, str]]]] = {}
    for col, outputs, _note in columns:
        if outputs is None:
            continue
        c: Counter[str] = Counter()
        h: dict[str, list[tuple[str, str]]] = {}
        for key in bench.ids:
            if col == "truth":
                found = {k: list(v) for k, v in tm.find_artifacts(bench.truth[key]).items()}
            else:
                found = tm.new_artifacts(outputs.get(key, ""), bench.truth[key])
            for kind, lines in found.items():
                c[kind] += 1
                h.setdefault(kind, []).extend((key, line) for line in lines)
        counts[col] = c
        hits[col] = h

    headers = ["kind", *[col for col, _, _ in columns], "targets"]
    rows: list[list[object]] = []
    for det in tm.DETECTORS:
        row: list[object] = [det.kind + (" *" if det.extra else "")]
        for col, outputs, _ in columns:
            row.append(counts[col][det.kind] if outputs is not None else "n/a")
        notes = []
        if "nc pages" in counts:
            notes.append(f"pages {mark(counts['nc pages'][det.kind] <= 1)}")
        if "nc(resil)" in counts:
            ok = counts["nc(resil)"][det.kind] <= counts["resil in"][det.kind] / 2
            notes.append(f"resil {mark(ok)}")
        row.append(" ".join(notes) if not det.extra else "")
        rows.append(row)
    table(headers, rows)
    print(
        "* = extra kind beyond the issue's list (no target). Targets: newsclean pages path 0-1"
        " page per kind; newsclean on resiliparse input <= half the input's count."
    )
    print(
        "Detectors (bench/textmetrics.py DETECTORS) are line regexes; a hit that is also a hit in"
        " the truth is not counted."
    )
    missing = {
        bench.api.missing("clean_html" if col == "nc pages" else "clean_text")
        for col, outputs, _ in columns
        if outputs is None
    }
    for message in sorted(missing):
        print(f"n/a: {message}")
    if examples:
        for col in ("trafilatura", "nc pages", "nc(resil)", "resil in"):
            if col not in hits:
                continue
            print(f"\n  surviving in '{col}' (up to {examples} distinct lines per kind):")
            for det in tm.DETECTORS:
                seen = Counter(line for _key, line in hits[col].get(det.kind, []))
                if seen:
                    shown = "; ".join(short(line, 60) for line, _n in seen.most_common(examples))
                    print(f"    {det.kind:<16} {shown}")


# --------------------------------------------------------------------------------------------
# 6. Speed
# --------------------------------------------------------------------------------------------


def _median_ms(func: Callable[[str, Any], str], inputs: Mapping[str, Any], runs: int) -> float:
    """Median over `runs` passes of the mean ms per item (one process, after one warm-up call)."""
    first_key = next(iter(inputs))
    func(first_key, inputs[first_key])
    per_run = []
    for _ in range(runs):
        res = run_each(func, inputs)
        per_run.append(1000 * res.seconds / max(1, len(inputs)))
    return statistics.median(per_run)


def section_speed(bench: Bench, runs: int) -> None:
    """Why: newsclean wraps trafilatura; its rules must not make the HTML path much slower."""
    import trafilatura

    heading(f"6. Speed (median of {runs} interleaved runs, one process)")
    kwargs = TRAFILATURA_CONFIGS["nocomments"][1]
    api = bench.api
    page_sets: list[tuple[str, dict[str, bytes], dict[str, str]]] = [("AEB", bench.pages, bench.urls)]
    if WCEB_DIR.exists() and "wceb" in bench.sections:
        pages: dict[str, bytes] = {}
        urls: dict[str, str] = {}
        for name in WCEB_SETS:
            data = bench.wceb(name)
            pages.update({f"{name}/{k}": v for k, v in data.pages.items()})
            urls.update({f"{name}/{k}": v for k, v in data.urls.items()})
        page_sets.append(("wceb-dev", pages, urls))
    rows: list[list[object]] = []
    reference_ms: dict[str, float] = {}
    for label, pages, urls in page_sets:

        def reference(key: str, data: bytes, urls: dict[str, str] = urls) -> str:
            return trafilatura.extract(tm.bench_decode(data), url=urls.get(key), **kwargs) or ""

        passes: dict[str, Callable[[str, bytes], str]] = {"trafilatura": reference}
        if api.clean_html is not None:
            passes["newsclean"] = pages_path(api, urls)
        first = next(iter(pages))
        for one in passes.values():
            one(first, pages[first])  # warm-up: imports, caches
        methods: dict[str, Callable[[], RunResult]] = {
            name: functools.partial(run_each, one, pages) for name, one in passes.items()
        }
        # Interleaved rounds, CPU time: the machine is shared and its speed drifts (common.py).
        times = timed_rounds(methods, runs)
        cpu = {name: 1000 * statistics.median(t[0]) / len(pages) for name, t in times.items()}
        wall = {name: 1000 * statistics.median(t[1]) / len(pages) for name, t in times.items()}
        traf_ms = cpu["trafilatura"]
        rows.append(
            [
                f"HTML path, {label} pages: trafilatura (reference config), bytes in",
                f"{traf_ms:.1f}",
                f"{wall['trafilatura']:.1f}",
                "1.00",
                "",
            ]
        )
        if api.clean_html is None:
            rows.append([f"HTML path: {api.missing('clean_html')}"])
        else:
            ratio = cpu["newsclean"] / traf_ms
            rows.append(
                [
                    f"HTML path, {label} pages: newsclean decode_bytes + clean_html",
                    f"{cpu['newsclean']:.1f}",
                    f"{wall['newsclean']:.1f}",
                    f"{ratio:.2f}",
                    f"<= {TARGETS['speed']}x {mark(ratio <= TARGETS['speed'])}",
                ]
            )
        reference_ms[label] = traf_ms
    traf_ms = reference_ms["AEB"]  # the text path is set beside trafilatura on the AEB pages
    clean_text = api.clean_text
    for name in tm.DIRTY_INPUTS:
        if clean_text is None:
            rows.append([f"text path ({name}): {api.missing('clean_text')}"])
            break
        try:
            ms = _median_ms(lambda _k, t: as_text(clean_text(t)), bench.dirty(name), runs)
            rows.append(
                [
                    f"text path: newsclean clean_text on {name} input",
                    f"{ms:.2f}",
                    "",
                    f"{ms / traf_ms:.2f}",
                    "",
                ]
            )
        except Exception as exc:
            rows.append([f"text path ({name}): newsclean raised {type(exc).__name__}: {exc}"])
    table(["path", "CPU ms/doc", "wall ms/doc", "x trafilatura (CPU)", "target"], rows)
    print("HTML path: medians of interleaved rounds; text path: wall time, beside trafilatura's CPU.")


# --------------------------------------------------------------------------------------------
# --failures: what the rules still get wrong
# --------------------------------------------------------------------------------------------


def section_failures(bench: Bench, n: int) -> None:
    """Why: the cleaner's author needs the lines, not the averages, to write the next rule.

    Precision failures list the output lines not in the truth (what a rule should remove).
    Recall failures are ranked by the recall the *cleaner* lost (input recall minus output
    recall), and list the truth lines the input had but the output lacks (a rule that fired on
    prose); truth lines the input never had are only counted, since no cleaner can restore them.
    """
    heading(f"Failures: {n} worst documents by precision and by recall, newsclean text path")
    sources: list[tuple[str, Mapping[str, str], Mapping[str, str] | None]] = []
    if bench.api.clean_text is None:
        print(bench.api.missing("clean_text") + " -- showing the inputs as given instead")
        sources = [(f"{name} (as given)", bench.dirty(name), None) for name in tm.DIRTY_INPUTS]
    else:
        for name in tm.DIRTY_INPUTS:
            res = bench.newsclean_text(name)
            assert res is not None
            sources.append((f"clean_text({name})", res.outputs, bench.dirty(name)))
    pages = bench.newsclean_pages()
    if pages is not None:
        sources.append(("pages path (decode_bytes -> clean_html)", pages.outputs, None))
    for label, outputs, inputs in sources:
        score = tm.evaluate(outputs, bench.truth)
        print(f"\n--- {label}: F1 {score.f1:.4f}  P {score.precision:.4f}  R {score.recall:.4f}")
        by_p = sorted(score.per_doc.items(), key=lambda kv: (kv[1].precision, kv[0]))[:n]
        print("  worst precision: output lines not in the truth (+, a rule should remove these)")
        for key, doc in by_p:
            if doc.precision >= 1.0:
                break
            print(f"  [{key[:8]}] P={doc.precision:.3f} R={doc.recall:.3f} {bench.urls.get(key, '')[:90]}")
            extra = tm.extra_lines(outputs.get(key, ""), bench.truth[key])
            for line in extra[:30]:
                print(f"      + {short(line, 140)}")
            if len(extra) > 30:
                print(f"      + ... {len(extra) - 30} more lines")
        before = tm.evaluate(inputs, bench.truth).per_doc if inputs is not None else {}

        def lost_to_cleaner(
            item: tuple[str, tm.DocScore], before: dict[str, tm.DocScore] = before
        ) -> tuple[float, float, str]:
            key, doc = item
            base = before[key].recall if key in before else 1.0
            return (doc.recall - base, doc.recall, key)

        by_r = sorted(score.per_doc.items(), key=lost_to_cleaner)[:n]
        print(
            "  worst recall"
            + (" lost to the cleaner" if inputs is not None else "")
            + ": truth lines missing from the output (-, keep these)"
        )
        for key, doc in by_r:
            if doc.recall >= 1.0 or (key in before and doc.recall >= before[key].recall):
                break
            was = f" (input R={before[key].recall:.3f})" if key in before else ""
            print(
                f"  [{key[:8]}] P={doc.precision:.3f} R={doc.recall:.3f}{was} {bench.urls.get(key, '')[:90]}"
            )
            lost = tm.missing_lines(outputs.get(key, ""), bench.truth[key])
            never = []
            if inputs is not None:
                had = set(tm.missing_lines(inputs.get(key, ""), bench.truth[key]))
                never = [line for line in lost if line in had]
                lost = [line for line in lost if line not in had]
            for line in lost[:30]:
                print(f"      - {short(line, 140)}")
            if len(lost) > 30:
                print(f"      - ... {len(lost) - 30} more lines")
            if never:
                print(f"      ({len(never)} more truth line(s) were already missing from the input)")


# --------------------------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command line: which sections, how many failures to show, how many timing runs."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--only",
        default=",".join(DEFAULT_SECTIONS),
        help=f"comma-separated sections to run (default all but choice): {', '.join(SECTIONS)}",
    )
    parser.add_argument(
        "--failures",
        type=int,
        default=0,
        metavar="N",
        help="print the N worst documents (by precision and by recall) of the newsclean text path"
        " with the offending lines; also shows N example lines per artifact kind and N failing"
        " encoding cases",
    )
    parser.add_argument("--runs", type=int, default=3, help="timing runs for 'speed' (median)")
    parser.add_argument("--limit", type=int, default=0, help="use only the first N pages (quick)")
    args = parser.parse_args(argv)
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = [s for s in only if s not in SECTIONS]
    if unknown:
        parser.error(f"unknown section(s) {unknown}; choose from {', '.join(SECTIONS)}")
    args.only = only
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the chosen sections in a fixed order and print one report."""
    args = parse_args(argv)
    require_shared(AEB_TRUTH, AEB_DIR / "html", AEB_DIR / "dirty-text")
    started = time.perf_counter()
    bench = Bench(args.limit or None)
    bench.sections = args.only
    print(f"newsclean cleaning benchmark: {len(bench.ids)} AEB pages, data {DATA}")
    print(
        "metric: word-4-gram multiset P/R per document, averaged; F1 of the averages (bench/textmetrics.py)"
    )
    for name in ("clean_html", "clean_text", "decode_bytes", "fix_text"):
        if getattr(bench.api, name) is None:
            print(f"  {bench.api.missing(name)}")
    if "html" in args.only:
        section_html(bench)
    if "wceb" in args.only:
        if WCEB_DIR.exists():
            section_wceb(bench)
        else:
            print(f"\n(wceb: {WCEB_DIR} not found; section skipped)")
    if "text" in args.only:
        section_text(bench)
    if "harm" in args.only:
        section_harm(bench)
    if "encoding" in args.only:
        section_encoding(bench, args.failures or 5, args.failures)
    if "artifacts" in args.only:
        section_artifacts(bench, args.failures)
    if "speed" in args.only:
        section_speed(bench, max(1, args.runs))
    if "choice" in args.only:
        section_choice(bench)
    if args.failures > 0:
        section_failures(bench, args.failures)
    print(f"\n(total {time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
