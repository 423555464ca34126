"""The text cleaner: pure steps composed in a fixed order, each switchable in CleaningOptions.

Order matters and is deliberate: markup first (a comment can span lines and hide boilerplate),
then line rules on the original line structure (photo blocks and headers are line-shaped), then
whitespace last so earlier steps still see the layout they reason about.
"""

from __future__ import annotations

from collections.abc import Mapping

from newsclean.cleaners.lines import clean_lines
from newsclean.cleaners.markup import strip_markup
from newsclean.cleaners.types import CleanedText, Metadata, Removal
from newsclean.cleaners.whitespace import normalise_whitespace
from newsclean.settings import CleaningOptions


def clean_text(
    text: str,
    options: CleaningOptions | None = None,
    known: Metadata = Metadata(),
    line_stats: Mapping[str, int] | None = None,
) -> CleanedText:
    """Clean article text (no page around it); `known` metadata (e.g. a feed's title) helps.

    `line_stats` is the document's outlet's line statistics (`newsclean.cleaners.blocks.line_key` -> number
    of that outlet's documents containing the line); with it, lines the outlet repeats go too.
    """
    opts = options or CleaningOptions()
    removals: list[Removal] = []
    if opts.html_comments or opts.markup:
        text, found = strip_markup(text)
        removals.extend(found)
    text, found, meta = clean_lines(text, opts, known, line_stats)
    removals.extend(found)
    if opts.whitespace:
        text = normalise_whitespace(text)
    return CleanedText(text=text, metadata=known.merged(meta), removals=tuple(removals))
