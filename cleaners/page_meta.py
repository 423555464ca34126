"""A page's author, found as trafilatura's metadata finds it, in one walk of the tree.

trafilatura looks for the author with XPath expressions that test every element's class and id
with EXSLT regular expressions (`trafilatura.xpaths.AUTHOR_DISCARD_XPATHS`, then `AUTHOR_XPATHS`);
lxml calls back into Python for each of those tests, which made the author search a sixth of
newsclean's page time (about 13 ms of 80 on wceb-dev pages, docs/tuning.md "Page path time").
The same predicates are checked here in one Python walk per step, with the same document order
and the same deletions, so the result is the same string: tests/cleaners/test_page_meta.py
compares it with trafilatura's own expressions on real pages, so a trafilatura release that
changes them fails there rather than drifting silently.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from lxml.etree import XPath
from lxml.html import HtmlElement

# AUTHOR_DISCARD_XPATHS[0]: comment lists, sidebars, quotes, figures... around a byline.
_DISCARD_TAGS = frozenset({"a", "div", "section", "span"})
_DISCARD_ID = re.compile(r"^comments|comment-?list|ProductReviews")
_DISCARD_CLASS = re.compile(
    r"^[Cc]omments|commentlist|comments-list|sidebar|is-hidden|quote|embedly-instagram|"
    r"article-(?:share|support)|print|category|meta-date|meta-reviewer"
)
# AUTHOR_XPATHS, from specific to generic.
_SPECIFIC_TAGS = frozenset({"a", "address", "div", "link", "p", "span", "strong"})
_SPECIFIC_CLASS = re.compile(r"author-?name|AuthorName|authorName")
_GENERIC_TAGS = frozenset({"a", "div", "h3", "h4", "p", "span"})
_GENERIC_ID = re.compile(r"author|zuozhe|bianji|xiaobian")
_GENERIC_CLASS = re.compile(
    r"author|channel-name|zuozhe|bianji|xiaobian|submitted-by|posted-by|journalist-name"
)
_ANY_ID = re.compile(r"[Aa]uthor")
_ANY_CLASS = re.compile(r"[Aa]uthor|screenname|writer|[Bb]yline")


# Every element a test below can match has one of these attributes, a <rel> child or is an
# <author>: lxml selects them in C, and only they are tested in Python (a tenth of a page's tags).
_CANDIDATES = XPath(
    "//*[@class or @id or @itemprop or @rel or @data-component or @data-testid or rel or self::author]"
)


def _candidates(tree: HtmlElement) -> list[HtmlElement]:
    """The tree's elements that may match, in document order, itself included (XPath `//*`)."""
    return list(_CANDIDATES(tree))


def _discarded(el: HtmlElement) -> bool:
    if el.tag not in _DISCARD_TAGS:
        return False
    id_, cls = el.get("id") or "", el.get("class") or ""
    return (
        id_ == "comments"
        or cls in ("comments", "title", "date")
        or bool(_DISCARD_ID.search(id_))
        or bool(_DISCARD_CLASS.search(cls))
        or "Figure" in (el.get("data-component") or "")
    )


def _specific(el: HtmlElement) -> bool:
    if el.tag == "author":
        return True
    if el.tag not in _SPECIFIC_TAGS:
        return False
    cls = el.get("class") or ""
    return (
        el.get("rel") == "author"
        or el.get("id") == "author"
        or cls == "author"
        or el.get("itemprop") == "author name"
        or any(child.tag == "rel" and child.text_content() == "me" for child in el)
        or el.get("data-testid") in ("AuthorCard", "AuthorURL")
        or bool(_SPECIFIC_CLASS.search(cls))
    )


def _generic(el: HtmlElement) -> bool:
    if el.tag not in _GENERIC_TAGS:
        return False
    cls = el.get("class") or ""
    return (
        cls in ("byline", "username", "byl", "BBL")
        or "author" in (el.get("itemprop") or "")
        or bool(_GENERIC_ID.search(el.get("id") or ""))
        or bool(_GENERIC_CLASS.search(cls))
    )


def _last_resort(el: HtmlElement) -> bool:
    return (
        "Byline" in (el.get("data-component") or "")
        or "author" in (el.get("itemprop") or "")
        or bool(_ANY_ID.search(el.get("id") or ""))
        or bool(_ANY_CLASS.search(el.get("class") or ""))
    )


_AUTHOR_TESTS: tuple[Callable[[HtmlElement], bool], ...] = (_specific, _generic, _last_resort)


def prune_for_author(tree: HtmlElement) -> list[HtmlElement]:
    """Delete, in place, what trafilatura deletes before its author search (comment lists,
    sidebars, quotes, print and category links, `<time>`, `<figure>`), tails kept; return the
    elements `find_author` may match that are still in the tree, in document order (the
    selection is made once for both steps: it is most of their cost)."""
    from trafilatura.xml import delete_element

    candidates = _candidates(tree)
    removed = [el for el in candidates if el is not tree and _discarded(el)]
    for el in removed:
        delete_element(el)
    timed = list(tree.iter("time", "figure"))
    for el in timed:
        delete_element(el)
    # lxml returns the same object for an element while one is held, so identity is safe here.
    gone = {*removed, *timed}
    return [el for el in candidates if el not in gone and not any(a in gone for a in el.iterancestors())]


def find_author(
    tree: HtmlElement, len_limit: int = 120, candidates: list[HtmlElement] | None = None
) -> str | None:
    """The first author-like element's text (more than 2 and fewer than `len_limit` characters),
    as `trafilatura.metadata.extract_metainfo(tree, AUTHOR_XPATHS, len_limit)` returns it.
    `candidates`: what `prune_for_author(tree)` returned (selected here when not given)."""
    from trafilatura.utils import trim

    found: tuple[list[HtmlElement], ...] = ([], [], [])
    for el in _candidates(tree) if candidates is None else candidates:
        for matches, test in zip(found, _AUTHOR_TESTS, strict=True):
            if test(el):
                matches.append(el)
    for matches in found:
        for el in matches:
            content = trim(" ".join(el.itertext()))
            if content and 2 < len(content) < len_limit:
                return content
    return None
