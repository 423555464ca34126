"""Line-level cleaning: boilerplate rules, header analysis, photo blocks, title repeats, tails.

Works on the text's own line structure (before whitespace is normalised) because that structure
is evidence: a photo block is the short group of lines around a credit, a title is the first short
line of the header, a lone lowercase word at the very end is a widget's leftover. Metadata found in
removed lines (title, date, author, site) is returned so nothing the page stated is lost.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from newsclean.cleaners.blocks import (
    body_span,
    comment_thread_start,
    duplicate_lines,
    is_prose,
    length_units,
    list_blocks,
    tail_cut,
    teaser_blocks,
)
from newsclean.cleaners.dates import parse_date
from newsclean.cleaners.rules import (
    byline_author,
    dateline_shape,
    first_rule,
    is_menu_line,
    site_header_domain,
)
from newsclean.cleaners.types import Metadata, Removal
from newsclean.settings import CleaningOptions

_DATE_LABEL = re.compile(
    r"^(?:(?:first )?published|posted|updated|last updated|last modified|modified|date|created)"
    r"(?:\s+(?:on|at))?\s*:?\s*",
    re.I,
)
_UPDATED = re.compile(r"^(?:updated|last updated|last modified|modified)\b", re.I)
_PIPE = re.compile(r"\s+\|\s+|\s*\|\s*")
_TITLE_END_BAD = (".", ",", ";", ":", "…")
_TITLE_MAX_WORDS = 20
_LABEL_FIELD = re.compile(r"^\S+(?:\s+\S+)?\s*:\s")
_SENTENCE_END_ANY = re.compile(r"""[.!?。！？…]["'”’)\]]?$""")
# A sentence break after a word, not after an abbreviation ("Rep. Ilhan Omar", "U.S. Army").
_WORD_SENTENCE_BREAK = re.compile(r"""(?<![A-Z])[a-z]{3,}[.!?]\s+["“‘']?[A-Z]""")
_KICKER = re.compile(r"[^a-z]{2,40}")
_LONE_FRAGMENT = re.compile(r"[a-z][a-z-]{1,30}")
# Removed lines that belong to the article's own header, not to the page around it.
_ARTICLE_KINDS = frozenset({"title", "title_repeat", "dateline", "byline", "photo_caption", "duplicate_line"})


def squash(line: str) -> str:
    """A line as rules see it: no-break and other spaces collapsed, ends trimmed."""
    return " ".join(line.replace("\xa0", " ").split())


def _title_key(text: str) -> str:
    return re.sub(r"\W+", " ", text).strip().casefold()


@dataclass
class _LineState:
    """The document's lines and, for each removed one, the removal that took it."""

    lines: list[str]
    squashed: list[str] = field(init=False)
    removed: dict[int, Removal] = field(default_factory=dict)
    _blocks: list[tuple[int, int]] = field(default_factory=list, init=False, repr=False)

    def __post_init__(self) -> None:
        self.squashed = [squash(line) for line in self.lines]

    def kept(self) -> list[int]:
        return [i for i, s in enumerate(self.squashed) if s and i not in self.removed]

    def drop(self, index: int, kind: str, rule: str) -> None:
        if index not in self.removed:
            self.removed[index] = Removal(kind, rule, self.squashed[index])

    def block_of(self, index: int) -> tuple[int, int]:
        """Bounds [start, end) of the run of non-blank lines around `index` (blank lines are
        blank for good: the runs are found once, so a document of many runs costs linear time)."""
        if not self._blocks:
            start = 0
            for i, line in enumerate([*self.squashed, ""]):
                if not line:
                    self._blocks.extend([(start, i)] * (i - start) + [(i, i + 1)])
                    start = i + 1
        return self._blocks[index]


def _dateline(line: str) -> tuple[str | None, tuple[str, str | None] | None] | None:
    """A line that is only dates, bylines and short labels, split by '|': (date, byline)."""
    published: str | None = None
    author: tuple[str, str | None] | None = None
    parts = [p for p in _PIPE.split(line) if p]
    for part in parts:
        label_free = _DATE_LABEL.sub("", part)
        date = parse_date(label_free, whole=True)
        if date:
            if not _UPDATED.match(part):
                published = published or date
            elif published is None:
                published = date
            continue
        found = byline_author(part)
        if found:
            author = author or found
            continue
        return _loose_dateline(line)
    if published is None and author is None:
        return _loose_dateline(line)
    return published, author


def _loose_dateline(line: str) -> tuple[str | None, tuple[str, str | None] | None] | None:
    """Datelines in the many other shapes pages print them: "Published 11:11 PM EST Nov 19,
    2019", "Chris Davies - Nov 19, 2019, 10:31 pm CST", "Monday November 18, 2019 7:45 am PST by
    Joe Rossignol", "Updated at 1:23 p.m.": dates, times and labels, at most one author name.

    Only a line whose every word is a date word, a label or the name is taken (see
    `newsclean.cleaners.rules.dateline_shape`); its date goes to the metadata when it parses.
    """
    name = dateline_shape(line)
    if name is None:
        return None
    return parse_date(line), ((name, None) if name else None)


