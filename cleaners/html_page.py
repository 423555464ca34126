"""Whole HTML pages: the article body and its metadata, by layered extraction.

trafilatura is the measured leader for main-text extraction, so it goes first, with its own
fallbacks (readability, jusText) left on. If it finds nothing, the page is rendered without its
chrome (nav, header, footer, aside, forms): lxml removes the chrome, BeautifulSoup renders the
rest. Either way the text then goes through the same text cleaner as any scraped text:
extractors keep captions, share lines and bylines.
"""

from __future__ import annotations

import contextlib
import functools
import re
import types
from collections.abc import Callable, Sequence
from copy import copy
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import lxml.html
from lxml import etree
from lxml.html import HtmlComment, HtmlElement, HtmlEntity, HtmlProcessingInstruction

from newsclean.cleaners.article import Candidate, choose_article, title_affinity
from newsclean.cleaners.blocks import is_prose, length_units
from newsclean.cleaners.dates import normalise_date
from newsclean.cleaners.markup import fragment_to_text
from newsclean.cleaners.page_meta import find_author, prune_for_author
from newsclean.cleaners.pipeline import clean_text
from newsclean.cleaners.repair import fix_text
from newsclean.cleaners.types import CleanedText, Metadata, Removal
from newsclean.settings import CleaningOptions, DecodeOptions

if TYPE_CHECKING:
    from trafilatura.settings import Document

_CHROME = ("script", "style", "noscript", "template", "nav", "header", "footer", "aside", "form",
           "iframe", "svg", "button", "select")  # fmt: skip
_UTF8_PARSER = lxml.html.HTMLParser(encoding="utf-8")


def _trafilatura(
    html: str, url: str | None, options: CleaningOptions
) -> tuple[list[tuple[str, str]], Metadata] | None:
    """trafilatura's extractions of the page, (name, text), the one newsclean keeps first, and the
    page's metadata, from one parse of the page.

    Layered like trafilatura's own core: its fast extractor first; only when that finds less
    prose than `options.html_fallback_below_words` does the extraction run again with
    trafilatura's fallbacks (readability, jusText, compared against its own), and that one is
    kept: a fallback pass costs about three fast ones, and changes few pages (docs/tuning.md,
    html_fallback_below_words). With `options.html_compare_passes`, a fast balanced pass follows
    (when the kept ones favour precision): `clean_html` may prefer it (`choose_article`).

    The page is parsed once here (`_trafilatura_tools`): trafilatura extracts from a copy of the
    tree (copying costs a fifth of parsing), and the metadata is read from the tree afterwards
    (`_page_metadata`). trafilatura's raw-tree prunes, the same for every pass here, are made once
    on a copy that every pass extracts from.
    """
    tools = _trafilatura_tools()
    tree = tools.load_html(html)
    if tree is None:
        return None
    extraction, source = tools.bare_extraction, tree
    if tools.pruned is not None and not tools.is_forum(tree):
        extraction, source = tools.bare_extraction_pruned, tools.pruned(tree)

    def extract(fast: bool, favor: str) -> str:
        doc = extraction(
            source,
            url=url,
            fast=fast,
            with_metadata=False,  # read below, without the fields newsclean never uses
            include_comments=False,
            include_tables=True,
            include_images=False,
            favor_precision=favor == "precision",
            favor_recall=favor == "recall",
        )
        if doc is None or isinstance(doc, dict):
            return ""
        return doc.text or ""

    passes = [("trafilatura", extract(True, options.html_favor))]
    if _prose_words(passes[0][1]) < options.html_fallback_below_words:
        passes.insert(0, ("trafilatura-fallbacks", extract(False, options.html_favor)))
    from trafilatura import metadata as tmeta

    found = tmeta.examine_meta(tree)  # read once: the gate below and the page's metadata
    # The title trafilatura finds in the tree (headings, title element), read at most once.
    tree_title = functools.cache(functools.partial(tmeta.extract_title, tree))
    if (
        options.html_compare_passes
        and options.html_favor != "balanced"
        and not _reads_as_article(passes[0][1], found.title or tree_title())
    ):
        passes.append(("trafilatura-balanced", extract(True, "balanced")))
    distinct: dict[str, str] = {}  # text -> name: a pass that found an earlier one's text adds nothing
    for name, text in passes:
        if text.strip():
            distinct.setdefault(text, name)
    passes = [(name, text) for text, name in distinct.items()]
    if not passes:
        return None
    return passes, _page_metadata(tree, url, found, tree_title)


