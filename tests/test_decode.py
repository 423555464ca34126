"""Bytes to text: codecs chosen from evidence, mojibake repaired, typography kept."""

from __future__ import annotations

import codecs

from newsclean.cleaners.repair import fix_text
from newsclean.decode import declared_charset, decode_bytes, detect_and_decode
from support import INPUTS


def test_cp1252_file_without_declaration_is_detected() -> None:
    decoded = decode_bytes((INPUTS / "cp1252.txt").read_bytes(), filename="cp1252.txt")
    assert decoded.encoding == "cp1252"
    assert "voted 7–2" in decoded.text
    assert "“It is a day we waited for,” said mayor Inês Dupré" in decoded.text


def test_shift_jis_and_gbk_are_detected() -> None:
    sjis = decode_bytes((INPUTS / "shift_jis.txt").read_bytes(), filename="shift_jis.txt")
    assert "東京都は月曜日、新しい防災計画を発表した。" in sjis.text
    gbk = decode_bytes((INPUTS / "gbk.txt").read_bytes(), filename="gbk.txt")
    assert "上海市政府周一宣布" in gbk.text


def test_byte_order_marks_win() -> None:
    text = "Café “quotes” — ok"
    for data, encoding in (
        (codecs.BOM_UTF8 + text.encode("utf-8"), "utf-8-sig"),
        (text.encode("utf-16"), "utf-16"),
    ):
        decoded = detect_and_decode(data)
        assert (decoded.text, decoded.method, decoded.encoding) == (text, "bom", encoding)


def test_utf16_without_bom_is_recognised() -> None:
    decoded = detect_and_decode("Plain English text, saved as UTF-16.".encode("utf-16-le"))
    assert decoded.text == "Plain English text, saved as UTF-16."


def test_declared_charset_is_used_when_the_bytes_agree() -> None:
    page = '<html><head><meta charset="shift_jis"></head><body>東京</body></html>'.encode("shift_jis")
    assert declared_charset(page) == "shift_jis"
    decoded = decode_bytes(page, filename="p.html")
    assert decoded.method == "declared" and "東京" in decoded.text


def test_wrong_western_declaration_loses_to_valid_utf8() -> None:
    page = '<meta charset="iso-8859-1"><p>Zürich’s café</p>'.encode()
    decoded = decode_bytes(page, filename="p.html")
    assert "Zürich’s café" in decoded.text


def test_mojibake_is_repaired_and_flagged() -> None:
    decoded = decode_bytes((INPUTS / "mojibake.txt").read_bytes(), filename="mojibake.txt")
    assert decoded.repaired
    assert "The minister’s ‘final offer’ was rejected — again — by the union’s négociateurs" in decoded.text


def test_clean_text_is_not_marked_repaired() -> None:
    decoded = decode_bytes("Plain “curly” text.\r\nSecond line.".encode(), filename="a.txt")
    assert not decoded.repaired
    assert decoded.text == "Plain “curly” text.\nSecond line."


def test_fix_text_keeps_curly_quotes_and_full_width_forms() -> None:
    assert fix_text("“Quoted” and ‘single’") == "“Quoted” and ‘single’"
    assert fix_text("ＡＢＣ１２３") == "ＡＢＣ１２３"
    # Control characters are damage, not content.
    assert fix_text("a\x00b\x1bc") == "abc"


def test_fix_text_leaves_entities_to_the_markup_cleaner() -> None:
    assert fix_text("&lt;!-- x --&gt; AT&amp;T") == "&lt;!-- x --&gt; AT&amp;T"


def test_undeclared_cp1252_beats_a_rival_latin_code_page() -> None:
    # charset-normalizer calls these bytes cp852 or mac-iceland ("Syriaĺs", "MADRID Ś Rafael");
    # the cp1252 reading is the plausible one.
    text = "MADRID — Rafael Nadal said Syria’s “border” isn’t closed – yet. Dräger agreed."
    decoded = decode_bytes(text.encode("cp1252"), filename="a.txt")
    assert (decoded.text, decoded.encoding) == (text, "cp1252")


def test_other_scripts_keep_the_detectors_code_page() -> None:
    text = "Президент России заявил в понедельник, что переговоры продолжатся на следующей неделе."
    assert decode_bytes(text.encode("cp1251"), filename="a.txt").text == text


def test_central_european_text_is_not_forced_into_cp1252() -> None:
    text = "Źródło podało, że ministrowie spotkają się w środę. Żółć, gęślą jaźń, łódź i ćma."
    assert decode_bytes(text.encode("cp1250"), filename="a.txt").text == text


def test_currency_sign_mojibake_that_ftfy_misses_is_repaired() -> None:
    broken = "Tickets: VIP 60,000₩, R 50,000₩".encode().decode("cp1252")
    assert fix_text(broken) == "Tickets: VIP 60,000₩, R 50,000₩"
    twice = broken.encode().decode("cp1252")
    assert fix_text(twice) == "Tickets: VIP 60,000₩, R 50,000₩"


def test_fix_text_matches_ftfy_line_by_line() -> None:
    import ftfy

    from newsclean.cleaners.repair import ftfy_config
    from newsclean.settings import DecodeOptions

    config = ftfy_config(DecodeOptions())
    samples = [
        "plain ascii\r\r\nnext\x1b[31m red\x00",
        "Ã  la carte\nline two with caf\u00c3\u00a9 and ﬁsh\ufeff\n",
        "e\u0301t\u00e9 \u2028 \x85 \x93quoted\x94 — fine “ok”",
        "Â é at the start of a line\nœ\n",
    ]
    for text in samples:
        assert fix_text(text) == ftfy.fix_text(text, config), text
