"""Block-level cleaning: where the article body starts and ends, and lines that are not its own.

Line rules judge one line at a time; some boilerplate is only visible in aggregate. A page's text
(a whole-page dump, or an extractor that kept too much) is a run of short menu and link lines, the
article's paragraphs, then more short lines (related links, footers, comment threads). The body
is the stretch where prose dominates, found as a maximum-sum segment (the idea of Finn et al.'s
"Body Text Extraction", applied to lines instead of tags): prose lines count for, short lines
against. Only a margin that is clearly chrome (several short lines) is removed, so an article
that merely starts with a dateline or ends with a sign-off keeps them.

All functions take the document's non-empty lines (whitespace collapsed) and return indexes to
drop; they never edit text, so the caller can log each removal.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Sequence

from newsclean.cleaners.rules import dateline_shape

_WORD = re.compile(r"\w+")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")


@functools.lru_cache(maxsize=1024)
def length_units(line: str) -> float:
    """Words, or for scripts written without spaces (CJK) about one unit per two characters."""
    words = len(_WORD.findall(line))
    cjk = len(_CJK.findall(line))
    return max(words, cjk / 2)


@functools.lru_cache(maxsize=1024)
def is_prose(line: str, min_units: int = 10) -> bool:
    """A line that reads as running text: sentences, not a label, headline or link.

    A paragraph is long enough and ends like a sentence (headlines and link texts do not end
    with a full stop), or holds a sentence break inside, or is simply long; a bare URL is not
    prose however long.
    """
    if " " not in line and _CJK.search(line) is None:
        return False
    units = length_units(line)
    if units >= 2.5 * min_units:
        return True
    if units < min_units:
        return False
    return _SENTENCE_END.search(line) is not None or _INNER_SENTENCE_BREAK.search(line) is not None


_SENTENCE_END = re.compile(r"""[.!?。！？…]["'”’)\]]?$|[.!?]\s*\(\w[^()]*\)$""")
_INNER_SENTENCE_BREAK = re.compile(r"\w[.!?]\s+[\"“‘']?[A-Z]")


MIN_EVIDENCE = 1
LABEL_SHARE = 0.3
# A margin holding more of the document's prose than this is not cut: the span may have picked
# a wordy footer over a short article, and losing the article is worse than keeping chrome.
MAX_MARGIN_PROSE = 0.25


def _is_label(line: str) -> bool:
    """A menu item, button or link label: a few words, no figures, no sentence."""
    return length_units(line) <= LABEL_WORDS and not _NUMBER.search(line) and not is_prose(line)


LABEL_WORDS = 4
_NUMBER = re.compile(r"\d")


def _line_score(line: str, short_penalty: float) -> float:
    """Prose counts its length; a row of figures (a table, a list of dates) counts nothing either
    way; any other short line counts against, the shorter (a menu label) the more."""
    units = length_units(line)
    if is_prose(line):
        return units
    if len(_NUMBER.findall(line)) >= 2:
        return 0.0
    return -(short_penalty + max(0.0, 6 - units) / 2)


def body_span(
    lines: Sequence[str],
    chrome_lines: Sequence[bool] | None = None,
    *,
    short_penalty: float = 2.0,
    min_margin_lines: int = 3,
) -> tuple[int, int]:
    """[start, end) of the article body among `lines`; the margins outside are page chrome.

    The span is the maximum-sum run of line scores (prose: its length; other lines: a penalty).
    A margin is only cut when it holds at least `min_margin_lines` non-prose lines, one of them
    known chrome (`chrome_lines[i]`: a line rule recognised it as a menu, share or copyright
    line...): one or two short lines at an edge (a dateline, a sign-off) are the article's own,
    and so is a list or a table of results that ends an article.
    """
    n = len(lines)
    if n == 0:
        return 0, 0
    scores = [_line_score(line, short_penalty) for line in lines]
    best, best_start, best_end = float("-inf"), 0, n
    running, start = 0.0, 0
    for i, score in enumerate(scores):
        if running <= 0:
            running, start = score, i
        else:
            running += score
        if running > best:
            best, best_start, best_end = running, start, i + 1
    if best <= 0:
        return 0, n

    evidence = list(chrome_lines) if chrome_lines is not None else [True] * n
    total_prose = sum(score for score in scores if score > 0)

    def chrome(lo: int, hi: int) -> bool:
        labels = sum(1 for line in lines[lo:hi] if _is_label(line))
        prose = sum(score for score in scores[lo:hi] if score > 0)
        return (
            labels >= min_margin_lines
            and prose <= MAX_MARGIN_PROSE * total_prose
            and labels >= LABEL_SHARE * (hi - lo)
            and sum(evidence[lo:hi]) >= MIN_EVIDENCE
        )

    start = best_start if chrome(0, best_start) else 0
    end = best_end if chrome(best_end, n) else n
    return start, end