def _is_title_candidate(line: str) -> bool:
    """A headline's shape: a short capitalised line, not a sentence and not a "Label: value".

    Without a known title this is a guess, so it leans to keeping text: an opening paragraph
    ("Chelsea have this morning paid the £71.6million fee ...") is longer than a headline, and
    "Tested by: John Milbank" is a field of the article, not its title.
    """
    words = line.split()
    if not 2 <= len(words) <= _TITLE_MAX_WORDS or len(line) > 200:
        return False
    if line.endswith(_TITLE_END_BAD) and not line.endswith("..."):
        return False
    label = _LABEL_FIELD.match(line)
    if label and not label.group(0).isupper():  # "BREAKING NEWS: ..." is a headline's kicker
        return False
    # Headlines abbreviate ("Rep. Ilhan Omar"): a break after an abbreviation is not a sentence's.
    if is_prose(line) and (
        _SENTENCE_END_ANY.search(line) or _WORD_SENTENCE_BREAK.search(line) or length_units(line) >= 25
    ):
        return False
    first = line[0]
    return first.isupper() or first.isdigit() or first in "\"'“‘¿¡"


def rejoin_split_parentheses(lines: list[str], max_join: int = 3) -> list[str]:
    """Join a line left open at "(" with the lines that close it: "Site(", "www.site.com", "),
    all rights reserved" was one line, cut where an extractor rendered a link on its own line.
    Only short pieces (a link, a name) and only when the parenthesis closes within `max_join`.
    """
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.rstrip().endswith("(") and line.count("(") > line.count(")"):
            pieces = [line.rstrip()]
            j = i + 1
            while j < len(lines) and j - i <= max_join and len(lines[j].split()) <= 4 and lines[j].strip():
                pieces.append(lines[j].strip())
                if lines[j].count(")") > lines[j].count("("):
                    break
                j += 1
            if j < len(lines) and j - i <= max_join and pieces[-1].count(")") > pieces[-1].count("("):
                out.append("".join(pieces) if pieces[-1].startswith(")") else " ".join(pieces))
                i = j + 1
                continue
        out.append(line)
        i += 1
    return out


def clean_lines(
    text: str,
    options: CleaningOptions,
    known: Metadata = Metadata(),
) -> tuple[str, list[Removal], Metadata]:
    """Remove boilerplate lines; return the text, what was removed, and metadata found on the way."""
    state = _LineState(rejoin_split_parentheses(text.split("\n")))
    kept = state.kept()
    head = set(kept[: options.header_zone_lines])
    tail = set(kept[-5:]) if len(kept) > 5 else set()
    meta = Metadata()

    if options.metadata_lines:
        for i in kept:
            found = _dateline(state.squashed[i])
            if found is None:
                continue
            date, byline = found
            # A dateline deep in the body is a quoted date list; only take it near the edges.
            if i not in head and i not in tail and byline is None:
                continue
            if date and not meta.published:
                meta = Metadata(meta.title, date, meta.author, meta.outlet)
            if byline:
                author, org = byline
                meta = Metadata(meta.title, meta.published, meta.author or author, meta.outlet or org)
            state.drop(i, "byline" if byline else "dateline", "dateline" if date else "byline")

    if options.boilerplate_lines:
        for i in state.kept():
            line = state.squashed[i]
            words = len(line.split())
            if words > options.max_rule_line_words:
                continue
            in_head, in_tail = i in head, i in tail
            rule = first_rule(line, words, in_head=in_head, in_tail=in_tail)
            if rule is not None:
                state.drop(i, rule.kind, rule.name)
            else:
                # Menus are told by their spacing, which squashing would erase.
                spaced = state.lines[i].replace("\xa0", " ").strip()
                if is_menu_line(spaced, at_edge=in_head or in_tail):
                    state.drop(i, "navigation", "menu-line")

    # A bare "By" line (the name was a link, rendered on a line of its own): the name goes too.
    if options.metadata_lines:
        for i, removal in list(state.removed.items()):
            if removal.rule != "byline-labels" or state.squashed[i].strip(" :|-").lower() != "by":
                continue
            after = [j for j in state.kept() if j > i][:1]
            if after and len(state.squashed[after[0]].split()) <= 5:
                named = byline_author("By " + state.squashed[after[0]])
                if named and named[1] is None:
                    state.drop(after[0], "byline", "name-after-by")
                    meta = Metadata(meta.title, meta.published, meta.author or named[0], meta.outlet)

    # Header: site line, then the title as the first short line left at the top.
    title = known.title
    remaining_head = [i for i in state.kept() if i in head]
    if options.metadata_lines and remaining_head:
        first = remaining_head[0]
        domain = site_header_domain(state.squashed[first])
        if domain and len(remaining_head) > 1:
            state.drop(first, "site_header", "domain-header")
            meta = Metadata(meta.title, meta.published, meta.author, domain)
            remaining_head = remaining_head[1:]
        body_after = len(state.kept()) >= 2  # a title needs a body under it
        candidate = state.squashed[remaining_head[0]] if remaining_head else ""
        # A kicker above the headline ("BREAKING NEWS", "BLACK DEATH FEARS"): a few capitals.
        if (
            not title
            and len(remaining_head) > 2
            and len(candidate.split()) <= 4
            and _KICKER.fullmatch(candidate)
            and _is_title_candidate(state.squashed[remaining_head[1]])
            and is_prose(state.squashed[remaining_head[2]])
        ):
            state.drop(remaining_head[0], "title", "kicker")
            remaining_head = remaining_head[1:]
            candidate = state.squashed[remaining_head[0]]
        if title and remaining_head and _title_key(candidate) == _title_key(title):
            state.drop(remaining_head[0], "title", "known-title")
        elif not title and remaining_head and body_after and _is_title_candidate(candidate):
            title = candidate
            state.drop(remaining_head[0], "title", "header-title")
            meta = Metadata(title, meta.published, meta.author, meta.outlet)

    if options.title_repeat and title:
        key = _title_key(title)
        for i in state.kept():
            if _title_key(state.squashed[i]) == key:
                state.drop(i, "title_repeat", "title-repeat")

    if options.photo_blocks:
        _drop_photo_captions(state)

    _drop_blocks(state, options)

    if options.boilerplate_lines:
        for i in reversed(state.kept()):
            if _LONE_FRAGMENT.fullmatch(state.squashed[i]):
                state.drop(i, "trailing_fragment", "lone-word-tail")
            else:
                break

    lines = [line for i, line in enumerate(state.lines) if i not in state.removed]
    removals = [state.removed[i] for i in sorted(state.removed)]
    return "\n".join(lines), removals, meta


