"""Whole pages: the article and its metadata, none of the chrome, captions or share lines."""

from __future__ import annotations

import gzip

from newsclean.cleaners import clean_html
from newsclean.settings import CleaningOptions
from support import INPUTS


def page() -> str:
    return gzip.decompress((INPUTS / "article.html.gz").read_bytes()).decode("cp1252")


def test_page_article_and_metadata() -> None:
    result = clean_html(page())
    meta = result.metadata
    assert meta.title == "Bridge Reopens After Repairs"
    assert meta.published == "2024-05-02"
    assert meta.author == "Dana Whitfield"
    text = result.text
    assert text.startswith("The Old Mill Bridge reopened to traffic on Thursday")
    assert "“We expect it to last another fifty years,” she said." in text
    assert text.endswith("while painters finish the railings.")
    for chrome in (
        "Home",
        "Weather",
        "Most read",
        "Council budget vote delayed",
        "All rights reserved",
        "cookies",
        "Share this article",
        "Photo: Sam Ortiz",
        "dataLayer",
    ):
        assert chrome not in text, chrome


def test_beautifulsoup_fallback_still_cleans() -> None:
    result = clean_html(page(), CleaningOptions(html_extractor="beautifulsoup"))
    assert "County engineer Priya Natarajan said" in result.text
    assert "dataLayer" not in result.text and "Weather" not in result.text
    assert "Share this article" not in result.text


def test_fallback_extractors_run_only_when_the_fast_pass_finds_little() -> None:
    """The fixture's article has about 90 prose words: below a 200-word bar the fallbacks run,
    with no bar they never do; either way the article comes out whole, with its metadata."""
    texts = set()
    for below in (0, 200, 10_000):
        result = clean_html(page(), CleaningOptions(html_fallback_below_words=below))
        assert result.text.startswith("The Old Mill Bridge reopened to traffic on Thursday")
        assert result.text.endswith("while painters finish the railings.")
        assert result.metadata.author == "Dana Whitfield"
        texts.add(result.text)
    assert len(texts) == 1
