"""Text repair: mojibake and invisible damage undone with ftfy, at a fraction of ftfy's cost.

A pure text function like every cleaner: the reader (`newsclean.decode`) applies it to text and
HTML fragments as they are read, `clean_html` to the article text and metadata it extracts from
a whole page, each with the run's `DecodeOptions`, so every document is repaired exactly once.
"""

from __future__ import annotations

import re
import unicodedata

import ftfy
import ftfy.bad_codecs  # registers the sloppy-windows-1252 codec
import ftfy.fixes
from ftfy.badness import BADNESS_RE
from ftfy.chardata import CONTROL_CHARS, LIGATURES

from newsclean.settings import DecodeOptions


def ftfy_config(options: DecodeOptions) -> ftfy.TextFixerConfig:
    """ftfy's configuration for news text.

    - uncurl_quotes off: curly quotes are how the article was typeset and quotes are evidence
      (shared quotations link coverage of one event).
    - fix_character_width off: full-width forms are correct in CJK text.
    - unescape_html off: HTML entities are the markup cleaner's job, which also removes escaped
      comments; unescaping here first would turn "&lt;!--" into a real comment opener mid-text.
    - explain off: we do not use ftfy's explanations, and building them costs time.
    Everything that repairs damage stays on: encoding fixes, C1 controls, surrogates, control
    characters, line breaks, terminal escapes.
    """
    return ftfy.TextFixerConfig(
        unescape_html=False,
        fix_encoding=options.fix_mojibake,
        uncurl_quotes=options.uncurl_quotes,
        fix_character_width=options.fix_character_width,
        fix_latin_ligatures=options.fix_latin_ligatures,
        normalization=options.normalization,
        explain=False,
    )


# Characters one of ftfy's cheap fixers changes: C1 and other control characters, terminal
# escapes (they start with ESC, a control character), line breaks other than "\n", ligatures
# and lone surrogates. A line without them, that ftfy's badness regex does not flag and that is
# already normalised, comes back from ftfy.fix_text unchanged.
_CONTROL = re.compile("[" + "".join(re.escape(chr(c)) for c in sorted(CONTROL_CHARS)) + "]")
_LIGATURE = re.compile("[" + "".join(re.escape(chr(c)) for c in sorted(LIGATURES)) + "]")
_CHEAP_TRIGGERS = re.compile(
    f"{_CONTROL.pattern}|{_LIGATURE.pattern}|[\\r\\x80-\\x9f\\u2028\\u2029\\ud800-\\udfff]"
)
_NON_ASCII_RUN = re.compile(r"[^\x00-\x7f]+")
# Every alternative of ftfy's BADNESS_RE is at most 7 characters long and contains a non-ASCII
# character, so a match always lies within this many characters of a non-ASCII run.
_BADNESS_REACH = 6
# BADNESS_RE's one anchored alternative, "^[ÃÂ] ": searching from an offset, "^" does not match
# at a line start as it does in ftfy's own per-line search, so that case is tested on its own.
_LINE_START_BAD = re.compile("[\u00c3\u00c2] ")
# UTF-8 for U+2000-U+20FF (punctuation, currency signs) read as Windows-1252: E2 80-83 xx.
# ftfy's badness test misses some of these (the won sign "â‚©" has no character it counts as
# bad), so they survive ftfy; a lead "â" followed by two continuation-byte characters that
# decode as one UTF-8 character is not a sequence real text contains.
_CONTINUATION = bytes(range(0x80, 0xC0)).decode("sloppy-windows-1252")
_PUNCTUATION_MOJIBAKE = re.compile(
    "\u00e2[" + re.escape(_CONTINUATION[:4]) + "][" + re.escape(_CONTINUATION) + "]"
)


class _LineStarts:
    """Start of the line holding an offset, for offsets visited in increasing order.

    Searching back for the previous newline from each offset would rescan a minified page's
    single long line once per match; this only scans the text between two offsets.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.offset = 0
        self.start = 0

    def __call__(self, offset: int) -> int:
        found = self.text.rfind("\n", self.offset, offset)
        if found != -1:
            self.start = found + 1
        self.offset = offset
        return self.start


def _bad_line_starts(text: str) -> set[int]:
    """Starts of the lines ftfy's badness regex flags, searched only around non-ASCII runs."""
    bad: set[int] = set()
    line_start = _LineStarts(text)
    for match in _NON_ASCII_RUN.finditer(text):
        start = line_start(match.start())
        if start in bad:
            continue
        lo = max(start, match.start() - _BADNESS_REACH)
        if BADNESS_RE.search(text, lo, match.end() + _BADNESS_REACH) or (
            lo == start and _LINE_START_BAD.match(text, start)
        ):
            bad.add(start)
    return bad


