"""Bytes to text: the right codec first, then ftfy for what a wrong codec did upstream.

Layered like a careful browser: a byte-order mark is certain; a charset the document declares is
believed only if the bytes agree with it; strict UTF-8 is tried before any guess because valid
UTF-8 almost never happens by accident; only then is the encoding detected statistically.
After decoding, the content's kind is decided (page, fragment or text) and ftfy repairs mojibake
that was baked into the text before we ever saw it (for a whole page, in the article text
`clean_html` extracts from it: see `repair_for_kind`).
"""

from __future__ import annotations

import codecs
import functools
import re
import unicodedata
from dataclasses import dataclass

from charset_normalizer import from_bytes

from newsclean.cleaners.markup import is_html_document
from newsclean.cleaners.repair import fix_text
from newsclean.records import ContentKind
from newsclean.settings import DecodeOptions

HTML_SUFFIXES = (".html", ".htm", ".xhtml")

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

_NON_ASCII_RUN = re.compile(r"[^\x00-\x7f]+")

# Declarations that are often a lie: pages saved as UTF-8 keep their old Western header.
_WEAK_DECLARATIONS = {"iso8859-1", "latin-1", "ascii", "cp1252", "windows-1252"}


@dataclass(frozen=True, slots=True)
class DecodedText:
    """Decoded text plus how it was decoded, which the quarantine and explain output report."""

    text: str
    encoding: str
    method: str  # "bom" | "declared" | "utf-8" | "detected" | "fallback"
    repaired: bool = False  # ftfy changed more than line endings: mojibake or damage was fixed
    kind: ContentKind = "text"  # see `content_kind`


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


def stream_encoding(head: bytes) -> str:
    """The codec of a stream too large to decode whole, from its first bytes: a byte-order mark,
    UTF-16 without one (NULs in every other byte), else UTF-8 (JSON's own encoding; a line that
    is not UTF-8 is decoded alone, by `detect_and_decode`)."""
    for bom, encoding in _BOMS:
        if head.startswith(bom):
            return encoding
    sample = head[:2000]
    half = len(sample) // 2
    if half >= 2:
        even_nuls, odd_nuls = sample[0::2].count(0), sample[1::2].count(0)
        if odd_nuls > 0.3 * half and even_nuls == 0:
            return "utf-16-le"
        if even_nuls > 0.3 * half and odd_nuls == 0:
            return "utf-16-be"
    return "utf-8"


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


def content_kind(text: str, *, markup: bool) -> ContentKind:
    """What a decoded text is, decided once when it is read: a whole HTML `page` (doctype, html,
    head or body element) goes through article extraction; `markup` content that is not a page
    (an `.html` file, a feed's `html` field) is a `fragment`, rendered by the text cleaner; the
    rest is `text`."""
    if is_html_document(text):
        return "page"
    return "fragment" if markup else "text"


def repair_for_kind(text: str, kind: ContentKind, options: DecodeOptions) -> tuple[str, bool]:
    """(text, repaired): `fix_text` with `options` for text and fragments. A page is left as it is
    (its extracted article text and metadata are repaired by `clean_html`, the same characters at
    a few percent of the length), unless `options.repair_html_pages`. `repaired` says the repair
    changed more than line endings."""
    if kind == "page" and not options.repair_html_pages:
        return text, False
    fixed = fix_text(text, options)
    plain = text.replace("\r\n", "\n").replace("\r", "\n")
    return fixed, fixed != plain


def decode_bytes(data: bytes, *, filename: str = "", options: DecodeOptions | None = None) -> DecodedText:
    """A file's bytes as repaired text, with its content kind (see `content_kind`): the reader's
    one path from bytes to text. `filename` (an `.html` name: markup, and a declared charset is
    looked for) only hints; the content decides whether it is a whole page."""
    opts = options or DecodeOptions()
    markup = filename.lower().removesuffix(".gz").endswith(HTML_SUFFIXES)
    decoded = detect_and_decode(data, is_html=markup)
    kind = content_kind(decoded.text, markup=markup)
    text, repaired = repair_for_kind(decoded.text, kind, opts)
    return DecodedText(text, decoded.encoding, decoded.method, repaired, kind)
