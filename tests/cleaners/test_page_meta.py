"""The one-walk author search finds what trafilatura's own XPath expressions find."""

from __future__ import annotations

import gzip
from copy import deepcopy
from pathlib import Path

import lxml.html
import pytest
import trafilatura
from trafilatura.htmlprocessing import prune_unwanted_nodes
from trafilatura.metadata import extract_metainfo
from trafilatura.xpaths import AUTHOR_DISCARD_XPATHS, AUTHOR_XPATHS

from newsclean.cleaners.page_meta import _candidates, find_author, prune_for_author

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"

# Each body exercises one of trafilatura's predicates (or a discard before them); the order of
# the elements decides which one is found first.
BODIES = {
    "rel-author": '<p>Intro text here.</p><a rel="author" href="/u">Jane Doe</a>',
    "id-author": '<div id="author">John Smith</div>',
    "class-author": '<span class="author">Ann Lee</span>',
    "itemprop": '<span itemprop="author name">Mia Wong</span>',
    "rel-child": "<p><rel>me</rel></p><p>x</p>",
    "testid": '<div data-testid="AuthorCard">Card Person</div>',
    "class-regex": '<span class="post-author-name">Regex Name</span>',
    "author-tag": "<author>Tag Author</author>",
    "byline": '<div class="byline">By Line Writer</div>',
    "itemprop-contains": '<h3 itemprop="the author">Contained Name</h3>',
    "id-regex": '<h4 id="xiaobian-box">Bianji Ming</h4>',
    "class-generic": '<p class="submitted-by">Submitter Name</p>',
    "last-resort": '<li class="Writer">List Writer</li><td data-component="Byline">Cell Byline</td>',
    "screenname": '<em class="screenname">@handle here</em>',
    "too-short-then-long": '<span class="author">ab</span><span class="author">Second Candidate</span>',
    "discarded": (
        '<div class="comments"><span class="author">Commenter</span></div>'
        '<section class="sidebar-x"><a rel="author">Side Author</a></section>'
        '<figure><span class="author">Photo Person</span></figure>'
        '<p>Tail <time class="author">Time Author</time> kept</p>'
        '<span class="byline">Real Byline</span>'
    ),
    "nested-discards": (
        '<div id="comment-list"><div class="quote"><span class="author">Q</span></div>tail text</div>'
        '<div class="writer">Outer <span class="print">inner</span> after</div>'
    ),
    "figure-component": '<div data-component="FigureBlock"><span class="author">Fig Author</span></div>',
    "none": "<p>No byline at all on this page.</p>",
}
# First in every page, matched by the last-resort expression only: a predicate of an earlier
# expression that failed would find it instead of the case's own element.
DECOY = '<em class="writer">Decoy Writer</em>'


def _page(body: str) -> str:
    return f"<html><head><title>T</title></head><body>{DECOY}<main>{body}</main><p>filler</p></body></html>"


def _trafilatura_way(tree: lxml.html.HtmlElement) -> tuple[str | None, bytes]:
    pruned = prune_unwanted_nodes(tree, AUTHOR_DISCARD_XPATHS)
    return extract_metainfo(pruned, AUTHOR_XPATHS, len_limit=120), lxml.html.tostring(pruned)


def _our_way(tree: lxml.html.HtmlElement) -> tuple[str | None, bytes]:
    candidates = prune_for_author(tree)
    # The candidates kept from before the prune are the ones a fresh selection finds after it.
    assert candidates == _candidates(tree)
    return find_author(tree, len_limit=120, candidates=candidates), lxml.html.tostring(tree)


@pytest.mark.parametrize("name", sorted(BODIES))
def test_same_author_and_same_pruned_tree_as_trafilatura(name: str) -> None:
    tree = trafilatura.load_html(_page(BODIES[name]))
    assert tree is not None
    assert _our_way(deepcopy(tree)) == _trafilatura_way(deepcopy(tree))


def test_the_cases_are_not_all_empty() -> None:
    # The comparison above proves little if neither side ever finds an author.
    found = {name: _our_way(trafilatura.load_html(_page(body)))[0] for name, body in BODIES.items()}
    assert found["discarded"] == "Real Byline"
    assert found["too-short-then-long"] == "Second Candidate"
    assert found["rel-author"] == "Jane Doe"
    assert found["none"] == found["figure-component"] == "Decoy Writer"
    assert found["byline"] == "By Line Writer"
    assert sum(value != "Decoy Writer" for value in found.values()) >= 13


@pytest.mark.parametrize("page", ["inputs/article.html.gz", "pages/promo_above_article.html"])
def test_same_as_trafilatura_on_fixture_pages(page: str) -> None:
    data = (FIXTURES / page).read_bytes()
    tree = trafilatura.load_html(gzip.decompress(data) if page.endswith(".gz") else data)
    assert tree is not None
    assert _our_way(deepcopy(tree)) == _trafilatura_way(deepcopy(tree))
