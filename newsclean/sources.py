"""Reading the raw folder: every file becomes documents to clean or quarantine records, never both.

Readers never raise for bad input: an unreadable, empty, binary, oversized or unknown file, a
broken gzip stream, a broken JSON line or record, and every entry of the folder that cannot be
used (a folder that cannot be listed, a path longer than the system allows, a symlink loop, a
dangling link, a link out of the raw folder) becomes a `Quarantined` record that says why, so
one bad file cannot sink a run and nothing disappears without a trace. Paths are reported
relative to the raw root with POSIX separators, so output does not depend on where the folder
lives.
"""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import re
import stat as stat_mode
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from newsclean.cleaners.dates import normalise_date
from newsclean.cleaners.repair import fix_text
from newsclean.decode import (
    HTML_SUFFIXES,
    content_kind,
    decode_bytes,
    detect_and_decode,
    looks_binary,
    repair_for_kind,
    stream_encoding,
)
from newsclean.records import Quarantined, SourceDoc
from newsclean.settings import DecodeOptions

# The walk (`newsclean.walk`), here under the names the readers and their callers use.
from newsclean.walk import PATH_TOO_LONG, UNLISTABLE_FOLDER, display_path
from newsclean.walk import Refused as _Refused
from newsclean.walk import follow_link as _follow_link
from newsclean.walk import os_problem as _os_problem
from newsclean.walk import scan as scan

TEXT_SUFFIXES = (".txt", ".md", ".text", ".markdown")
JSONL_SUFFIXES = (".jsonl", ".ndjson")


ReadResult = SourceDoc | Quarantined

_CHUNK = 1 << 16  # compressed bytes fed to zlib at a time: bounds each call's copy of what is left
_LINE_BUFFER = 1 << 20


def document_id(source_path: str, record_id: str | None) -> str:
    """Stable across runs and machines: a hash of where the document lives, not of its content,
    so an edited file keeps its id and its history."""
    key = f"{source_path}\x00{record_id or ''}".encode()
    return hashlib.blake2b(key, digest_size=8).hexdigest()


def discover(raw_root: Path) -> list[str]:
    """Every entry under the root a run accounts for, as sorted relative POSIX paths (see `scan`)."""
    return [entry.rel for entry in scan(raw_root)]


def _logical_name(rel_path: str) -> str:
    """The name that says what a file holds: `a.html.gz` holds HTML."""
    name = rel_path.lower()
    return name[: -len(".gz")] if name.endswith(".gz") else name


def _folder_outlet(rel_path: str) -> str | None:
    parts = rel_path.split("/")
    return parts[0] if len(parts) > 1 else None


class _Gunzip(io.RawIOBase):
    """A gzip file's content, decompressed as it is read: every member (concatenated members are
    one stream, RFC 1952), each checked at its end (zlib compares the CRC-32 and the length),
    zero padding between members skipped. Raises `_Refused` for a stream that ends inside a member
    ("truncated gzip"), a damaged one ("corrupt gzip"), or more than `cap` bytes of content ("too
    large", before more is inflated: a zip bomb costs no memory)."""

    def __init__(self, compressed: io.RawIOBase, cap: int) -> None:
        super().__init__()
        self._compressed = compressed
        self._cap = cap
        self._out = 0
        self._input = b""
        self._member: Any = None  # the current member's decompressor, None between members
        self._members = 0
        self._done = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        size = len(buffer)
        while not self._done:
            if not self._input:
                self._input = self._compressed.read(_CHUNK)
                if not self._input:
                    if self._member is not None:
                        raise _Refused("truncated gzip", f"the stream ends inside member {self._members}")
                    self._done = True
                    break
            if self._member is None:
                self._input = self._input.lstrip(b"\x00")
                if not self._input:
                    continue
                self._member = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
                self._members += 1
            try:
                out = self._member.decompress(self._input, min(size, self._cap + 1 - self._out))
            except zlib.error as exc:
                raise _Refused("corrupt gzip", f"member {self._members}: {exc}") from None
            if self._member.eof:
                self._input = self._member.unused_data
                self._member = None
            else:
                self._input = self._member.unconsumed_tail
            self._out += len(out)
            if self._out > self._cap:
                raise _Refused("too large", f"more than {self._cap} bytes after decompression")
            if out:
                buffer[: len(out)] = out
                return len(out)
        return 0