# A heading that opens a page's tail: the comment section, or lists of other stories.
TAIL_HEADINGS = re.compile(
    r"(?:leave a (?:reply|comment)|post a comment|add (?:a )?comment|join the (?:discussion|conversation)"
    r"|comments?(?: \(\d+\))?|\d+ (?:comments?|responses?|replies|thoughts)(?: (?:on|to) .{0,150})?"
    r"|comments are closed\.?|show comments|view comments|load comments|loading comments\W*"
    r"|be the first to comment\W*|blog comments powered by disqus|discussion"
    r"|related (?:articles|stories|posts|news|coverage|content|links|reading)|more (?:stories|news|articles)"
    r"(?: from .{1,40})?|you (?:may|might) (?:also )?(?:like|enjoy|be interested in)\W*"
    r"|recommended(?: for you| stories| articles)?|most (?:read|popular|viewed|shared)(?: .{1,30})?"
    r"|popular (?:stories|posts|articles|now|on .{1,30})|trending(?: now| stories)?|what to read next"
    r"|(?:our )?latest (?:news|stories|headlines|articles)|top stories|editor['’]s picks"
    r"|(?:top rated|user|reader|readers['’]?|latest|recent|all) comments|tell us what you think(?:\.\.\.)?"
    r"|комментарии|добавить комментарий|comentários|comentarios|commenti|kommentare|commentaires"
    r"|lascia un commento|deixe uma resposta|deja un comentario|tinggalkan balasan|\d+ comentários"
    r"|você (?:também )?pode gostar|ti potrebbe interessare|vous aimerez aussi"
    r"|das könnte sie auch interessieren|también te puede interesar|te puede interesar"
    r"|похожие (?:статьи|новости|материалы)|artigos relacionados"
    r"|articoli correlati|artículos relacionados|articles similaires|ähnliche artikel)\W*",
    re.I,
)


def tail_cut(lines: Sequence[str], *, min_prose_above: float = 80, max_words: int = 25) -> int | None:
    """Index of a tail heading (comments, related stories) after which everything is chrome.

    Only a short line that is nothing but such a heading counts, and only below a body of at
    least `min_prose_above` words of prose: the same words at the top of a page are its menu, and
    an article cannot have ended before it began. (No share of the prose is asked for: a
    comment thread can be longer than the article above it.)
    """
    seen = 0.0
    prose_lines = 0
    for i, line in enumerate(lines):
        if is_prose(line):
            seen += length_units(line)
            prose_lines += 1
            continue
        if (
            seen >= min_prose_above
            and (prose_lines >= 2 or seen >= 1.5 * min_prose_above)
            and len(line.split()) <= max_words
            and TAIL_HEADINGS.fullmatch(line)
        ):
            return i
    return None


def duplicate_lines(
    lines: Sequence[str], *, min_words: int = 3, max_words: int = 60, window: int = 3
) -> list[int]:
    """A copy of a line printed again within `window` lines (a photo's alt text, then its caption).

    Only nearby copies of caption-sized lines: an article repeats a heading or a list item far
    apart on purpose (a Q&A's questions, a product's features), and a one-word repeat may be a
    table value.
    """
    dropped: list[int] = []
    recent: list[tuple[int, str]] = []
    for i, line in enumerate(lines):
        words = len(line.split())
        key = line_key(line) if min_words <= words <= max_words else ""
        if key and any(key == k and i - j <= window for j, k in recent):
            dropped.append(i)
            continue
        recent = [(j, k) for j, k in recent if i - j < window] + [(i, key)]
    return dropped


