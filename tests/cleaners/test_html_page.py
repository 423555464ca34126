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


# Each body exercises a part of trafilatura's raw-tree prunes, kept or removed.
_PRUNE_BODIES = {
    "appended-box-with-h1": '<div class="mvp-post-add-box"><h1>Next</h1><p>Other story.</p></div>tail',
    "scroll-with-h1": '<section id="infinite-scroll"><h1>The story</h1><p>Kept.</p></section>',
    "scroll-without-h1": '<aside class="infinitescroll"><p>Gone.</p></aside><p>after</p>',
    "elementor": '<div class="x elementor-share-buttons y"><a href="#">Share</a></div>',
    "comments-id": '<div id="comments"><p>A comment.</p></div>',
    "commentary": '<div id="commentary"><p>An opinion column, kept.</p></div>',
    "article-comments": '<section class="article-comments"><p>Gone.</p></section>',
    "comment-list": '<ol class="comment-list"><li>Gone.</li></ol>',
    "disqus-list": '<ul id="disqus_thread"><li>A list the comment test keeps.</li></ul>',
    "comol-details": '<details id="comol"><p>Gone.</p></details>',
    "nested": '<div class="Comments"><div id="comment-3"><div class="infinite-scroll">x</div></div></div>',
    "span-not-tested": '<span id="comments">A span stays.</span>',
}


@pytest.mark.parametrize("name", sorted(_PRUNE_BODIES))
def test_raw_prunes_are_trafilaturas(name: str) -> None:
    """`_prune_raw` (trafilatura's raw-tree prune expressions in Python) leaves the tree that
    trafilatura's own expressions leave, and it is the one used with the installed release."""
    from copy import deepcopy

    from trafilatura import core
    from trafilatura.htmlprocessing import prune_unwanted_nodes

    from newsclean.cleaners.html_page import _prune_raw, _trafilatura_tools

    tools = _trafilatura_tools()
    assert tools.pruned is not None
    html = f"<html><body><main>{_PRUNE_BODIES[name]}</main><p>filler</p></body></html>"
    tree = tools.load_html(html)
    assert tree is not None
    expressions = core.RAW_TREE_PRUNE_XPATH + core.REMOVE_COMMENTS_AND_LISTS_XPATH
    theirs = lxml.html.tostring(prune_unwanted_nodes(deepcopy(tree), expressions))
    assert lxml.html.tostring(_prune_raw(deepcopy(tree))) == theirs
    assert lxml.html.tostring(tools.pruned(tree)) == theirs


def test_raw_prune_cases_remove_and_keep() -> None:
    # The comparison above proves little unless the cases both remove and keep.
    from newsclean.cleaners.html_page import _prune_raw, _trafilatura_tools

    load = _trafilatura_tools().load_html
    changed = set()
    for name, body in _PRUNE_BODIES.items():
        html = f"<html><body><main>{body}</main><p>filler</p></body></html>"
        tree = load(html)
        assert tree is not None
        before = lxml.html.tostring(tree)
        if lxml.html.tostring(_prune_raw(tree)) != before:
            changed.add(name)
    assert changed == set(_PRUNE_BODIES) - {"scroll-with-h1", "commentary", "disqus-list", "span-not-tested"}
