"""The text cleaner: pure steps composed in a fixed order, each switchable in CleaningOptions.

Order matters and is deliberate: markup first (a comment can span lines and hide boilerplate),
then line rules on the original line structure (photo blocks and headers are line-shaped), then
whitespace last so earlier steps still see the layout they reason about.
"""

from __future__ import annotations

from newsclean.cleaners.lines import clean_lines
from newsclean.cleaners.markup import strip_markup
from newsclean.cleaners.types import CleanedText, Metadata, Removal
from newsclean.cleaners.whitespace import normalise_whitespace
from newsclean.settings import CleaningOptions


def clean_text(
    text: str,
    options: CleaningOptions | None = None,
    known: Metadata = Metadata(),
) -> CleanedText:
    """Clean article text or an HTML fragment (no page around it): the text, the metadata found
    in it merged over `known` (e.g. a feed's title, which helps find a repeated title), and every
    removed span with its kind and rule. Pure: the same input always gives the same result."""
    opts = options or CleaningOptions()
    removals: list[Removal] = []
    if opts.html_comments or opts.markup:
        text, found = strip_markup(text)
        removals.extend(found)
    text, found, meta = clean_lines(text, opts, known)
    removals.extend(found)
    if opts.whitespace:
        text = normalise_whitespace(text)
    return CleanedText(text=text, metadata=known.merged(meta), removals=tuple(removals))
