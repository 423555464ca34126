"""Hostile inputs for the reader, on real runs: every input lands in exactly one of
documents.jsonl and quarantine.jsonl, with a clear reason; nothing lost, nothing stuck, nothing
let in (truncated or multi-member gzip, unusable folder entries, oversized files and records,
invalid records, links out of raw/)."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import textwrap
import tracemalloc
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from newsclean.flows.cli import main
from newsclean.records import Quarantined, SourceDoc
from newsclean.settings import DecodeOptions
from newsclean.sources import read_file, scan

WORDS = [
    *("harbour", "council", "ferry", "island", "route", "mayor", "vote", "spring", "crossing", "quay"),
    *("budget", "engineers", "tide", "schedule", "passengers", "weather", "report", "minister"),
    *("bridge", "harbourmaster", "fishermen"),
]


def article(seed: int, paragraphs: int = 4) -> str:
    """A plain news text that cleans to itself (distinct per seed)."""
    lines = [f"Story {seed}: The {WORDS[seed % len(WORDS)]} question returns"]
    for p in range(paragraphs):
        words = [WORDS[(seed * 7 + p * 3 + k * k) % len(WORDS)] for k in range(28)]
        lines.append(f"Paragraph {p} of story {seed} says the " + " ".join(words) + ", officials said.")
    return "\n\n".join(lines) + "\n"


def run(raw: Path, out: Path, *extra: str) -> int:
    return main(["run", "--raw", str(raw), "--out", str(out), "--no-prefect", "--quiet", *extra])


def outputs(out: Path) -> tuple[list[dict], list[dict]]:
    def lines(name: str) -> list[dict]:
        path = out / name
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        return [json.loads(line) for line in text.splitlines() if line.strip()]

    return lines("documents.jsonl"), lines("quarantine.jsonl")


def placement(out: Path) -> dict[str, list[str]]:
    """Each source path's outcomes: "doc" for a document, the reason for a quarantine record."""
    docs, bad = outputs(out)
    placed: dict[str, list[str]] = {}
    for doc in docs:
        placed.setdefault(doc["source_path"], []).append("doc")
    for record in bad:
        placed.setdefault(record["source_path"], []).append(record["reason"])
    return placed


def write_settings(path: Path, **decode: int) -> Path:
    path.write_text(json.dumps({"decode": decode}), encoding="utf-8")
    return path


# --- 4. gzip: every member, integrity checked, truncation quarantined, bounded --------------------