def _suspect_lines(text: str, config: ftfy.TextFixerConfig) -> tuple[dict[int, int], set[int]]:
    """Spans {start: end} of the lines (with their '\\n') that ftfy could change, and which of
    those (by start) its badness regex flags as mojibake.

    ftfy works segment by segment (a line each); a segment changes only if its badness regex
    fires (mojibake), if a cheap fixer finds its trigger character, or if it is not normalised.
    Those tests run here over the whole text at C speed instead of line by line in Python.
    """
    spans: dict[int, int] = {}

    def add(start: int, offset: int) -> None:
        if start not in spans:
            end = text.find("\n", offset)
            spans[start] = len(text) if end == -1 else end + 1  # ftfy's segment keeps its "\n"

    bad = _bad_line_starts(text)
    for start in bad:
        add(start, start)
    line_start = _LineStarts(text)
    for match in _CHEAP_TRIGGERS.finditer(text):
        add(line_start(match.start()), match.start())
    if config.fix_character_width or config.uncurl_quotes:  # these change many non-ASCII lines
        line_start = _LineStarts(text)
        for match in _NON_ASCII_RUN.finditer(text):
            add(line_start(match.start()), match.start())
    if config.normalization is not None and not unicodedata.is_normalized(config.normalization, text):
        line_start = _LineStarts(text)
        checked: set[int] = set()
        for match in _NON_ASCII_RUN.finditer(text):
            start = line_start(match.start())
            if start in spans or start in checked:
                continue
            checked.add(start)
            end = text.find("\n", match.start())
            line = text[start : len(text) if end == -1 else end]
            if not unicodedata.is_normalized(config.normalization, line):
                add(start, match.start())
    return spans, bad


def _cheap_fixes(segment: str, config: ftfy.TextFixerConfig) -> str:
    """ftfy's fixers after fix_encoding, in ftfy's order, each run only where it has work."""
    if config.fix_c1_controls:
        segment = ftfy.fixes.fix_c1_controls(segment)
    if config.fix_latin_ligatures and _LIGATURE.search(segment):
        segment = _LIGATURE.sub(lambda m: str(LIGATURES[ord(m.group(0))]), segment)
    if config.fix_line_breaks:
        segment = ftfy.fixes.fix_line_breaks(segment)
    if config.fix_surrogates:
        segment = ftfy.fixes.fix_surrogates(segment)
    if config.remove_terminal_escapes and "\x1b" in segment:
        segment = ftfy.fixes.remove_terminal_escapes(segment)
    if config.remove_control_chars:
        segment = _CONTROL.sub("", segment)
    if config.normalization is not None:
        segment = unicodedata.normalize(config.normalization, segment)
    return segment


def _fix_segment(segment: str, flagged: bool, config: ftfy.TextFixerConfig) -> str:
    """What ftfy.fix_text makes of one line, without its costly steps when they cannot apply.

    A line that is not mojibake needs only the cheap fixers; ftfy would then check the result
    for mojibake once more, and so does this (falling back to ftfy itself if it is flagged).
    """
    if flagged or config.fix_character_width or config.uncurl_quotes:
        return ftfy.fix_text(segment, config)
    fixed = _cheap_fixes(segment, config)
    if fixed != segment and config.fix_encoding and _bad_line_starts(fixed):
        return ftfy.fix_text(segment, config)
    return fixed


def _fix_punctuation_mojibake(text: str) -> str:
    """Repair UTF-8 currency signs read as Windows-1252 that ftfy leaves ("â‚©" for "₩")."""
    if "\u00e2" not in text:
        return text

    def _decode(match: re.Match[str]) -> str:
        start = text.rfind("\n", 0, match.start()) + 1
        end = text.find("\n", match.end())
        if BADNESS_RE.search(text, start, len(text) if end == -1 else end):
            return match.group(0)  # a garble ftfy gave up on: one repaired sign would not help
        try:
            char = match.group(0).encode("sloppy-windows-1252").decode("utf-8")
        except UnicodeError:
            return match.group(0)
        # Only currency signs: ftfy repairs the rest of the block itself, and inside a garble it
        # cannot untangle, a lone repaired quote mark would only change what it leaves.
        return char if "\u20a0" <= char <= "\u20cf" else match.group(0)

    return _PUNCTUATION_MOJIBAKE.sub(_decode, text)


def fix_text(text: str, options: DecodeOptions | None = None) -> str:
    """Repair mojibake and invisible damage with newsclean's ftfy configuration.

    Same result as `ftfy.fix_text` (which fixes a text line by line), but ftfy only runs on the
    lines it could change (see `_suspect_lines`): on a whole HTML page that is a few lines out of
    thousands, and running ftfy over every line of a page cost more than extracting its article.
    Then UTF-8 punctuation and currency signs read as Windows-1252 that ftfy misses are repaired.
    """
    config = ftfy_config(options or DecodeOptions())
    if text.isascii() and not _CHEAP_TRIGGERS.search(text):
        return text
    if any(len(line) > config.max_decode_length for line in text.split("\n")):
        fixed = ftfy.fix_text(text, config)  # ftfy cuts such lines itself: let it
    else:
        spans, bad = _suspect_lines(text, config)
        pieces: list[str] = []
        done = 0
        for start, end in sorted(spans.items()):
            pieces += [text[done:start], _fix_segment(text[start:end], start in bad, config)]
            done = end
        fixed = "".join(pieces) + text[done:] if pieces else text
    return _fix_punctuation_mojibake(fixed) if config.fix_encoding else fixed
