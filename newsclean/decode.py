"""Bytes to text: the right codec first, then ftfy for what a wrong codec did upstream.

Layered like a careful browser: a byte-order mark is certain; a charset the document declares is
believed only if the bytes agree with it; strict UTF-8 is tried before any guess because valid
UTF-8 almost never happens by accident; only then is the encoding detected statistically.
After decoding, ftfy repairs mojibake that was baked into the text before we ever saw it (for
an HTML page, in the article text `clean_html` extracts from it: see `decode_bytes`).
"""

from __future__ import annotations

import codecs
import functools
import re
import unicodedata
from dataclasses import dataclass

import ftfy
import ftfy.bad_codecs  # registers the sloppy-windows-1252 codec
import ftfy.fixes
from charset_normalizer import from_bytes
from ftfy.badness import BADNESS_RE
from ftfy.chardata import CONTROL_CHARS, LIGATURES

from newsclean.settings import DecodeOptions

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)

# <meta charset="x">, <meta http-equiv="Content-Type" content="text/html; charset=x">, <?xml encoding="x"?>
_DECLARED_CHARSET = re.compile(
    rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)|<\?xml[^>]+encoding\s*=\s*["']([A-Za-z0-9_.:-]+)""",
    re.IGNORECASE,
)

# Declarations that are often a lie: pages saved as UTF-8 keep their old Western header.
_WEAK_DECLARATIONS = {"iso8859-1", "latin-1", "ascii", "cp1252", "windows-1252"}


@dataclass(frozen=True, slots=True)
class DecodedText:
    """Decoded text plus how it was decoded, which the quarantine and explain output report."""

    text: str
    encoding: str
    method: str  # "bom" | "declared" | "utf-8" | "detected" | "fallback"
    repaired: bool = False  # ftfy changed more than line endings: mojibake or damage was fixed


def _codec_name(label: str) -> str | None:
    try:
        return codecs.lookup(label.strip().lower()).name
    except LookupError:
        return None


def declared_charset(data: bytes) -> str | None:
    """The charset an HTML/XML document declares in its first 4 KB, as a Python codec name."""
    match = _DECLARED_CHARSET.search(data[:4096])
    if not match:
        return None
    label = (match.group(1) or match.group(2)).decode("ascii", "ignore")
    return _codec_name(label)


def _strict(data: bytes, encoding: str) -> str | None:
    try:
        return data.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None


def _utf16_without_bom(data: bytes) -> str | None:
    """UTF-16 saved without a BOM shows as a NUL in every other byte of ASCII text."""
    if len(data) < 4 or len(data) % 2:
        return None
    sample = data[:2000]
    even_nuls = sample[0::2].count(0)
    odd_nuls = sample[1::2].count(0)
    half = len(sample) // 2
    if odd_nuls > 0.3 * half and even_nuls == 0:
        return _strict(data, "utf-16-le")
    if even_nuls > 0.3 * half and odd_nuls == 0:
        return _strict(data, "utf-16-be")
    return None


_C0_CONTROLS = bytes(b for b in range(32) if b < 9 or b > 13)


def looks_binary(data: bytes) -> bool:
    """NUL bytes or many C0 controls mean this is not text in any single-byte or UTF-8 codec."""
    sample = data[:8192]
    if not sample:
        return False
    if b"\x00" in sample:
        return True
    # bytes.translate deletes at C speed; a generator over the bytes cost 0.3 ms a file.
    controls = len(sample) - len(sample.translate(None, _C0_CONTROLS))
    return controls > 0.05 * len(sample)


@functools.lru_cache(maxsize=64)
def _is_latin_single_byte(encoding: str) -> bool:
    """A single-byte code page for Latin script (cp852, mac-iceland, cp1258 ...), from its table.

    The detector's guesses among these are near coin tosses (they share ASCII and differ in a few
    accented letters and punctuation), while for Cyrillic, Greek or CJK the guess names the script.
    """
    try:
        upper = bytes(range(0x80, 0x100)).decode(encoding, errors="ignore")
    except LookupError:
        return False
    if len(upper) < 100:  # multi-byte codecs decode few of these bytes on their own
        return False
    letters = [ch for ch in upper if ch.isalpha()]
    latin = sum(1 for ch in letters if unicodedata.name(ch, "").startswith("LATIN"))
    return bool(letters) and latin >= 0.8 * len(letters)