def _read_capped(stream: io.RawIOBase, first: int, cap: int) -> bytes:
    """All of a stream, refused past `cap` bytes. The first read asks for `first` bytes (a
    file's size: a file is read in one call), the rest in pieces (a growing file, a gzip stream)."""
    chunks: list[bytes] = []
    total = 0
    want = min(first, cap) + 1
    while data := stream.read(want):
        chunks.append(data)
        total += len(data)
        if total > cap:
            raise _Refused("too large", f"more than {cap} bytes")
        want = _LINE_BUFFER
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _open_regular(path: str) -> io.FileIO:
    """A regular file opened for reading, never through a symlink swapped in since it was
    examined, never blocking (a FIFO put in its place is refused, not waited on)."""
    flags = os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise _Refused(_os_problem(exc), f"{type(exc).__name__}: {exc.strerror}") from None
    stream = os.fdopen(fd, "rb", buffering=0)
    if not stat_mode.S_ISREG(os.fstat(fd).st_mode):
        stream.close()
        raise _Refused("not a regular file", "it changed while the run read the folder")
    return stream


def _examine(raw_root: Path, on_disk: str) -> tuple[str, os.stat_result]:
    """The path to open and its stat, for an entry that can be read; else `_Refused` with why.
    A symlink must lead to a file inside the raw root; a folder is here only when the walk could
    not list it (see `scan`)."""
    try:
        entry = os.lstat(on_disk)
    except OSError as exc:
        raise _Refused(_os_problem(exc), f"{type(exc).__name__}: {exc.strerror}") from None
    if stat_mode.S_ISLNK(entry.st_mode):
        entry, on_disk = _follow_link(on_disk, os.fspath(raw_root))
    if stat_mode.S_ISDIR(entry.st_mode):
        try:
            with os.scandir(on_disk):
                pass
        except OSError as exc:
            problem = PATH_TOO_LONG if exc.errno == errno.ENAMETOOLONG else UNLISTABLE_FOLDER
            detail = f"{type(exc).__name__}: {exc.strerror}; its files were not read"
            raise _Refused(problem, detail) from None
        raise _Refused(UNLISTABLE_FOLDER, "could not be listed when the run began: read again next run")
    if not stat_mode.S_ISREG(entry.st_mode):
        raise _Refused("not a regular file", f"mode {stat_mode.filemode(entry.st_mode)}")
    return on_disk, entry


_SURROGATES = re.compile("[\ud800-\udfff]")
# Fields that must hold text when present (null counts as absent); an `id` may be an integer.
_TEXT_FIELDS = ("id", "text", "html", "title", "url", "outlet", "source", "published", "date")


def _record_fields(record: dict[str, Any]) -> dict[str, str] | str:
    """A record's text fields, stripped, empty ones left out, a lone surrogate (from a JSON
    escape such as "\\ud800", which no output could encode) replaced by U+FFFD; or why the record
    is invalid (a field holding an object, a list, a boolean or, but for `id`, a number)."""
    fields: dict[str, str] = {}
    for name in _TEXT_FIELDS:
        value = record.get(name)
        if value is None:
            continue
        if not isinstance(value, str):
            if name == "id" and isinstance(value, int) and not isinstance(value, bool):
                value = str(value)
            else:
                return f"field {name!r} holds {type(value).__name__}, not a string"
        value = value.strip()
        if value:
            fields[name] = value if value.isascii() else _SURROGATES.sub("\ufffd", value)
    return fields


def _split_lines(text: str) -> list[str]:
    """JSON Lines: records end at LF, CRLF or CR only; U+2028, U+0085 and the like may stand in
    a JSON string, so `str.splitlines` would cut a record there."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text.split("\n")


def _numbered(lines: Iterable[str]) -> Iterator[tuple[int, str | int]]:
    return enumerate(lines, start=1)


def _too_long(line: str, max_bytes: int) -> int:
    """The line's size in UTF-8 bytes when over `max_bytes`, else 0 (cheaply, for short lines)."""
    if len(line) * 4 <= max_bytes:
        return 0
    size = len(line.encode("utf-8", "surrogatepass"))
    return size if size > max_bytes else 0


