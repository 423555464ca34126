"""Whole HTML pages: the article body and its metadata, by layered extraction.

trafilatura is the measured leader for main-text extraction, so it goes first, with its own
fallbacks (readability, jusText) left on. If it finds nothing, BeautifulSoup renders the page
without its chrome (nav, header, footer, aside, forms). Either way the text then goes through the
same text cleaner as any scraped text: extractors keep captions, share lines and bylines.
"""

from __future__ import annotations

from collections.abc import Mapping

from bs4 import BeautifulSoup

from cleaners.blocks import is_prose, length_units
from cleaners.dates import normalise_date
from cleaners.markup import fragment_to_text
from cleaners.pipeline import clean_text
from cleaners.types import CleanedText, Metadata, Removal
from newsclean.settings import CleaningOptions

_CHROME = ("script", "style", "noscript", "template", "nav", "header", "footer", "aside", "form",
           "iframe", "svg", "button", "select")  # fmt: skip


def _trafilatura(html: str, url: str | None, options: CleaningOptions) -> tuple[str, Metadata] | None:
    import trafilatura  # deferred: its import costs ~0.5 s and plain-text runs never need it

    doc = trafilatura.bare_extraction(
        html,
        url=url,
        with_metadata=True,
        include_comments=False,
        include_tables=True,
        include_images=False,
        favor_precision=options.html_favor == "precision",
        favor_recall=options.html_favor == "recall",
    )
    if doc is None or isinstance(doc, dict) or not (doc.text or "").strip():
        return None
    meta = Metadata(
        title=(doc.title or None),
        published=normalise_date(doc.date),
        author=(doc.author or None),
        outlet=(doc.sitename or doc.hostname or None),
        url=(doc.url or url),
    )
    return doc.text or "", meta


def _soup_text(html: str) -> tuple[str, Metadata]:
    soup = BeautifulSoup(html, "lxml")
    title_tag = soup.find("title")
    title = title_tag.get_text(" ", strip=True) if title_tag else None
    for tag in soup.find_all(_CHROME):
        tag.decompose()
    root = soup.find("article") or soup.find("main") or soup.body or soup
    return fragment_to_text(str(root)), Metadata(title=title or None)


def extract_page(html: str, options: CleaningOptions, url: str | None = None) -> tuple[str, Metadata, str]:
    """(body text, metadata, extractor name) for a whole page."""
    if options.html_extractor == "trafilatura":
        found = _trafilatura(html, url, options)
        if found is not None:
            return found[0], found[1], "trafilatura"
    text, meta = _soup_text(html)
    return text, meta, "beautifulsoup"


def clean_html(
    html: str,
    options: CleaningOptions | None = None,
    url: str | None = None,
    known: Metadata = Metadata(),
    line_stats: Mapping[str, int] | None = None,
) -> CleanedText:
    """Extract a page's article, then clean it as text; page metadata fills what `known` lacks.

    `line_stats`: the outlet's line statistics, as for `clean_text`.
    """
    opts = options or CleaningOptions()
    text, page_meta, extractor = extract_page(html, opts, url)
    result = clean_text(text, opts, known.merged(page_meta), line_stats)
    if extractor != "beautifulsoup" and _prose_words(result.text) < opts.html_min_prose_words:
        # The extractor kept too little (a reprint notice, a teaser): render the page without its
        # chrome and let the text cleaner find the body; keep whichever holds more prose.
        soup_text, soup_meta = _soup_text(html)
        fallback = clean_text(soup_text, opts, known.merged(page_meta).merged(soup_meta), line_stats)
        if _prose_words(fallback.text) > 2 * _prose_words(result.text):
            result, extractor = fallback, "beautifulsoup"
    removals = (Removal("page_chrome", extractor, "non-article page content"), *result.removals)
    return CleanedText(result.text, result.metadata, removals, result.line_keys)


def _prose_words(text: str) -> float:
    """Words in the text's prose lines: how much article an extraction found."""
    return sum(length_units(line) for line in text.split("\n") if is_prose(line))