@dataclass(frozen=True, slots=True)
class _TrafilaturaTools:
    """trafilatura's functions as `_trafilatura` calls them (`_trafilatura_tools`)."""

    load_html: Callable[[str], HtmlElement | None]
    bare_extraction: Callable[..., Any]
    # Where trafilatura's code allows it (None otherwise): its raw-tree prunes made once on a copy
    # of the page (`pruned`), `bare_extraction_pruned` skipping them, `is_forum` the pages where
    # they depend on the pass.
    pruned: Callable[[HtmlElement], HtmlElement] | None
    bare_extraction_pruned: Callable[..., Any]
    is_forum: Callable[[HtmlElement], bool]


def _with_names(func: Callable[..., Any], **names: object) -> Callable[..., Any]:
    """`func`, a library function, with some of the module-level names its code reads bound to
    other objects, for this copy only: the library's own code, unchanged, and its module is not
    touched (other callers see it as it is)."""
    clone = types.FunctionType(
        func.__code__, {**func.__globals__, **names}, func.__name__, func.__defaults__, func.__closure__
    )
    clone.__kwdefaults__ = func.__kwdefaults__
    return clone


@functools.cache
def _trafilatura_tools() -> _TrafilaturaTools:
    """trafilatura's page loading and extraction, made cheaper with the same results (the same
    text and metadata on all 781 AEB and wceb-dev pages; tests/cleaners/test_html_page.py checks
    them against trafilatura's own on fixture pages):

    - The page is parsed with trafilatura's parser options, but elements get their class from
      lxml's C lookup (every element a plain `HtmlElement`): lxml.html's own lookup is a Python
      method called for every element object lxml makes, and trafilatura's XPath expressions
      (EXSLT `re:test` on every `@class`/`@id`) make one per attribute tested; that was 6-8% of a
      pass's time. trafilatura and htmldate use none of lxml.html's per-tag classes
      (forms, inputs).
    - trafilatura's raw-tree prunes (`RAW_TREE_PRUNE_XPATH`, then `REMOVE_COMMENTS_AND_LISTS_XPATH`
      with comments off) are the same for each of a page's passes and cost ~3 ms each time (EXSLT
      regular expressions again), so they are made once, in Python where trafilatura's
      expressions are the ones `_prune_raw` transcribes, and each pass runs trafilatura's own
      `bare_extraction` with those names bound to empty lists. Not on thread-forum pages, where
      trafilatura's balanced pass keeps the comment containers; and only while its extraction
      sequence reads those names (a release that changes it gets the plain path). The passes
      share the pruned tree, uncopied.

    Built on first use: trafilatura's import costs ~0.5 s and plain-text runs never need it."""
    from trafilatura import core, utils
    from trafilatura.htmlprocessing import prune_unwanted_nodes

    parser = lxml.html.HTMLParser(  # trafilatura.utils.HTML_PARSER's options
        collect_ids=False, default_doctype=False, encoding="utf-8", remove_comments=True, remove_pis=True
    )
    parser.set_element_class_lookup(
        etree.ElementDefaultClassLookup(
            element=HtmlElement, comment=HtmlComment, pi=HtmlProcessingInstruction, entity=HtmlEntity
        )
    )
    load_html = _with_names(
        utils.load_html,
        HTML_PARSER=parser,
        fromstring_bytes=_with_names(utils.fromstring_bytes, HTML_PARSER=parser),
    )
    prunes = ("RAW_TREE_PRUNE_XPATH", "REMOVE_COMMENTS_AND_LISTS_XPATH")
    sequence = getattr(core, "trafilatura_sequence", None)
    if not (
        sequence is not None
        and hasattr(core, "_forum_thread_page")
        and all(hasattr(core, name) and name in sequence.__code__.co_names for name in prunes)
        and "trafilatura_sequence" in core.bare_extraction.__code__.co_names
    ):
        return _TrafilaturaTools(
            load_html, core.bare_extraction, None, core.bare_extraction, lambda _tree: True
        )
    expressions = [expression for name in prunes for expression in getattr(core, name)]
    if tuple(" ".join(expression.path.split()) for expression in expressions) == _RAW_PRUNE_PATHS:
        prune: Callable[[HtmlElement], HtmlElement] = _prune_raw
    else:  # not the expressions `_prune_raw` transcribes: trafilatura's own, slower

        def prune(tree: HtmlElement) -> HtmlElement:
            return prune_unwanted_nodes(tree, expressions)

    def pruned(tree: HtmlElement) -> HtmlElement:
        return prune(copy(tree))

    unpruned = _with_names(sequence, **dict.fromkeys(prunes, ()))
    # bare_extraction copies a tree it is given so that the sequence's prunes leave it alone; the
    # rest of the sequence copies what it changes, so without the prunes every pass reads the one
    # pruned tree (the test checks it is unchanged after them).
    return _TrafilaturaTools(
        load_html,
        core.bare_extraction,
        pruned,
        _with_names(core.bare_extraction, trafilatura_sequence=unpruned, copy=_same_tree),
        core._forum_thread_page,
    )