def _streamed_lines(
    buffered: io.BufferedReader[Any], encoding: str, max_bytes: int
) -> Iterator[tuple[int, str | int]]:
    """(line number, text) for each line of a large JSON Lines stream, one line in memory at a
    time; (line number, size) for a line over `max_bytes`, which is skipped unread."""
    if encoding.startswith(("utf-16", "utf-32")):
        reader = io.TextIOWrapper(buffered, encoding=encoding, errors="replace", newline="")
        for line_no, line in enumerate(reader, start=1):
            size = _too_long(line, max_bytes)
            yield line_no, size or line.rstrip("\r\n")
        return
    line_no = 0
    while True:
        raw = buffered.readline(max_bytes + 1)
        if not raw:
            return
        line_no += 1
        if line_no == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        if len(raw) > max_bytes and not raw.endswith(b"\n"):
            size = len(raw)
            while raw and not raw.endswith(b"\n"):  # the rest of the line, a piece at a time
                raw = buffered.readline(_LINE_BUFFER)
                size += len(raw)
            yield line_no, size - (1 if raw.endswith(b"\n") else 0)
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = detect_and_decode(raw).text  # a line in another codec: decoded as a file would be
        text = text.rstrip("\r\n")
        for k, piece in enumerate(_split_lines(text)):  # a lone CR ends a line too
            yield line_no + k, piece
        line_no += text.count("\r")


def _read_jsonl(
    lines: Iterable[tuple[int, str | int]],
    rel_path: str,
    encoding: str,
    folder_outlet: str | None,
    options: DecodeOptions,
) -> Iterator[ReadResult]:
    seen_ids: set[str] = set()
    any_line = False
    for line_no, line in lines:
        if isinstance(line, int):
            any_line = True
            detail = f"{line} bytes > max_record_bytes {options.max_record_bytes}"
            yield Quarantined(rel_path, str(line_no), "record too large", detail)
            continue
        if not line.strip():
            continue
        any_line = True
        size = _too_long(line, options.max_record_bytes)
        if size:
            detail = f"{size} bytes > max_record_bytes {options.max_record_bytes}"
            yield Quarantined(rel_path, str(line_no), "record too large", detail)
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            yield Quarantined(rel_path, str(line_no), "invalid JSON", exc.msg)
            continue
        except (ValueError, RecursionError) as exc:  # a number of 5,000 digits; [[[[... too deep
            yield Quarantined(rel_path, str(line_no), "invalid JSON", f"{type(exc).__name__}: {exc}"[:200])
            continue
        if not isinstance(record, dict):
            yield Quarantined(rel_path, str(line_no), "invalid record", "line is not a JSON object")
            continue
        fields = _record_fields(record)
        if isinstance(fields, str):
            yield Quarantined(rel_path, str(line_no), "invalid record", fields)
            continue
        record_id = fields.get("id") or str(line_no)
        if record_id in seen_ids:
            # Two records claiming one id would collide on the document id: keep both, by line.
            record_id = f"{record_id}@{line_no}"
        seen_ids.add(record_id)
        html = fields.get("html")
        body = fields.get("text")
        if body is None and html is None:
            yield Quarantined(rel_path, record_id, "no content", "record has neither 'text' nor 'html'")
            continue
        content = body if body is not None else html or ""
        # Each record is repaired like a file of its kind; its names like a file's text.
        kind = content_kind(content, markup=body is None)
        fixed, repaired = repair_for_kind(content, kind, options)
        outlet = fields.get("outlet") or fields.get("source")
        title = fields.get("title")
        yield SourceDoc(
            id=document_id(rel_path, record_id),
            source_path=rel_path,
            record_id=record_id,
            kind=kind,
            content=fixed,
            encoding=encoding,
            folder_outlet=folder_outlet,
            outlet=None if outlet is None else fix_text(outlet, options),
            url=fields.get("url"),
            title=None if title is None else fix_text(title, options),
            published=normalise_date(fields.get("published") or fields.get("date")),
            mojibake_fixed=repaired,
        )
    if not any_line:
        yield Quarantined(rel_path, None, "empty file", "no records")


