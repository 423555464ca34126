"""Markup left in text: comments (whole, escaped, broken), script/style bodies, stray tags, entities.

Scraped text keeps fragments of the page it came from. A comment's body is never article text;
a comment whose `<` was lost ("!-- Google tag (gtag.js) -->") is still a comment when it stands at
the start of a line. Tags are removed only when they are known HTML element names, so that
"a <b> c" in prose about HTML survives only where it is not a tag, and "x < y" always does.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator

from bs4 import BeautifulSoup, NavigableString, PageElement, Tag

from newsclean.cleaners.types import Removal

_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.S)
_ESCAPED_COMMENT = re.compile(r"&lt;!--.*?(?:--&gt;|\Z)", re.S)
# "!-- Google tag (gtag.js) -->" or "-- End Google Tag -->": a comment that lost its "<".
_BROKEN_COMMENT_LINE = re.compile(r"^[ \t]*!?--[^\n]{0,200}?-->[ \t]*$|^[ \t]*!--[^\n]{0,200}$", re.M)
_CLOSER_LINE = re.compile(r"^[ \t]*-->[ \t]*$", re.M)
_CODE_ELEMENT = re.compile(
    r"<(script|style|noscript|template|iframe|svg)\b[^>]*>.*?(?:</\1\s*>|\Z)", re.S | re.I
)
_TAG_NAMES = (
    "a|abbr|address|article|aside|audio|b|blockquote|body|br|button|caption|center|cite|code|dd|"
    "div|dl|dt|em|embed|figcaption|figure|font|footer|form|h[1-6]|head|header|hr|html|i|img|input|"
    "label|li|link|main|meta|nav|object|ol|option|p|picture|pre|q|s|section|select|small|source|"
    "span|strong|sub|sup|table|tbody|td|textarea|tfoot|th|thead|time|title|tr|track|u|ul|video|wbr"
)
_TAG = re.compile(rf"</?(?:{_TAG_NAMES})\b(?:\s[^<>]{{0,500}})?/?>", re.I)
_BLOCK_BREAK = re.compile(r"<br\s*/?>|</?(?:p|div|li|h[1-6]|tr|blockquote|section|article)\b[^>]*>", re.I)
_ENTITY = re.compile(r"&(?:#\d{1,7}|#x[0-9a-f]{1,6}|[a-z][a-z0-9]{1,31});", re.I)
# Elements rendered with a blank line before and after them (`fragment_to_text`).
_BLOCK_ELEMENTS = frozenset(
    ("p", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "blockquote", "figcaption")
)
_HTML_DOCUMENT = re.compile(r"<(?:!doctype\s+html|html[\s>]|body[\s>]|head[\s>])", re.I)


def is_html_document(text: str) -> bool:
    """A whole page (doctype, html, head or body element) rather than a fragment or text."""
    return bool(_HTML_DOCUMENT.search(text[:5000]))


def looks_like_html_fragment(text: str) -> bool:
    """Enough real tags that the text is markup to be rendered, not prose with a stray tag."""
    return len(_TAG.findall(text[:20000])) >= 3


def _recording(
    removals: list[Removal], kind: str, rule: str, replacement: str = ""
) -> Callable[[re.Match[str]], str]:
    """A re.sub callback that logs each match it removes."""

    def _sub(match: re.Match[str]) -> str:
        removals.append(Removal(kind, rule, match.group(0)))
        return replacement

    return _sub


def remove_comments(text: str) -> tuple[str, list[Removal]]:
    """Whole, escaped and broken HTML comments."""
    removals: list[Removal] = []
    text = _ESCAPED_COMMENT.sub(_recording(removals, "html_comment", "escaped-comment"), text)
    text = _COMMENT.sub(_recording(removals, "html_comment", "comment"), text)
    text = _BROKEN_COMMENT_LINE.sub(_recording(removals, "html_comment", "broken-comment"), text)
    text = _CLOSER_LINE.sub(_recording(removals, "html_comment", "comment-closer"), text)
    return text, removals


def remove_code_elements(text: str) -> tuple[str, list[Removal]]:
    """Bodies of script, style and similar elements: code, never prose."""
    removals: list[Removal] = []
    return _CODE_ELEMENT.sub(_recording(removals, "script", "code-element", "\n"), text), removals


def fragment_to_text(text: str) -> str:
    """Render an HTML fragment as text, with block elements as paragraph breaks: a line break
    for each `<br>`, a blank line before and after each block element, and the strings that
    BeautifulSoup's `get_text` keeps (no comments, no script, style or template bodies).

    One iterative walk over the parsed tree, so the time is linear in the input, however deep the
    nesting: inserting the breaks into the tree (`insert_after`) walked each block's whole
    subtree, which made nested blocks quadratic (a 1.1 MB fragment of 100k nested `<div>`s took
    over ten minutes). The text is the same as that insertion followed by `get_text`."""
    soup = BeautifulSoup(text, "lxml")
    kept = soup.interesting_string_types or Tag.MAIN_CONTENT_STRING_TYPES
    parts: list[str] = []
    # Each open element: its children not yet visited, and whether it closes with a break.
    stack: list[tuple[Iterator[PageElement], bool]] = [(iter(soup.contents), False)]
    while stack:
        children, block = stack[-1]
        child = next(children, None)
        if child is None:
            stack.pop()
            if block:
                parts.append("\n\n")
        elif isinstance(child, NavigableString):
            if type(child) in kept:  # exact types, as get_text compares them
                parts.append(child)
        elif isinstance(child, Tag):
            if child.name == "br":  # replaced by a line break, with anything inside it
                parts.append("\n")
                continue
            block = child.name in _BLOCK_ELEMENTS
            if block:
                parts.append("\n\n")
            stack.append((iter(child.contents), block))
    return "".join(parts)


def remove_stray_tags(text: str) -> tuple[str, list[Removal]]:
    """Known tags left in text; line-breaking tags become line breaks so words do not glue."""
    removals: list[Removal] = []

    def _sub(match: re.Match[str]) -> str:
        removals.append(Removal("markup", "stray-tag", match.group(0)))
        return "\n" if _BLOCK_BREAK.fullmatch(match.group(0)) else ""

    return _TAG.sub(_sub, text), removals


def unescape_entities(text: str) -> str:
    """Character references become characters; runs only where a complete one is present."""
    if "&" not in text or not _ENTITY.search(text):
        return text
    return html.unescape(text)


def strip_markup(text: str) -> tuple[str, list[Removal]]:
    """All markup cleaning for text: comments, code, fragments or stray tags, then entities."""
    text, removals = remove_comments(text)
    text, code = remove_code_elements(text)
    removals.extend(code)
    if looks_like_html_fragment(text):
        before = len(_TAG.findall(text))
        text = fragment_to_text(text)
        removals.append(Removal("markup", "html-fragment", f"{before} tags"))
    else:
        text, tags = remove_stray_tags(text)
        removals.extend(tags)
    text = unescape_entities(text)
    # Entities may have hidden a comment ("&lt;!-- x --&gt;" inside "&amp;lt;"): one more pass.
    text, late = remove_comments(text)
    removals.extend(late)
    return text, removals
