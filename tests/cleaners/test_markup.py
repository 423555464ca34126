"""Markup in text: comments of every shape, code, tags, entities; prose with '<' untouched."""

from __future__ import annotations

from newsclean.cleaners.markup import is_html_document, looks_like_html_fragment, strip_markup


def kinds(text: str) -> tuple[str, list[str]]:
    out, removals = strip_markup(text)
    return out, [r.kind for r in removals]


def test_broken_comment_from_the_seed_is_removed() -> None:
    out, found = kinds("!-- Google tag (gtag.js) -->\n\nUS Secretaries Begin Asia Tour")
    assert "gtag" not in out and "!--" not in out and "-->" not in out
    assert "US Secretaries Begin Asia Tour" in out
    assert found == ["html_comment"]


def test_whole_escaped_and_multiline_comments() -> None:
    text = "Before <!-- a\nmultiline\ncomment --> middle &lt;!-- escaped --&gt; after"
    out, found = kinds(text)
    assert out.split() == ["Before", "middle", "after"]
    assert found == ["html_comment", "html_comment"]


def test_script_and_style_bodies_go_with_their_tags() -> None:
    out, found = kinds("Text.<script>var x = '<p>';</script><style>p{}</style> More.")
    assert "var x" not in out and "p{}" not in out
    assert "Text." in out and "More." in out
    assert found.count("script") == 2


def test_stray_tags_removed_and_breaks_kept() -> None:
    out, _ = kinds("First line<br>Second <b>bold</b> line")
    assert out.split("\n") == ["First line", "Second bold line"]


def test_prose_with_angle_brackets_is_not_markup() -> None:
    text = "Inflation was < 2% and growth > 3%; the <b> key is not a tag here: a<b."
    out, found = kinds("Inflation was < 2% and growth > 3% this year.")
    assert out == "Inflation was < 2% and growth > 3% this year."
    assert found == []
    assert not looks_like_html_fragment(text)


def test_entities_are_unescaped_but_bare_ampersands_stay() -> None:
    out, _ = kinds("AT&T and Johnson &amp; Johnson said &quot;no&quot; &#8212; again")
    assert out == 'AT&T and Johnson & Johnson said "no" — again'


def test_fragment_is_rendered_with_paragraph_breaks() -> None:
    out, found = kinds("<div><p>One.</p><p>Two <a href='x'>link</a>.</p><ul><li>Three</li></ul></div>")
    assert [p.strip() for p in out.split("\n") if p.strip()] == ["One.", "Two link.", "Three"]
    assert "markup" in found


def test_whole_document_detection() -> None:
    assert is_html_document("<!DOCTYPE html><html><body>x</body></html>")
    assert not is_html_document("<p>fragment</p>")