# trafilatura's raw-tree prunes (RAW_TREE_PRUNE_XPATH, then REMOVE_COMMENTS_AND_LISTS_XPATH), as
# its release 2.3 writes them, whitespace collapsed: `_prune_raw` is them in Python, used only
# while trafilatura's expressions are these very ones (`_trafilatura_tools`).
_RAW_PRUNE_PATHS = (
    ".//*[self::div or self::section or self::aside][ re:test(@id,"
    " 'mvp-post-add-(?:box|wrap)|infinite-?scroll') or re:test(@class,"
    " 'mvp-post-add-(?:box|wrap)|infinite-?scroll')][ not(.//h1) or"
    " re:test(@id, 'mvp-post-add-(?:box|wrap)') or re:test(@class, 'mvp-post-add-(?:box|wrap)')]",
    ".//*[self::div or self::section or self::aside][contains(@class, 'elementor-share-buttons')]",
    ".//*[self::div or self::list or self::section or self::details or self::ol or self::ul][ re:test(@id,"
    " '^(?:[Cc]omment(?!ary)|comol|disqus_thread|dsq-comments)') or re:test(@class,"
    " '^[Cc]omment(?!ary)|(?:article|post)-comments')][ not(self::ol or self::ul) or re:test(@id,"
    " '^(?:[Cc]omment(?!ary)|comol)') or re:test(@class, '^[Cc]omment(?!ary)|(?:article|post)-comments')]",
)
_APPENDED_STORIES = re.compile(r"mvp-post-add-(?:box|wrap)|infinite-?scroll")
_APPENDED_BOX = re.compile(r"mvp-post-add-(?:box|wrap)")
_COMMENTS_ID = re.compile(r"^(?:[Cc]omment(?!ary)|comol|disqus_thread|dsq-comments)")
_COMMENT_LIST_ID = re.compile(r"^(?:[Cc]omment(?!ary)|comol)")
_COMMENTS_CLASS = re.compile(r"^[Cc]omment(?!ary)|(?:article|post)-comments")


def _matches(pattern: re.Pattern[str], el: HtmlElement, *attributes: str) -> bool:
    """EXSLT `re:test(@attr, pattern)` for any of the attributes (an absent one tests as "",
    which none of these patterns matches)."""
    return any(pattern.search(el.get(name) or "") is not None for name in attributes)


