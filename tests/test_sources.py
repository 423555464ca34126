"""Reading raw/: every kind of file, and every bad file quarantined with its reason."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

from newsclean.records import Quarantined, SourceDoc
from newsclean.settings import DecodeOptions
from newsclean.sources import discover, document_id, read_file, scan
from support import INPUTS

OPTS = DecodeOptions()


def _one(raw: Path, rel: str) -> SourceDoc | Quarantined:
    results = read_file(raw, rel, OPTS)
    assert len(results) == 1
    return results[0]


def test_gzip_html_page_is_read_as_a_page() -> None:
    doc = _one(INPUTS, "article.html.gz")
    assert isinstance(doc, SourceDoc)
    assert doc.kind == "page" and doc.encoding == "cp1252"
    assert "“We expect it to last another fifty years,”" in doc.content


def test_jsonl_records_and_bad_lines() -> None:
    results = read_file(INPUTS, "feed.jsonl", OPTS)
    docs = [r for r in results if isinstance(r, SourceDoc)]
    bad = [r for r in results if isinstance(r, Quarantined)]
    assert [d.record_id for d in docs] == ["wire-1", "wire-2"]
    first = docs[0]
    assert (first.title, first.published, first.outlet, first.url) == (
        "Drought Forces Water Limits in Three Towns", "2023-08-14", "Valley Wire", "https://example.org/drought",
    )  # fmt: skip
    assert (docs[0].kind, docs[1].kind) == ("text", "fragment")
    assert [(q.record_id, q.reason) for q in bad] == [("2", "invalid JSON"), ("no-body", "no content")]


def test_empty_binary_and_unknown_files_are_quarantined() -> None:
    assert _one(INPUTS, "empty.txt") == Quarantined("empty.txt", None, "empty file", "0 bytes")
    binary = _one(INPUTS, "photo.txt")
    assert isinstance(binary, Quarantined) and binary.reason == "binary content"
    pdf = _one(INPUTS, "notes.pdf")
    assert isinstance(pdf, Quarantined) and pdf.reason == "unsupported file type"


def test_corrupt_gzip_is_quarantined(tmp_path: Path) -> None:
    (tmp_path / "bad.txt.gz").write_bytes(b"\x1f\x8b\x08\x00not really gzip")
    result = _one(tmp_path, "bad.txt.gz")
    assert isinstance(result, Quarantined) and result.reason == "corrupt gzip"


def test_oversized_gzip_is_refused_without_inflating_it(tmp_path: Path) -> None:
    (tmp_path / "bomb.txt.gz").write_bytes(gzip.compress(b"a" * 5_000_000))
    result = read_file(tmp_path, "bomb.txt.gz", DecodeOptions(max_file_bytes=1_000_000))[0]
    assert isinstance(result, Quarantined) and result.reason == "too large"


def test_outlet_comes_from_the_first_folder(tmp_path: Path) -> None:
    (tmp_path / "the-herald" / "2024").mkdir(parents=True)
    shutil.copy(INPUTS / "cp1252.txt", tmp_path / "the-herald" / "2024" / "a.txt")
    assert discover(tmp_path) == ["the-herald/2024/a.txt"]
    doc = _one(tmp_path, "the-herald/2024/a.txt")
    assert isinstance(doc, SourceDoc) and doc.folder_outlet == "the-herald"


def test_scan_lists_files_with_their_stats_and_does_not_enter_linked_folders(tmp_path: Path) -> None:
    raw, elsewhere = tmp_path / "raw", tmp_path / "elsewhere"
    (raw / "b" / "deep").mkdir(parents=True)
    elsewhere.mkdir()
    (raw / "b" / "deep" / "z.txt").write_text("deep")
    (raw / "a.txt").write_text("top level")
    (elsewhere / "x.txt").write_text("outside")
    (raw / "linked.txt").symlink_to(raw / "b" / "deep" / "z.txt")  # a linked file inside raw/ is input
    (raw / "outside.txt").symlink_to(elsewhere / "x.txt")  # one outside raw/ is reported, not read
    (raw / "loop").symlink_to(raw, target_is_directory=True)  # a linked folder is not entered
    found = scan(raw)
    assert [rel for rel, _, _ in found] == ["a.txt", "b/deep/z.txt", "linked.txt", "outside.txt"]
    sizes = [stat.st_size if stat else None for _, stat, _ in found]
    assert sizes == [len("top level"), len("deep"), len("deep"), None]
    assert [problem for _, _, problem in found] == [None, None, None, "link outside raw/"]
    assert discover(raw) == [rel for rel, _, _ in found]


def test_ids_are_stable_and_distinguish_records() -> None:
    assert document_id("a/b.txt", None) == document_id("a/b.txt", None)
    assert document_id("feed.jsonl", "1") != document_id("feed.jsonl", "2")
    assert len(document_id("x", None)) == 16
