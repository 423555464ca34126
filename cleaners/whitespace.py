"""Whitespace as a reader expects it: one paragraph per block, one blank line between blocks.

Scraped text marks paragraphs either with blank lines or with single newlines; a hard-wrapped text
(lines cut near a fixed width mid-sentence) marks them only with blank lines. The paragraph
structure is recovered from that evidence rather than assumed.
"""

from __future__ import annotations

import re

_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_ZERO_WIDTH = re.compile(r"[\u200b\u200c\u2060\ufeff]")
_SENTENCE_END = re.compile(r"""[.!?:…"'”’)\]]$""")


def _is_hard_wrapped(lines: list[str]) -> bool:
    """Most lines are of similar width and break mid-sentence: the newlines are not paragraphs."""
    if len(lines) < 3:
        return False
    body = lines[:-1]
    widths = sorted(len(line) for line in body)
    median = widths[len(widths) // 2]
    if not 40 <= median <= 110:
        return False
    near_width = sum(1 for line in body if abs(len(line) - median) <= 15)
    mid_sentence = sum(1 for line in body if not _SENTENCE_END.search(line))
    return near_width >= 0.8 * len(body) and mid_sentence >= 0.5 * len(body)


def normalise_whitespace(text: str) -> str:
    """Collapse spaces (no-break ones included), drop zero-width marks, rebuild paragraphs."""
    text = _ZERO_WIDTH.sub("", text).replace("\r\n", "\n").replace("\r", "\n")
    paragraphs: list[str] = []
    for block in re.split(r"\n\s*\n", text):
        lines = [_SPACES.sub(" ", line).strip() for line in block.split("\n")]
        lines = [line for line in lines if line]
        if not lines:
            continue
        if _is_hard_wrapped(lines):
            paragraphs.append(" ".join(lines))
        else:
            paragraphs.extend(lines)
    return "\n\n".join(paragraphs)
