"""Never lose the article: choose, among a page's extractions, the one that reads as its article.

trafilatura tuned for precision (newsclean's kept pass) sometimes keeps a box beside the article
(a promo, other stories' teasers) and drops the article itself, or keeps only a part of it; its
balanced pass or its fallbacks, run on the same tree, often hold the article. Each extraction is
cleaned first, then compared with the kept one on two signals:

- **More of the same story.** An extraction with at least `GROWTH` times the kept one's prose
  words replaces it when the lines it adds share at least `MIN_COHESION` of their content words
  with the kept text and the title (the article continued, not a column of other stories'
  teasers, whose words are their own stories'), or when it opens with more of the title's words
  (the kept one was the teasers).
- **The story under the title.** An extraction whose opening shares at least `TITLE_LEAD` more
  of the title's content words than the kept one's opening (and that holds `MIN_TITLE_PROSE`
  words of prose) replaces it: the kept one is another story, a promo or a teaser. Not when it
  is a part of the kept one (less prose, `MAX_OVERLAP` of its content words in it): a lede
  that repeats the title is not the story's whole.

The title is the page's own (its `<title>` or metadata), so the choice needs no outside data.
Thresholds: docs/tuning.md, "Article choice"; chosen on one wceb-dev dataset, reported on the
other and on AEB (`bench/cleaning.py --only choice`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from newsclean.cleaners.blocks import is_prose, length_units

GROWTH = 2.0
MIN_COHESION = 0.2
TITLE_LEAD = 0.34
MIN_TITLE_PROSE = 20
MAX_OVERLAP = 0.5
OPENING_WORDS = 120

_CONTENT_WORD = re.compile(r"[^\W\d_]{4,}")
# Words too common in English news to tell two stories apart (four letters or more only).
_COMMON = frozenset(
    {"that", "this", "with", "from", "have", "were", "been", "will", "would", "said", "says", "their",
     "there", "about", "which", "when", "what", "them", "they", "into", "more", "than", "also", "after",
     "over", "such", "just", "like", "your", "some", "only", "other", "could", "should", "these",
     "those", "here", "very", "being", "most", "where", "while", "because", "does", "then", "before"}
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Candidate:
    """One extraction of a page after cleaning: the extractor's name and the cleaned text."""

    name: str
    text: str

    @property
    def prose_words(self) -> float:
        return prose_words(self.text)


def prose_words(text: str) -> float:
    """Words in the text's prose lines (`newsclean.cleaners.blocks.is_prose`)."""
    return sum(length_units(line) for line in text.split("\n") if is_prose(line))


def content_words(text: str) -> set[str]:
    """Lower-case words of four letters or more, common function words left out."""
    return {w for w in _CONTENT_WORD.findall(text.casefold()) if w not in _COMMON}


def title_affinity(text: str, title: str | None) -> float | None:
    """Share of the title's content words found in the text's first `OPENING_WORDS` words; None
    without a title (or one of only common words)."""
    wanted = content_words(title or "")
    if not wanted:
        return None
    # Prose only: a label line ("Related To Story Other News Video") is not a story's opening.
    opening = " ".join(" ".join(line for line in text.split("\n") if is_prose(line)).split()[:OPENING_WORDS])
    return len(wanted & content_words(opening)) / len(wanted)


def cohesion(kept: str, other: str, title: str | None) -> float:
    """Share of the content words on `other`'s lines that `kept` lacks which occur in `kept` or
    the title: near 1 for the rest of the same story, low for other stories' teasers."""
    known = content_words(kept) | content_words(title or "")
    kept_lines = set(kept.split("\n"))
    added = [
        w
        for line in other.split("\n")
        if line.strip() and line not in kept_lines
        for w in _CONTENT_WORD.findall(line.casefold())
        if w not in _COMMON
    ]
    if not added:
        return 1.0
    return sum(w in known for w in added) / len(added)


def overlap(text: str, other: str) -> float:
    """Share of `text`'s content words that `other` holds too (1.0 for a text without any)."""
    words = content_words(text)
    return len(words & content_words(other)) / len(words) if words else 1.0


def _part_of(text: Candidate, whole: Candidate) -> bool:
    """`text` is a part of `whole`: less prose, and most of its words in it."""
    return text.prose_words < whole.prose_words and overlap(text.text, whole.text) >= MAX_OVERLAP


def _closer_to_title(text: Candidate, other: Candidate, title: str | None) -> bool:
    """`text` opens with more of the title's words than `other` does."""
    mine, theirs = title_affinity(text.text, title), title_affinity(other.text, title)
    return mine is not None and theirs is not None and mine > theirs


def choose_article(
    kept: Candidate,
    others: Sequence[Candidate],
    title: str | None,
    *,
    growth: float = GROWTH,
    min_cohesion: float = MIN_COHESION,
    title_lead: float = TITLE_LEAD,
) -> tuple[Candidate, str | None]:
    """The extraction that reads as the article, and why it replaced `kept` (None: it did not).
    `others` are tried in order; the title test runs last, over all of them. The keyword
    arguments are the module's thresholds (set otherwise only by bench/cleaning.py's sweep)."""
    chosen, reason = kept, None
    for other in others:
        grown = other.prose_words
        if grown < growth * max(chosen.prose_words, 1.0):
            continue
        if cohesion(chosen.text, other.text, title) < min_cohesion and not _closer_to_title(
            other, chosen, title
        ):
            continue
        reason = (
            f"{other.name} holds {grown:.0f} prose words of the story,"
            f" {chosen.name} {chosen.prose_words:.0f}: the kept one was a part of it, or teasers"
        )
        chosen = other
    base = title_affinity(chosen.text, title)
    if base is not None:
        best, best_affinity = chosen, base
        for other in (kept, *others):
            affinity = title_affinity(other.text, title)
            if (
                affinity is not None
                and affinity > best_affinity
                and other.prose_words >= MIN_TITLE_PROSE
                and not _part_of(other, chosen)
            ):
                best, best_affinity = other, affinity
        if best is not chosen and best_affinity >= base + title_lead:
            reason = (
                f"{best.name} opens on the title's story ({best_affinity:.0%} of its words),"
                f" {chosen.name} does not ({base:.0%}): another story, a promo or teasers"
            )
            chosen = best
    return chosen, reason
