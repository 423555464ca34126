"""Whole pages: the article and its metadata, none of the chrome, captions or share lines."""

from __future__ import annotations

import gzip

import lxml.html
import pytest

from newsclean.cleaners import clean_html
from newsclean.settings import CleaningOptions
from support import FIXTURES, INPUTS


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


# A page with what trafilatura's raw-tree prunes remove: a comment list, a share bar and an
# infinite-scroll box holding a longer follow-up story, which trafilatura's fallbacks (readability)
# would take for the article if the prunes were skipped.
_APPENDED = "".join(
    f"<p>Paragraph {i} of the appended story about the council budget vote, which was delayed again"
    " this week while members argued over library hours and road repairs.</p>"
    for i in range(12)
)
_PRUNED_PAGE = """<html><head><title>Harbour Ferry Returns</title></head><body>
<nav><a href="/">Home</a> <a href="/news">News</a></nav>
<div class="story"><h1>Harbour Ferry Returns</h1>
<p>The harbour ferry returned to service on Monday after a winter of repairs to its hull and
engines, the port authority said in a statement issued on Sunday evening.</p>
<p>Commuters who had driven around the bay for four months welcomed the return, and the first
crossing of the morning was full twenty minutes before it left the quay.</p>
<p>The authority said the timetable would be the same as last summer's, with crossings every
half hour at peak times and every hour in the evening.</p>
<div class="elementor-share-buttons"><a href="/s">Share on social</a></div></div>
<div id="comments" class="comments-list"><div class="comment"><p>Great news, I missed the
ferry every single morning this winter and the drive took an hour.</p></div></div>
<div class="infinite-scroll"><h2>Next story</h2>APPENDED</div>
</body></html>""".replace("APPENDED", _APPENDED)


@pytest.mark.parametrize("page_name", ["article", "promo", "pruned"])
def test_extraction_tools_give_trafilaturas_own_results(page_name: str) -> None:
    """The page loaded with the C element-class lookup and trafilatura's raw-tree prunes made once
    (`_trafilatura_tools`) give what trafilatura's own loading and bare_extraction give, in each
    pass `_trafilatura` makes; fails when a trafilatura release changes what those shortcuts
    assume (the pruned path must also be the one taken with the installed release)."""
    import trafilatura

    from newsclean.cleaners.html_page import _trafilatura_tools

    html = {
        "article": page(),
        "promo": (FIXTURES / "pages" / "promo_above_article.html").read_text(encoding="utf-8"),
        "pruned": _PRUNED_PAGE,
    }[page_name]
    tools = _trafilatura_tools()
    assert tools.pruned is not None, "trafilatura's extraction sequence no longer reads its prune lists"
    ours, theirs = tools.load_html(html), trafilatura.load_html(html)
    assert ours is not None and theirs is not None
    assert lxml.html.tostring(ours) == lxml.html.tostring(theirs)
    assert not tools.is_forum(ours)
    source = tools.pruned(ours)
    before = lxml.html.tostring(source)
    for fast, favor in ((True, "precision"), (False, "precision"), (True, "balanced"), (False, "balanced")):
        kwargs = {
            "url": "https://example.com/story",
            "fast": fast,
            "include_comments": False,
            "favor_precision": favor == "precision",
        }
        mine = tools.bare_extraction_pruned(source, **kwargs)
        reference = trafilatura.bare_extraction(theirs, **kwargs)
        assert mine is not None and reference is not None
        assert mine.text == reference.text, (fast, favor)
        assert lxml.html.tostring(source) == before  # the passes share the tree uncopied
    if page_name == "pruned":  # the prunes did remove something, so the test can tell
        assert "council budget" not in (mine.text or "") and "ferry every single" not in (mine.text or "")