def read_file(raw_root: Path, rel_path: str, options: DecodeOptions) -> list[ReadResult]:
    """All documents (or quarantine records) one raw file yields; never raises."""
    shown = display_path(rel_path)  # the name reported, never the one opened
    try:
        return _read(raw_root, rel_path, shown, options)
    except _Refused as refused:
        return [Quarantined(shown, None, refused.reason, refused.detail)]
    except Exception as exc:  # a reader bug must cost one file, not the run
        return [Quarantined(shown, None, "read error", f"{type(exc).__name__}: {exc}")]


def _read(raw_root: Path, rel_path: str, shown: str, options: DecodeOptions) -> list[ReadResult]:
    path, stat = _examine(raw_root, os.path.join(raw_root, rel_path))
    name = _logical_name(shown)
    if not name.endswith(TEXT_SUFFIXES + HTML_SUFFIXES + JSONL_SUFFIXES):
        suffix = Path(name).suffix or "(none)"
        return [Quarantined(shown, None, "unsupported file type", f"suffix {suffix}")]
    jsonl = name.endswith(JSONL_SUFFIXES)
    gzipped = shown.lower().endswith(".gz")
    cap = options.max_jsonl_bytes if jsonl else options.max_file_bytes
    if stat.st_size > cap:  # before reading: a 1.5 GB text file costs a stat, not 1.5 GB
        limit = "max_jsonl_bytes" if jsonl else "max_file_bytes"
        return [Quarantined(shown, None, "too large", f"{stat.st_size} bytes > {limit} {cap}")]
    with _open_regular(path) as stream:
        # A JSON Lines file up to the file limit is decoded whole, like any file; a larger one is
        # streamed a line at a time, its records held to max_record_bytes each.
        if jsonl and not gzipped and stat.st_size > options.max_file_bytes:
            return _read_large_jsonl(stream, shown, options)
        whole = min(cap, options.max_file_bytes)
        try:
            if gzipped:
                raw = _read_capped(_Gunzip(stream, cap), _LINE_BUFFER, whole)
            else:
                raw = _read_capped(stream, stat.st_size, whole)
        except _Refused as refused:
            if not (jsonl and gzipped and refused.reason == "too large" and cap > whole):
                raise
            stream.seek(0)
            return _read_large_jsonl(_Gunzip(stream, cap), shown, options)
    if not raw.strip():
        return [Quarantined(shown, None, "empty file", f"{len(raw)} bytes")]
    # JSON Lines records are repaired one by one, each as its kind.
    decoded = detect_and_decode(raw) if jsonl else decode_bytes(raw, filename=name, options=options)
    if looks_binary(raw) and not decoded.encoding.startswith(("utf-16", "utf-32")):
        return [Quarantined(shown, None, "binary content", "NUL or control bytes")]
    folder_outlet = _folder_outlet(shown)
    if jsonl:
        lines = _numbered(_split_lines(decoded.text))
        return list(_read_jsonl(lines, shown, decoded.encoding, folder_outlet, options))
    if not decoded.text.strip():
        return [Quarantined(shown, None, "empty file", "only whitespace after decoding")]
    return [
        SourceDoc(
            id=document_id(shown, None),
            source_path=shown,
            record_id=None,
            kind=decoded.kind,
            content=decoded.text,
            encoding=decoded.encoding,
            folder_outlet=folder_outlet,
            mojibake_fixed=decoded.repaired,
        )
    ]


def _read_large_jsonl(stream: io.RawIOBase, shown: str, options: DecodeOptions) -> list[ReadResult]:
    """A JSON Lines file over the file limit, a line at a time (see `_streamed_lines`)."""
    buffered = io.BufferedReader(stream, _LINE_BUFFER)
    head = buffered.peek(8192)[:8192]
    encoding = stream_encoding(head)
    if looks_binary(head) and not encoding.startswith(("utf-16", "utf-32")):
        return [Quarantined(shown, None, "binary content", "NUL or control bytes")]
    lines = _streamed_lines(buffered, encoding, options.max_record_bytes)
    return list(_read_jsonl(lines, shown, encoding.removesuffix("-sig"), _folder_outlet(shown), options))