_ACCENTED_ALONE_OK = frozenset("àèéìòóùÀÈÉ")


def _implausibility(text: str) -> int:
    """How unlike written Latin-script text the non-ASCII characters of `text` are.

    Decoded with the wrong Western code page, curly quotes and dashes come out as letters in
    odd places ("Syriaĺs", "MADRID Ś Rafael", "ItÆs") and letters as symbols or rare letters. Each
    non-ASCII character costs: a letter from outside Latin-1 1, a capital straight after a
    lowercase letter 2, a lone non-ASCII letter as a word 2 (French "à", Italian "è" excepted), a
    symbol or punctuation mark between two letters 2 (the apostrophe excepted), a control or
    box-drawing character 3. Only compared between two decodings of the same bytes.
    """
    cost = 0
    n = len(text)
    for match in _NON_ASCII_RUN.finditer(text):
        for i in range(match.start(), match.end()):
            ch = text[i]
            prev = text[i - 1] if i > 0 else " "
            nxt = text[i + 1] if i + 1 < n else " "
            category = unicodedata.category(ch)
            if category[0] == "L":
                if ch > "\u00ff":
                    cost += 1
                if ch.isupper() and prev.islower():
                    cost += 2
                if not prev.isalnum() and not nxt.isalnum() and ch not in _ACCENTED_ALONE_OK:
                    cost += 2
            elif category[0] in "PS":
                if prev.isalpha() and nxt.isalpha() and ch not in "’'":
                    cost += 2
                if "\u2500" <= ch <= "\u259f":
                    cost += 3
            elif category[0] == "C":
                cost += 3
    return cost


def detect_and_decode(data: bytes, *, is_html: bool = False) -> DecodedText:
    """Decode bytes of unknown encoding; never raises (the last resort replaces bad bytes)."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            text = _strict(data, encoding)
            if text is not None:
                return DecodedText(text, encoding, "bom")

    utf16 = _utf16_without_bom(data)
    if utf16 is not None:
        return DecodedText(utf16, "utf-16", "detected")

    declared = declared_charset(data) if is_html or data.lstrip()[:1] == b"<" else None
    utf8 = _strict(data, "utf-8")
    if declared and not (declared in _WEAK_DECLARATIONS and utf8 is not None):
        text = _strict(data, declared)
        if text is not None:
            return DecodedText(text, declared, "declared")

    if utf8 is not None:
        return DecodedText(utf8, "utf-8", "utf-8")

    best = from_bytes(data).best()
    if best is not None:
        encoding = _codec_name(best.encoding) or best.encoding
        text = _strict(data, encoding)
        if encoding != "cp1252" and _is_latin_single_byte(encoding):
            cp1252 = _strict(data, "cp1252")
            if cp1252 is not None and (text is None or _implausibility(cp1252) <= _implausibility(text)):
                return DecodedText(cp1252, "cp1252", "detected")
        if text is not None:
            return DecodedText(text, encoding, "detected")

    cp1252 = _strict(data, "cp1252")
    if cp1252 is not None:
        return DecodedText(cp1252, "cp1252", "fallback")
    return DecodedText(data.decode("utf-8", errors="replace"), "utf-8", "fallback")


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
        normalization=options.normalization,  # type: ignore[arg-type]
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


def decode_bytes(data: bytes, *, filename: str = "", options: DecodeOptions | None = None) -> DecodedText:
    """Decode a file's bytes and repair its text; HTML-ness is judged from the name and content.

    A whole HTML page (by its name: what the reader hands to `clean_html`) is only decoded,
    unless `options.repair_html_pages`: `clean_html` repairs the article text and metadata it
    extracts, the same characters at a few percent of the length, where scanning the whole
    page for mojibake cost a sixth of trafilatura's extraction time. `repaired` is then False;
    the repair shows as a "mojibake" removal of the cleaned text.
    """
    opts = options or DecodeOptions()
    lowered = filename.lower().removesuffix(".gz")
    is_html = lowered.endswith((".html", ".htm", ".xhtml"))
    decoded = detect_and_decode(data, is_html=is_html)
    if is_html and not opts.repair_html_pages:
        return decoded
    fixed = fix_text(decoded.text, opts)
    plain = decoded.text.replace("\r\n", "\n").replace("\r", "\n")
    return DecodedText(fixed, decoded.encoding, decoded.method, repaired=fixed != plain)
