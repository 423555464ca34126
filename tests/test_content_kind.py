"""Content kind is decided once, when a file is read, and repair applies once to every kind with
the run's decode settings: a fragment named `.html` is repaired like the same bytes in `.txt`,
and a whole page's extracted text follows `settings.decode` too."""

from __future__ import annotations

from pathlib import Path

from newsclean.records import SourceDoc
from newsclean.settings import DecodeOptions, Settings
from newsclean.sources import read_file
from newsclean.stages.clean import clean_one

# UTF-8 curly quotes read as Windows-1252 and saved again as UTF-8: the commonest mojibake.
GOOD = "The mayor said it’s a good day for the harbour — the council’s vote on Tuesday settled it."
MOJIBAKE = GOOD.encode("utf-8").decode("cp1252").encode("utf-8")
PAGE = f"""<!DOCTYPE html><html><head><title>Harbour vote</title></head><body>
<nav><a href="/">Home</a> <a href="/news">News</a></nav>
<article><h1>Harbour vote</h1>
<p>{GOOD}</p>
<p>The council approved the new pier by seven votes to two, after a debate that lasted four hours.</p>
<p>Work on the pier is to begin in the spring and to be finished before the summer season opens.</p>
<p>“We have waited for this for a decade,” said the chair of the fishermen's association afterwards.</p>
</article><footer>© Harbour Times</footer></body></html>"""


def only_doc(raw: Path, name: str, options: DecodeOptions) -> SourceDoc:
    [doc] = read_file(raw, name, options)
    assert isinstance(doc, SourceDoc)
    return doc


def test_an_html_fragment_is_repaired_like_text(tmp_path: Path) -> None:
    (tmp_path / "piece.html").write_bytes(b"<p>" + MOJIBAKE + b"</p>")
    (tmp_path / "piece.txt").write_bytes(MOJIBAKE)
    fragment = only_doc(tmp_path, "piece.html", DecodeOptions())
    text = only_doc(tmp_path, "piece.txt", DecodeOptions())
    assert (fragment.kind, text.kind) == ("fragment", "text")
    assert fragment.content == f"<p>{GOOD}</p>" and text.content == GOOD
    assert fragment.mojibake_fixed and text.mojibake_fixed
    cleaned = [clean_one(doc, Settings()) for doc in (fragment, text)]
    assert [getattr(c, "text", None) for c in cleaned] == [GOOD, GOOD]


def test_the_kind_comes_from_the_content_not_the_name(tmp_path: Path) -> None:
    (tmp_path / "saved.txt").write_text(PAGE, encoding="utf-8")
    (tmp_path / "page.html").write_text(PAGE, encoding="utf-8")
    assert only_doc(tmp_path, "saved.txt", DecodeOptions()).kind == "page"
    assert only_doc(tmp_path, "page.html", DecodeOptions()).kind == "page"


def test_decode_settings_reach_a_page_s_extracted_text(tmp_path: Path) -> None:
    (tmp_path / "page.html").write_text(PAGE, encoding="utf-8")
    straight = Settings(decode=DecodeOptions(uncurl_quotes=True))
    for settings, apostrophe in ((Settings(), "’"), (straight, "'")):
        doc = only_doc(tmp_path, "page.html", settings.decode)
        text = getattr(clean_one(doc, settings), "text", "")
        assert f"it{apostrophe}s a good day for the harbour" in text
        assert ("’" in text) == (apostrophe == "’")
