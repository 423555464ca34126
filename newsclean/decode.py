"""Bytes to text: the right codec first, then ftfy for what a wrong codec did upstream.

Layered like a careful browser: a byte-order mark is certain; a charset the document declares is
believed only if the bytes agree with it; strict UTF-8 is tried before any guess because valid
UTF-8 almost never happens by accident; only then is the encoding detected statistically.
After decoding, ftfy repairs mojibake that was baked into the text before we ever saw it.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

import ftfy
from charset_normalizer import from_bytes

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

# charset-normalizer's single-byte Western guesses are a coin toss between near-identical code
# pages; cp1252 is the superset that real Western text was written in.
_WESTERN_SINGLE_BYTE = {
    "latin_1", "iso8859_15", "cp1250", "cp1252", "mac_roman", "cp850", "cp437", "iso8859_2",
    "mac_latin2", "cp1257", "iso8859_9", "cp1254", "iso8859_13",
}  # fmt: skip


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


def looks_binary(data: bytes) -> bool:
    """NUL bytes or many C0 controls mean this is not text in any single-byte or UTF-8 codec."""
    sample = data[:8192]
    if not sample:
        return False
    if b"\x00" in sample:
        return True
    controls = sum(1 for b in sample if b < 9 or 13 < b < 32)
    return controls > 0.05 * len(sample)


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
        if encoding in _WESTERN_SINGLE_BYTE:
            cp1252 = _strict(data, "cp1252")
            if cp1252 is not None:
                return DecodedText(cp1252, "cp1252", "detected")
        text = _strict(data, encoding)
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


def fix_text(text: str, options: DecodeOptions | None = None) -> str:
    """Repair mojibake and invisible damage with newsclean's ftfy configuration."""
    return ftfy.fix_text(text, ftfy_config(options or DecodeOptions()))


def decode_bytes(data: bytes, *, filename: str = "", options: DecodeOptions | None = None) -> DecodedText:
    """Decode a file's bytes and repair its text; HTML-ness is judged from the name and content."""
    opts = options or DecodeOptions()
    lowered = filename.lower().removesuffix(".gz")
    is_html = lowered.endswith((".html", ".htm", ".xhtml"))
    decoded = detect_and_decode(data, is_html=is_html)
    fixed = fix_text(decoded.text, opts)
    plain = decoded.text.replace("\r\n", "\n").replace("\r", "\n")
    return DecodedText(fixed, decoded.encoding, decoded.method, repaired=fixed != plain)