def _drop_photo_captions(state: _LineState) -> None:
    """Above each credit line, the caption lines of its photo block go too.

    A photo block is alt text, a caption title and a caption, ending in a credit. Only lines in the
    same run of non-blank lines are taken, at most three, and in a long run (an article written
    with single newlines) only short ones, so an article paragraph is never taken for a caption.
    A run that is the whole text is a long run whatever its length: an extractor's output has a
    paragraph a line and no blank lines, so there a short run is a short article, not a photo
    block, and the paragraphs above a credit at its end are the story's last ones.
    """
    credits = sorted(i for i, r in state.removed.items() if r.kind == "photo_credit")
    if not credits:
        return
    present = [i for i, line in enumerate(state.squashed) if line]
    for credit in credits:
        start, end = state.block_of(credit)
        whole_text = start <= present[0] and end > present[-1]
        small_block = end - start <= 7 and not whole_text
        taken = 0
        i = credit - 1
        while i >= start and taken < 3:
            if i in state.removed:
                i -= 1
                continue
            words = len(state.squashed[i].split())
            if not (small_block and words <= 60) and words > 12:
                break
            state.drop(i, "photo_caption", "caption-above-credit")
            taken += 1
            i -= 1


def _drop_blocks(state: _LineState, options: CleaningOptions) -> None:
    """Block-level steps (see `newsclean.cleaners.blocks`), on the lines the line rules left.
    Lines an outlet repeats across stories need the corpus: `newsclean.corpus.RepeatedLines`."""
    if options.duplicate_lines:
        kept = state.kept()
        for j in duplicate_lines([state.squashed[i] for i in kept]):
            state.drop(kept[j], "duplicate_line", "repeated-in-document")
    if options.tail_blocks:
        kept = state.kept()
        cut = tail_cut([state.squashed[i] for i in kept])
        if cut is not None:
            for i in kept[cut:]:
                state.drop(i, "comments_related", "tail-after-heading")
    if options.comment_threads:
        # Removed lines take part: a comment's header may already have gone as a byline.
        present = [i for i, line in enumerate(state.squashed) if line]
        start = comment_thread_start([state.squashed[i] for i in present])
        if start is not None:
            for i in present[start:]:
                state.drop(i, "comments_related", "comment-thread")
    if options.list_blocks:
        kept = state.kept()
        squashed = [state.squashed[i] for i in kept]
        for j in teaser_blocks(squashed):
            state.drop(kept[j], "read_more", "teaser-list")
        for start, end in list_blocks(squashed):
            for j in range(start, end):
                state.drop(kept[j], "page_chrome", "non-prose-list")
    if options.body_span:
        # Lines the rules removed still say where the chrome is: they take part, as evidence.
        present = [i for i, line in enumerate(state.squashed) if line]
        chrome = [i in state.removed and state.removed[i].kind not in _ARTICLE_KINDS for i in present]
        start, end = body_span([state.squashed[i] for i in present], chrome)
        for i in present[:start] + present[end:]:
            if i not in state.removed:
                state.drop(i, "page_chrome", "before-body" if i < present[start] else "after-body")