def _prune_raw(tree: HtmlElement) -> HtmlElement:
    """trafilatura's raw-tree prunes (`_RAW_PRUNE_PATHS`), each expression's matches found in
    document order, then deleted with trafilatura's `delete_element` (tails kept), as its
    `prune_unwanted_nodes` does. lxml calls into Python for every EXSLT regular-expression test
    of an XPath expression; a walk over the few tags they can match costs a fifth as much."""
    from trafilatura.xml import delete_element

    steps: tuple[Callable[[HtmlElement], bool], ...] = (
        lambda el: (
            _matches(_APPENDED_STORIES, el, "id", "class")
            and (el.find(".//h1") is None or _matches(_APPENDED_BOX, el, "id", "class"))
        ),
        lambda el: "elementor-share-buttons" in (el.get("class") or ""),
    )
    for step in steps:
        for el in [el for el in tree.iterdescendants("div", "section", "aside") if step(el)]:
            delete_element(el)
    for el in [
        el
        for el in tree.iterdescendants("div", "list", "section", "details", "ol", "ul")
        if (_matches(_COMMENTS_ID, el, "id") or _matches(_COMMENTS_CLASS, el, "class"))
        and (
            el.tag not in ("ol", "ul")
            or _matches(_COMMENT_LIST_ID, el, "id")
            or _matches(_COMMENTS_CLASS, el, "class")
        )
    ]:
        delete_element(el)
    return tree


def _same_tree(tree: HtmlElement) -> HtmlElement:
    return tree


def _reads_as_article(text: str, title: str | None) -> bool:
    """The kept pass is plainly the article, so no other pass is made to compare with it: a
    story (`LONG_STORY_WORDS` words of prose) that opens on the title's words (half of them).
    A balanced pass costs as much as the kept one, and it replaced no such extraction on the
    wceb-dev and AEB pages (the longest it replaced that opened on the title held 138 prose
    words: docs/tuning.md, "Article choice")."""
    return _prose_words(text) >= LONG_STORY_WORDS and _opens_on_title(text, title)


def _opens_on_title(text: str, title: str | None) -> bool:
    """The text's opening holds `TITLE_OPENING` of the title's content words (`title_affinity`):
    it is the story the page is about, not a promo, a notice or other stories' teasers."""
    affinity = title_affinity(text, title)
    return affinity is not None and affinity >= TITLE_OPENING


LONG_STORY_WORDS = 150
TITLE_OPENING = 0.5


def _page_metadata(
    tree: HtmlElement, url: str | None, found: Document, tree_title: Callable[[], str | None]
) -> Metadata:
    """Title, date, author, outlet and URL, as trafilatura's `extract_metadata` finds them.

    The same steps in the same way (date search as extensive as trafilatura's default config
    makes it in bare_extraction), minus what newsclean never reads: categories, tags and licence, a third
    of its time. `found` is trafilatura's `examine_meta(tree)`, read before the passes, and
    `tree_title` its `extract_title(tree)` (cached: the passes' gate may have read it). The author
    search (`newsclean.cleaners.page_meta`, trafilatura's expressions in one walk) prunes `tree`
    in place instead of pruning a deep copy, so it runs last and the tree must not be used after
    this call.
    """
    from courlan import extract_domain
    from htmldate import find_date
    from trafilatura import metadata as tmeta
    from trafilatura.json_metadata import normalize_authors
    from trafilatura.settings import DEFAULT_CONFIG, set_date_params

    if found.author and " " not in found.author:
        found.author = None  # as trafilatura: a one-word meta author is a handle, not a name
    with contextlib.suppress(Exception):  # as trafilatura: a bug in its JSON-LD reader must not lose the page
        found = tmeta.extract_meta_json(tree, found)
    if not found.title:
        found.title = tree_title()
    if not found.url:
        found.url = tmeta.extract_url(tree, url)
    if found.url:
        found.hostname = extract_domain(found.url, fast=True)
    date_params = set_date_params(DEFAULT_CONFIG.getboolean("DEFAULT", "EXTENSIVE_DATE_SEARCH"))
    date_params["url"] = found.url
    found.date = find_date(tree, **date_params)  # copies the tree before pruning its own
    if not found.sitename:
        found.sitename = tmeta.extract_sitename(tree)
    if found.sitename:
        found.sitename = found.sitename.lstrip("@")
        if found.sitename and "." not in found.sitename and not found.sitename[0].isupper():
            found.sitename = found.sitename.title()
    elif found.url and (match := tmeta.META_URL.match(found.url)):
        found.sitename = match[1]
    if not found.author:
        candidates = prune_for_author(tree)  # in place: the last use of the tree
        author = find_author(tree, len_limit=120, candidates=candidates)
        found.author = normalize_authors(None, author) if author else None
    found.clean_and_trim()
    return Metadata(
        title=(found.title or None),
        published=normalise_date(found.date),
        author=(found.author or None),
        outlet=(found.sitename or found.hostname or None),
        url=(found.url or url),
    )