def line_key(line: str) -> str:
    """A line normalised for counting: lower-case words only, so spacing and punctuation differ."""
    return " ".join(_WORD.findall(line.casefold()))


# Figures and calendar words, which change from one copy of a furniture line to the next
# ("Posted on 3 March 2008 by", "12 comments", "Page 2 of 5"): counted as one word each.
_FIGURES = re.compile(r"\d+")
_LETTERS = re.compile(r"[^\W\d_]")
_CALENDAR = re.compile(
    r"\b(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?|mon(?:day)?|tue(?:s(?:day)?)?"
    r"|wed(?:nesday)?|thu(?:rs(?:day)?)?|fri(?:day)?|sat(?:urday)?|sun(?:day)?|am|pm)\b"
)


def furniture_key(line: str) -> str:
    """The key corpus statistics count: `line_key`, and in a line that does not end as a
    sentence, every number as 0 and every month, weekday and am/pm as "m", so that a dated label
    ("Posted on 3 March 2008 by Admin", "12 comments") is the same line on every page that
    prints it, while a sentence that differs by a figure stays a sentence of its own."""
    key = line_key(line)
    if _SENTENCE_END.search(line.rstrip()):
        return key
    key = _CALENDAR.sub("m", _FIGURES.sub("0", key))
    # A line of figures alone (a list's numbers, a vote count, "___") is not counted.
    return key if any(w != "m" and _LETTERS.search(w) for w in key.split()) else ""


def short_line_keys(text: str, *, max_words: int = 20) -> Iterator[tuple[int, str]]:
    """(index, `furniture_key`) of each line of 1..max_words words whose key is not empty: the
    lines corpus statistics count. A long line is split at most max_words times, not into all
    of its words: most of a corpus's lines are paragraphs."""
    for i, line in enumerate(text.split("\n")):
        if 0 < len(line.split(None, max_words)) <= max_words:
            key = furniture_key(line)  # spacing never changes a key: it is made of the words alone
            if key:
                yield i, key


# The header of one reader comment: "Jane Roe on May 2, 2019 at 4:47 pm said:", "2 days ago at
# 07:52 am", "34. averagjoe says:".
_AGO = r"\d+ (?:seconds?|minutes?|mins?|hours?|hrs?|days?|weeks?|months?|years?) ago"
_COMMENT_TIME = (
    r"(?:\d{1,2}:\d{2}\s*(?:[ap]\.?m\.?)?|" + _AGO + r"|\d{1,2}[/.]\d{1,2}[/.]\d{2,4}"
    r"|(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.? \d{1,2},? \d{4})"
)
_COMMENT_HEADER = re.compile(
    r"(?:[•*-]\s*)?(?:\d+\.\s*)?\S.{0,80}?\b(?:says|said|wrote|writes|commented)\s*:"
    r"|(?:[•*-]\s*)?" + _AGO + r"(?: at .{1,12})?",
    re.I,
)
_COMMENT_TIME_RE = re.compile(_COMMENT_TIME, re.I)


def _comment_header(line: str) -> str | None:
    """How sure a line is a comment's header: "strong" for a header no article line looks like
    ("Jane Roe on May 2, 2019 at 4:47 pm said:", "2 days ago"), "weak" for a name, a date and a
    time of day ("Jane Roe August 17, 2019 - 2:19 pm": a dateline can look the same), or None."""
    if len(line.split()) > 15:
        return None
    if _COMMENT_HEADER.fullmatch(line) is not None:
        return "strong" if " ago" in line or _COMMENT_TIME_RE.search(line) else None
    if _CLOCK_TIME.search(line) and dateline_shape(line):
        return "weak"
    return None


_CLOCK_TIME = re.compile(r"\b\d{1,2}:\d{2}\b")
# What sits between comments: a reply button, a vote count.
_COMMENT_FURNITURE = re.compile(
    r"reply|(?:rating|score)\s*:\s*\d+ votes?|\d+ (?:likes?|votes?|points?)", re.I
)


