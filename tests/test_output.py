from __future__ import annotations

import os
from pathlib import Path

from newsclean.output import dumps, pack, read_jsonl, write_jsonl


def test_jsonl_streams_many_lines_and_leaves_an_unchanged_file_untouched(tmp_path: Path) -> None:
    """write_jsonl writes its lines a slice at a time (more lines than one slice here) to a
    temporary sibling; equal content keeps the old file (same inode and mtime), other content
    replaces it, and no temporary file is left behind either way."""
    path = tmp_path / "out" / "documents.jsonl"
    records = [{"id": f"d{i:05d}", "text": f"Zeile {i} – ümlaut", "n": i} for i in range(2_345)]
    assert write_jsonl(path, records) == len(records)
    assert read_jsonl(path) == records
    assert path.read_bytes() == "".join(dumps(r) + "\n" for r in records).encode("utf-8")
    before = path.stat()
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns - 10**9))
    stamped = path.stat()
    assert write_jsonl(path, iter(records)) == len(records)  # a generator works as well
    assert (path.stat().st_ino, path.stat().st_mtime_ns) == (stamped.st_ino, stamped.st_mtime_ns)
    changed = [*records[:-1], {**records[-1], "n": -1}]
    write_jsonl(path, changed, pack)
    assert read_jsonl(path) == changed and path.stat().st_mtime_ns != stamped.st_mtime_ns
    assert write_jsonl(path, []) == 0 and path.read_bytes() == b""
    assert sorted(p.name for p in path.parent.iterdir()) == ["documents.jsonl"]