# C0 controls other than tab, newline and carriage return: not allowed in XML text.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _soup_text(html: str) -> tuple[str, Metadata]:
    """The page without its chrome, rendered as text (`fragment_to_text`), and its title.

    lxml finds and removes the chrome, and only the part kept (article, main or body) is handed
    to BeautifulSoup for rendering: BeautifulSoup's tree of a whole page costs several times
    lxml's (docs/tuning.md, "Measured implementation choices"). Control characters that XML
    cannot hold (lxml refuses to move text holding them) are dropped first: invisible damage."""
    html = _NOT_XML.sub("", html)
    try:
        tree = lxml.html.document_fromstring(html)
    except ValueError:  # a str with an XML encoding declaration: lxml wants bytes for it
        tree = lxml.html.document_fromstring(html.encode("utf-8"), parser=_UTF8_PARSER)
    except etree.ParserError:  # no elements at all
        return "", Metadata()
    title_tag = tree.find(".//title")
    title = " ".join(t.strip() for t in title_tag.itertext() if t.strip()) if title_tag is not None else ""
    for tag in list(tree.iter(*_CHROME)):
        tag.drop_tree()  # its tail text stays, as BeautifulSoup's decompose leaves it
    found = (tree.find(".//article"), tree.find(".//main"), tree.find("body"))
    root = next((el for el in found if el is not None), tree)
    text = fragment_to_text(lxml.html.tostring(root, encoding="unicode", with_tail=False))
    return text, Metadata(title=title or None)


def extract_page(html: str, options: CleaningOptions, url: str | None = None) -> tuple[str, Metadata, str]:
    """(body text, metadata, extractor name) for a whole page: the extraction newsclean keeps
    first, before any comparison (`clean_html` compares)."""
    if options.html_extractor == "trafilatura":
        found = _trafilatura(html, url, options)
        if found is not None:
            name, text = found[0][0]
            return text, found[1], name
    text, meta = _soup_text(html)
    return text, meta, "beautifulsoup"


@dataclass(frozen=True, slots=True)
class Extraction:
    """One extraction of a page, cleaned: its name and text (`candidate`), the cleaning's result
    and the repairs made to its text before cleaning."""

    candidate: Candidate
    result: CleanedText
    repairs: tuple[Removal, ...]


def page_extractions(
    html: str,
    options: CleaningOptions,
    url: str | None = None,
    known: Metadata = Metadata(),
    decode_options: DecodeOptions | None = None,
) -> list[Extraction]:
    """The page's extractions, each repaired and cleaned: the one kept so far first (trafilatura's
    kept pass, or the page without its chrome when every extraction missed the article:
    `missed_article`), then the others for `choose_article` to compare."""
    found = _trafilatura(html, url, options) if options.html_extractor == "trafilatura" else None
    if found is None:
        text, page_meta = _soup_text(html)
        passes = [("beautifulsoup", text)]
    else:
        passes, page_meta = found
    cleaned: list[Extraction] = []
    for name, raw in passes:
        text, meta, repairs = _repair(raw, page_meta, options, decode_options)
        result = clean_text(text, options, known.merged(meta))
        cleaned.append(Extraction(Candidate(name, result.text), result, repairs))
    if cleaned[0].candidate.name != "beautifulsoup" and missed_article(cleaned, options.html_min_prose_words):
        # Render the page without its chrome and let the text cleaner find the body; it is put
        # first when it holds more prose than any extraction (twice as much).
        soup_text, soup_meta = _soup_text(html)
        soup_text, soup_meta, soup_repairs = _repair(soup_text, soup_meta, options, decode_options)
        fallback = clean_text(soup_text, options, known.merged(meta).merged(soup_meta))
        if _prose_words(fallback.text) > 2 * max(e.candidate.prose_words for e in cleaned):
            cleaned.insert(0, Extraction(Candidate("beautifulsoup", fallback.text), fallback, soup_repairs))
    return cleaned