def test_gzip_members_truncation_and_damage_on_a_run(tmp_path: Path) -> None:
    raw, out = tmp_path / "raw", tmp_path / "out"
    raw.mkdir()
    first, second = article(1), article(2)
    (raw / "multi.txt.gz").write_bytes(gzip.compress(first.encode()) + gzip.compress(second.encode()))
    (raw / "padded.txt.gz").write_bytes(gzip.compress(article(3).encode()) + b"\x00" * 512)
    whole = gzip.compress(article(4, paragraphs=40).encode())
    (raw / "truncated.txt.gz").write_bytes(whole[: len(whole) // 2])
    (raw / "no-trailer.txt.gz").write_bytes(whole[:-4])  # the stream's end, without its length
    damaged = bytearray(gzip.compress(article(5).encode()))
    damaged[-8] ^= 0xFF  # the CRC-32 in the trailer
    (raw / "bad-crc.txt.gz").write_bytes(bytes(damaged))
    (raw / "garbage-after.txt.gz").write_bytes(gzip.compress(article(6).encode()) + b"not gzip")

    assert run(raw, out) == 0
    assert placement(out) == {
        "multi.txt.gz": ["doc"],
        "padded.txt.gz": ["doc"],
        "truncated.txt.gz": ["truncated gzip"],
        "no-trailer.txt.gz": ["truncated gzip"],
        "bad-crc.txt.gz": ["corrupt gzip"],
        "garbage-after.txt.gz": ["corrupt gzip"],
    }
    [doc] = [d for d in outputs(out)[0] if d["source_path"] == "multi.txt.gz"]
    assert "Paragraph 3 of story 1" in doc["text"] and "Paragraph 3 of story 2" in doc["text"]


def test_gzip_bomb_is_refused_within_bounded_memory(tmp_path: Path) -> None:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = b"\x00" * (1 << 20)
    data = b"".join(compressor.compress(block) for _ in range(200)) + compressor.flush()  # 200 MiB
    (tmp_path / "bomb.txt.gz").write_bytes(data)
    tracemalloc.start()
    try:
        [result] = read_file(tmp_path, "bomb.txt.gz", DecodeOptions(max_file_bytes=2_000_000))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert isinstance(result, Quarantined) and result.reason == "too large"
    assert peak < 16_000_000


# --- 5 and 11. the walk: every entry it cannot use is quarantined ------------------------------


def _deep_file(raw: Path, total: int) -> str:
    """A file at the end of nested folders whose full path is longer than `total` bytes, made
    with paths relative to an open folder (no call sees the whole path); its relative path."""
    name = "d" * 200
    parts: list[str] = []
    fd = os.open(raw, os.O_RDONLY | os.O_DIRECTORY)
    try:
        while len(str(raw)) + sum(len(p) + 1 for p in parts) < total:
            os.mkdir(name, dir_fd=fd)
            deeper = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = deeper
            parts.append(name)
        leaf = os.open("deep.txt", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
        os.write(leaf, article(9).encode())
        os.close(leaf)
    finally:
        os.close(fd)
    return "/".join(parts)


def test_unusable_entries_of_the_walk_are_quarantined_on_a_run(tmp_path: Path) -> None:
    raw, out, elsewhere = tmp_path / "raw", tmp_path / "out", tmp_path / "elsewhere"
    raw.mkdir()
    elsewhere.mkdir()
    (raw / "good.txt").write_text(article(1), encoding="utf-8")
    (raw / "alias.txt").symlink_to("good.txt")  # a link inside raw/ is fine
    (raw / "gone.txt").symlink_to(raw / "nowhere.txt")
    (raw / "ping.txt").symlink_to(raw / "pong.txt")
    (raw / "pong.txt").symlink_to(raw / "ping.txt")
    (raw / "passwd.txt").symlink_to("/etc/passwd")
    (elsewhere / "secret.txt").write_text(article(2), encoding="utf-8")
    (raw / "secret.txt").symlink_to(elsewhere / "secret.txt")
    (raw / "outside-folder").symlink_to(elsewhere, target_is_directory=True)
    (raw / "inside-folder").symlink_to(raw, target_is_directory=True)  # not entered, nothing lost
    os.mkfifo(raw / "pipe.txt")
    long_folder = _deep_file(raw, 4200)

    assert run(raw, out) == 0
    placed = placement(out)
    too_long = [path for path in placed if path.startswith("d" * 200)]
    assert len(too_long) == 1 and long_folder.startswith(too_long[0])
    assert placed.pop(too_long[0]) == ["path too long"]
    assert placed == {
        "good.txt": ["doc"],
        "alias.txt": ["doc"],
        "gone.txt": ["dangling link"],
        "ping.txt": ["symlink loop"],
        "pong.txt": ["symlink loop"],
        "passwd.txt": ["link outside raw/"],
        "secret.txt": ["link outside raw/"],
        "outside-folder": ["link outside raw/"],
        "pipe.txt": ["not a regular file"],
    }
    docs = (out / "documents.jsonl").read_text(encoding="utf-8")
    assert "root:" not in docs and "story 2" not in docs
    assert run(raw, out) == 0  # and again: the same, nothing stuck
    assert placement(out)["passwd.txt"] == ["link outside raw/"]


# --- 5 and 8, without root's power over permissions: root lists and reads a mode-000 folder --------

# Runs `newsclean run` as root without CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH (dropped from the
# bounding set too, so worker processes cannot regain them): file modes bind it like any user.
_UNPRIVILEGED = textwrap.dedent(
    """
    import ctypes, sys
    libc = ctypes.CDLL(None, use_errno=True)
    DAC = (1, 2)  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
    for cap in DAC:
        if libc.prctl(24, cap, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            sys.exit(77)
    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]
    class Data(ctypes.Structure):
        _fields_ = [(name, ctypes.c_uint32) for name in ("effective", "permitted", "inheritable")]
    header, data = Header(0x20080522, 0), (Data * 2)()
    if libc.capget(ctypes.byref(header), data) != 0:
        sys.exit(77)
    mask = 0xFFFFFFFF & ~sum(1 << cap for cap in DAC)
    data[0].effective &= mask
    data[0].permitted &= mask
    data[0].inheritable &= mask
    if libc.capset(ctypes.byref(header), data) != 0:
        sys.exit(77)
    from newsclean.flows.cli import main
    raw, out, *extra = sys.argv[1:]
    sys.exit(main(["run", "--raw", raw, "--out", out, "--no-prefect", "--quiet", *extra]))
    """
)


def run_unprivileged(raw: Path, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-c", _UNPRIVILEGED, str(raw), str(out), *extra], capture_output=True, text=True
    )
    if done.returncode == 77:
        pytest.skip("cannot drop CAP_DAC_OVERRIDE here (prctl/capset refused)")
    return done


@pytest.fixture
def tree(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """raw/top.txt and raw/sub/a.txt, and an output folder; modes restored afterwards."""
    if sys.platform != "linux":
        pytest.skip("Linux capabilities")
    raw, out = tmp_path / "raw", tmp_path / "out"
    (raw / "sub").mkdir(parents=True)
    (raw / "top.txt").write_text(article(1), encoding="utf-8")
    (raw / "sub" / "a.txt").write_text(article(2), encoding="utf-8")
    try:
        yield raw, out
    finally:
        (raw / "sub").chmod(0o755)
        (raw / "sub" / "a.txt").chmod(0o644)


def test_an_unlistable_folder_is_quarantined_and_keeps_its_documents(tree: tuple[Path, Path]) -> None:
    raw, out = tree
    first = run_unprivileged(raw, out)
    assert first.returncode == 0, first.stderr
    assert placement(out) == {"top.txt": ["doc"], "sub/a.txt": ["doc"]}

    (raw / "sub").chmod(0o000)
    second = run_unprivileged(raw, out)
    assert second.returncode == 0, second.stderr
    # Not deleted: the earlier document stays, the folder is quarantined, a warning says so.
    assert placement(out) == {"top.txt": ["doc"], "sub/a.txt": ["doc"], "sub": ["unlistable folder"]}
    assert "cannot list sub/" in second.stderr
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["quarantine_reasons"] == {"unlistable folder": 1}

    full = run_unprivileged(raw, out, "--full")  # a full run knows nothing earlier to keep
    assert full.returncode == 0, full.stderr
    assert placement(out) == {"top.txt": ["doc"], "sub": ["unlistable folder"]}

    (raw / "sub").chmod(0o755)
    third = run_unprivileged(raw, out)
    assert third.returncode == 0, third.stderr
    assert placement(out) == {"top.txt": ["doc"], "sub/a.txt": ["doc"]}


def test_a_file_made_readable_again_is_read_on_the_next_run(tree: tuple[Path, Path]) -> None:
    raw, out = tree
    (raw / "sub" / "a.txt").chmod(0o000)
    first = run_unprivileged(raw, out)
    assert first.returncode == 0, first.stderr
    assert placement(out) == {"top.txt": ["doc"], "sub/a.txt": ["unreadable"]}
    stamp = (raw / "sub" / "a.txt").stat()
    (raw / "sub" / "a.txt").chmod(0o644)  # size and mtime as they were
    after = (raw / "sub" / "a.txt").stat()
    assert (after.st_size, after.st_mtime_ns) == (stamp.st_size, stamp.st_mtime_ns)
    second = run_unprivileged(raw, out)
    assert second.returncode == 0, second.stderr
    assert placement(out) == {"top.txt": ["doc"], "sub/a.txt": ["doc"]}


# --- 7. sizes: checked before reading; JSON Lines streamed, limits per record ----------------------


def test_size_limits_on_a_run(tmp_path: Path) -> None:
    raw, out = tmp_path / "raw", tmp_path / "out"
    raw.mkdir()
    records = [json.dumps({"id": f"r{k}", "text": article(k)}) for k in range(40)]
    big = json.dumps({"id": "huge", "text": article(99, paragraphs=200)})
    feed = "\n".join([*records[:20], big, *records[20:]]) + "\n"
    (raw / "feed.jsonl").write_text(feed, encoding="utf-8")  # over the file limit: streamed
    (raw / "feed2.jsonl.gz").write_bytes(gzip.compress(feed.encode()))  # so is its gzip
    (raw / "small.jsonl").write_text("\n".join(records[:3]) + "\n", encoding="utf-8")
    (raw / "big.txt").write_text(article(7, paragraphs=300), encoding="utf-8")
    limits = {"max_file_bytes": 20_000, "max_record_bytes": 10_000, "max_jsonl_bytes": 10_000_000}
    settings = write_settings(tmp_path / "settings.json", **limits)
    assert len(feed) > 20_000 and len(big) > 10_000 and max(map(len, records)) < 10_000

    assert run(raw, out, "--settings", str(settings)) == 0
    placed = placement(out)
    for name in ("feed.jsonl", "feed2.jsonl.gz"):
        assert placed[name].count("doc") == 40 and placed[name].count("record too large") == 1
    assert placed["small.jsonl"] == ["doc"] * 3
    assert placed["big.txt"] == ["too large"]
    _, bad = outputs(out)
    huge = [q for q in bad if q["reason"] == "record too large"]
    assert [(q["source_path"], q["record_id"]) for q in huge] == [
        ("feed.jsonl", "21"),
        ("feed2.jsonl.gz", "21"),
    ]

    tight = write_settings(tmp_path / "tight.json", **{**limits, "max_jsonl_bytes": 1000})
    assert run(raw, out, "--settings", str(tight)) == 0
    assert placement(out)["feed.jsonl"] == ["too large"]


def test_a_huge_text_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    with (tmp_path / "huge.txt").open("wb") as handle:
        handle.truncate(1_500_000_000)  # sparse: costs no disk
    tracemalloc.start()
    try:
        [result] = read_file(tmp_path, "huge.txt", DecodeOptions())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert isinstance(result, Quarantined) and result.reason == "too large"
    assert "max_file_bytes" in result.detail and peak < 1_000_000


def test_a_large_jsonl_is_read_a_line_at_a_time(tmp_path: Path) -> None:
    """Over the file limit, a JSON Lines file's records are all read (58 MB had been refused
    whole), lines in other codecs and lone CRs included."""
    lines = [json.dumps({"id": k, "text": f"record {k} " + "word " * 200}) for k in range(300)]
    body = "\n".join(lines[:100]) + "\r" + "\r\n".join(lines[100:200]) + "\n" + "\n".join(lines[200:])
    data = (
        body.encode()
        + b"\n"
        + json.dumps({"id": "latin", "text": "café"}, ensure_ascii=False).encode("cp1252")
    )
    (tmp_path / "big.jsonl").write_bytes(data)
    results = read_file(tmp_path, "big.jsonl", DecodeOptions(max_file_bytes=10_000))
    assert all(isinstance(r, SourceDoc) for r in results), [r for r in results if isinstance(r, Quarantined)]
    assert [r.record_id for r in results if isinstance(r, SourceDoc)] == [str(k) for k in range(300)] + [
        "latin"
    ]
    assert isinstance(results[-1], SourceDoc) and results[-1].content == "café"


# --- 9. records: fields validated, lone surrogates replaced -------------------------------------


def test_invalid_records_and_lone_surrogates_on_a_run(tmp_path: Path) -> None:
    raw, out = tmp_path / "raw", tmp_path / "out"
    raw.mkdir()
    feed = [
        '{"id": "s1", "title": "Bad \\ud800 title", "text": ' + json.dumps(article(1)) + "}",
        '{"id": "s2\\udfff", "outlet": "Wire \\udc80", "text": '
        + json.dumps(article(2) + "End \ud83d\ude00.")
        + "}",
        json.dumps({"id": 7, "text": article(3)}),
        json.dumps({"id": "o1", "text": {"a": "b"}}),
        json.dumps({"id": ["x"], "text": article(4)}),
        json.dumps({"id": "n1", "text": 12345}),
        json.dumps({"id": "b1", "title": True, "text": article(5)}),
        json.dumps({"id": "u1", "url": ["http://x"], "text": article(6)}),
        "[1, 2]",
        "1" * 5000,
        "[" * 100_000,
    ]
    (raw / "feed.jsonl").write_text("\n".join(feed) + "\n", encoding="utf-8")
    for attempt in range(2):  # every run succeeds, not only the first
        assert run(raw, out) == 0, attempt
        docs, bad = outputs(out)
        assert sorted(d["record_id"] for d in docs) == ["7", "s1", "s2\ufffd"]
        by_id = {d["record_id"]: d for d in docs}
        assert by_id["s1"]["title"] == "Bad \ufffd title"
        assert by_id["s2\ufffd"]["outlet"] == "Wire \ufffd"
        assert sorted(((q["record_id"], q["reason"]) for q in bad), key=lambda r: int(r[0])) == [
            ("4", "invalid record"),
            ("5", "invalid record"),
            ("6", "invalid record"),
            ("7", "invalid record"),
            ("8", "invalid record"),
            ("9", "invalid record"),
            ("10", "invalid JSON"),
            ("11", "invalid JSON"),
        ]
        details = {q["record_id"]: q["detail"] for q in bad}
        assert details["4"] == "field 'text' holds dict, not a string"
        assert details["5"] == "field 'id' holds list, not a string"


def test_reading_never_raises(tmp_path: Path) -> None:
    """Every entry of a hostile folder gives results, and scan accounts for each."""
    (tmp_path / "dir.txt").mkdir()
    (tmp_path / "loop.txt").symlink_to("loop.txt")
    (tmp_path / "x.gz").write_bytes(b"\x1f\x8b")
    (tmp_path / "y.jsonl.gz").write_bytes(gzip.compress(b'{"text": "a"}\n')[:-3])
    for rel in ("dir.txt", "loop.txt", "x.gz", "y.jsonl.gz", "missing.txt", "a/" * 3000 + "z.txt"):
        results = read_file(tmp_path, rel, DecodeOptions())
        assert results and all(isinstance(r, Quarantined) for r in results), rel
    assert [entry.rel for entry in scan(tmp_path)] == ["loop.txt", "x.gz", "y.jsonl.gz"]