def comment_thread_start(
    lines: Sequence[str], *, min_prose_above: float = 30, min_headers: int = 2
) -> int | None:
    """Index where a thread of reader comments begins: from there on, everything is comments.

    A thread is told by its comment headers (a name and a time, "said:"), at least `min_headers`
    of them, not by one line: an article quoting someone who "said:" has no time stamp on that
    line. One or two short lines right above the first header ("Comments", "Top Rated Comments",
    "(View all)") are the thread's heading and go with it.
    """
    headers: list[int] = []
    strong: list[int] = []
    furniture = 0
    prose = 0.0
    for i, line in enumerate(lines):
        kind = _comment_header(line) if prose >= min_prose_above else None
        if kind:
            headers.append(i)
            if kind == "strong":
                strong.append(i)
        elif is_prose(line):
            prose += length_units(line)
        elif headers and _COMMENT_FURNITURE.fullmatch(line):
            furniture += 1
    # Several different headers (a page may print its own dateline twice), and unless one is
    # unmistakable, the reply buttons of a thread between them.
    if len({lines[i] for i in headers}) < min_headers or not (strong or furniture):
        return None
    # A dateline-like header before the first unmistakable one may be the article's own.
    first = strong[0] if strong else headers[0]
    start = first
    while (
        start > 0
        and first - start < 2
        and not is_prose(lines[start - 1])
        and len(lines[start - 1].split()) <= 5
    ):
        start -= 1
    return start


# Non-prose lists: what a page carries beside the story (a ticker, a link list, a table of
# names, other stories' teasers), wherever it sits. docs/tuning.md, "List blocks".
MIN_LIST_LINES = 8
LIST_RATIO = 3.0
MIN_STORY_WORDS = 80
# A call to action that ends one teaser: a link to another page's story ("Full Story", "Read
# more »", "More…") or to an event's sign-up ("Register Now", "Learn more"). Not "Buy now": the
# products of a deals post are its content.
_TEASER_LINK = re.compile(
    r"(?:full story|read (?:the )?(?:full|whole|more|rest)(?: (?:story|article))?|more|continue reading"
    r"|read on|see more|view (?:story|article)|go to (?:story|article)"
    r"|(?:register|sign up|enrol|enroll|rsvp)(?: (?:now|today|here|online))?|(?:get|book) (?:your )?tickets"
    r"|learn more|find out more)\W*",
    re.I,
)


def list_blocks(
    lines: Sequence[str],
    *,
    min_lines: int = MIN_LIST_LINES,
    ratio: float = LIST_RATIO,
    min_story: float = MIN_STORY_WORDS,
) -> list[tuple[int, int]]:
    """[start, end) of each run of at least `min_lines` consecutive non-prose lines that holds
    more than `ratio` times the words of the document's prose outside it, when that prose is a
    story (at least `min_story` words): a list that dwarfs the story is the page's (a currency
    ticker under a currency story), not the story's. A list the size of the story (a results
    table, a recipe's ingredients, a deals post's products) and a page that is only a list stay."""
    units = [length_units(line) for line in lines]
    prose = [is_prose(line) for line in lines]
    total_prose = sum(u for u, p in zip(units, prose, strict=True) if p)
    if total_prose < min_story:
        return []
    found: list[tuple[int, int]] = []
    start = 0
    for i in range(len(lines) + 1):
        if i < len(lines) and not prose[i]:
            continue
        if i - start >= min_lines and sum(units[start:i]) > ratio * total_prose:
            found.append((start, i))
        start = i + 1
    return found


def teaser_blocks(lines: Sequence[str], *, min_links: int = 2, max_words: int = 80) -> list[int]:
    """Indexes of other stories' teasers: when a call to action ("Full Story", "Read more")
    ends at least `min_links` short paragraphs, each link line, the blurb above it (at most
    `max_words` words) and the headline above that (a line that is not prose). One "Read more"
    under a story is its own link, not a list."""
    links = [i for i, line in enumerate(lines) if len(line.split()) <= 5 and _TEASER_LINK.fullmatch(line)]
    if len(links) < min_links:
        return []
    dropped: list[int] = []
    linked = set(links)
    for i in links:
        dropped.append(i)
        # the teaser above the link: its blurb, and above that its headline (not prose)
        blurb = i - 1
        if blurb < 0 or blurb in linked or len(lines[blurb].split()) > max_words:
            continue
        dropped.append(blurb)
        headline = blurb - 1
        if headline >= 0 and headline not in linked and not is_prose(lines[headline]):
            dropped.append(headline)
    return sorted(set(dropped))