def missed_article(extractions: Sequence[Extraction], min_prose_words: float) -> bool:
    """Every extraction kept too little (a reprint notice, a teaser, a promo list): none holds
    `min_prose_words` words of prose, and none opens on the title's story (`_opens_on_title`).
    One that does is a short post found in place, and the page around it would add only its
    sidebars, archive lists and comments. Every extraction, not only the one kept first:
    trafilatura's fallbacks may take a promo list where its fast pass found the post."""
    title = extractions[0].result.metadata.title
    return all(
        e.candidate.prose_words < min_prose_words and not _opens_on_title(e.candidate.text, title)
        for e in extractions
    )


def clean_html(
    html: str,
    options: CleaningOptions | None = None,
    url: str | None = None,
    known: Metadata = Metadata(),
    decode_options: DecodeOptions | None = None,
) -> CleanedText:
    """Extract a whole page's article, then clean it as text; page metadata fills what `known`
    lacks. The extracted text and metadata are repaired (mojibake, invisible damage) with
    `decode_options` (the run's `settings.decode`), since the reader leaves whole pages
    unrepaired (`newsclean.decode.repair_for_kind`); `known` metadata is taken as its source gave it.

    Never lose the article: each extraction is cleaned, and the one that reads as the article is
    kept (`newsclean.cleaners.article.choose_article`); a replacement is logged as a removal of
    kind "lost_article" (rule "article-choice") naming the extraction set aside and why.
    """
    opts = options or CleaningOptions()
    extractions = page_extractions(html, opts, url, known, decode_options)
    kept = extractions[0]
    choice_log: tuple[Removal, ...] = ()
    if len(extractions) > 1:
        by_name = {e.candidate.name: e for e in extractions}
        others = [e.candidate for e in extractions[1:]]
        chosen, reason = choose_article(kept.candidate, others, kept.result.metadata.title)
        if reason is not None:
            text = f"{kept.candidate.name} set aside: {reason}"
            choice_log = (Removal("lost_article", "article-choice", text),)
            kept = by_name[chosen.name]
    removals = (
        Removal("page_chrome", kept.candidate.name, "non-article page content"),
        *choice_log,
        *kept.repairs,
        *kept.result.removals,
    )
    return CleanedText(kept.result.text, kept.result.metadata, removals)


def _repair(
    text: str, meta: Metadata, options: CleaningOptions, decode_options: DecodeOptions | None
) -> tuple[str, Metadata, tuple[Removal, ...]]:
    """The extracted text and metadata through ftfy (`newsclean.cleaners.repair.fix_text`), and a
    "mojibake" removal showing the first damaged line when the text changed beyond line endings
    (what `DecodedText.repaired` reports for a file repaired whole)."""
    if not options.html_fix_text:
        return text, meta, ()
    config = decode_options or DecodeOptions()
    fixed = fix_text(text, config)
    meta = Metadata(
        title=fix_text(meta.title, config) if meta.title else meta.title,
        published=meta.published,
        author=fix_text(meta.author, config) if meta.author else meta.author,
        outlet=fix_text(meta.outlet, config) if meta.outlet else meta.outlet,
        url=meta.url,
    )
    plain = text.replace("\r\n", "\n").replace("\r", "\n")
    if fixed == plain:
        return fixed, meta, ()
    first = next((i for i, (a, b) in enumerate(zip(plain, fixed, strict=False)) if a != b), len(plain))
    start = plain.rfind("\n", 0, first) + 1
    end = plain.find("\n", first)
    line = plain[start : len(plain) if end == -1 else end]
    return fixed, meta, (Removal("mojibake", "ftfy", line[:200]),)


def _prose_words(text: str) -> float:
    """Words in the text's prose lines: how much article an extraction found."""
    return sum(length_units(line) for line in text.split("\n") if is_prose(line))
