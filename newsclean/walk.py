"""Walking the raw folder: every entry a run must account for, with its stat or why it cannot be
used, and the names paths are reported by.

Apart from the readers (`newsclean.sources`) so that a run's plan, which only walks the folder
and compares stamps, imports nothing of the cleaners: a scheduled run that finds nothing new
ends after the plan, and the readers' imports (ftfy, charset-normalizer, the cleaners) would
cost it more than its walk.
"""

from __future__ import annotations

import errno
import functools
import hashlib
import os
import stat as stat_mode
from pathlib import Path
from typing import NamedTuple

# Why the walk could not use an entry (the quarantine reasons of `scan` and `read_file`).
UNLISTABLE_FOLDER = "unlistable folder"
PATH_TOO_LONG = "path too long"
SYMLINK_LOOP = "symlink loop"
DANGLING_LINK = "dangling link"
LINK_OUTSIDE = "link outside raw/"


class ScanEntry(NamedTuple):
    """An entry of the raw folder: its relative POSIX path; its stat, None when the entry
    cannot be used as it is (reading it quarantines it with the reason); and `problem`, the
    reason when the walk itself found it unusable (`UNLISTABLE_FOLDER`, `PATH_TOO_LONG`, ...)."""

    rel: str
    stat: os.stat_result | None
    problem: str | None = None


class Refused(Exception):
    """Raised for an entry the walk or the reader refuses; becomes the file's quarantine record."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(reason, detail)
        self.reason, self.detail = reason, detail


def os_problem(exc: OSError, *, link: bool = False) -> str:
    """The quarantine reason for an entry the system refuses."""
    if exc.errno == errno.ENAMETOOLONG:
        return PATH_TOO_LONG
    if exc.errno == errno.ELOOP:
        return SYMLINK_LOOP
    if link and exc.errno in (errno.ENOENT, errno.ENOTDIR):
        return DANGLING_LINK
    return "unreadable"


@functools.lru_cache(maxsize=8)
def _real_root(root: str) -> str:
    return os.path.realpath(root)


def _inside(real_path: str, real_root: str) -> bool:
    return real_path == real_root or real_path.startswith(real_root.rstrip("/") + "/")


def follow_link(path: str, root: str) -> tuple[os.stat_result, str]:
    """A symlink's target, its stat and real path, when it exists and stays inside the raw root;
    else `Refused` with why."""
    try:
        target_stat = os.stat(path)
    except OSError as exc:
        raise Refused(os_problem(exc, link=True), f"{type(exc).__name__}: {exc.strerror}") from None
    target = os.path.realpath(path)
    if not _inside(target, _real_root(root)):
        raise Refused(LINK_OUTSIDE, f"points to {display_path(target)}")
    return target_stat, target


def scan(raw_root: Path) -> list[ScanEntry]:
    """Every entry under the root the run must account for, as sorted relative POSIX paths:
    each regular file with its stat, and each entry that cannot be used with None (reading it
    quarantines it with the reason): a folder that cannot be listed (`problem` says so: its
    earlier documents are not deleted), a path too long to open, a symlink loop, a dangling
    link, a link out of the root, a FIFO or device.

    Symlinks to files inside the root count; symlinked folders are not entered (a link cycle
    must not loop; one inside the root is read where it is). The root itself that cannot be
    listed raises `OSError`: a run must fail rather than call every earlier file deleted. One
    `os.scandir` walk: pathlib's `rglob`, `is_file` and `relative_to`, then a second `stat` per
    file, cost a scheduled run 0.9 s per 10k files before it had found any work to do.

    A root given as an object-store URL (`is_store_url`) is listed by `scan_store`."""
    if is_store_url(raw_root):
        return scan_store(str(raw_root))
    root = os.fspath(raw_root)
    found: list[ScanEntry] = []
    pending = [(root, "")]
    while pending:
        folder, prefix = pending.pop()
        try:
            with os.scandir(folder) as listing:
                entries = list(listing)
        except OSError as exc:
            if not prefix:
                raise
            problem = PATH_TOO_LONG if exc.errno == errno.ENAMETOOLONG else UNLISTABLE_FOLDER
            found.append(ScanEntry(prefix[:-1], None, problem))
            continue
        for entry in entries:
            rel = prefix + entry.name
            try:
                if entry.is_dir(follow_symlinks=False):
                    pending.append((entry.path, rel + "/"))
                    continue
                link = entry.is_symlink()
            except OSError as exc:
                found.append(ScanEntry(rel, None, os_problem(exc)))
                continue
            if link:
                try:
                    stat: os.stat_result | None = follow_link(entry.path, root)[0]
                except Refused as refused:
                    found.append(ScanEntry(rel, None, refused.reason))
                    continue
                if stat is not None and stat_mode.S_ISDIR(stat.st_mode):
                    continue  # a linked folder inside the root: its files are found where they are
            else:
                try:
                    stat = entry.stat(follow_symlinks=False)
                except OSError as exc:
                    found.append(ScanEntry(rel, None, os_problem(exc)))
                    continue
            if stat is not None and not stat_mode.S_ISREG(stat.st_mode):
                stat = None  # a FIFO, socket or device: reading it says so, and never opens it
            found.append(ScanEntry(rel, stat))
    found.sort(key=lambda item: item[0])
    return found


def display_path(rel_path: str) -> str:
    """A path as it appears in output and state: a file name that is not valid UTF-8 (Python keeps
    its bytes as surrogates) gets backslash escapes, since JSON and SQLite need real text."""
    return rel_path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


# An object-store raw prefix (`--raw s3://bucket/prefix`): listed through fsspec, never opened
# here. Why an object's key cannot be used as a path (the run quarantines it with this reason).
UNSAFE_KEY = "unsafe object key"


def is_store_url(location: object) -> bool:
    """Whether a raw or output location is an fsspec URL (`s3://...`, any `scheme://` but a plain
    `file://`) rather than a local folder."""
    text = str(location) if isinstance(location, str) else ""
    scheme, sep, _ = text.partition("://")
    return bool(sep) and scheme.isidentifier() and scheme != "file"


def unsafe_key(rel: str) -> str | None:
    """Why an object's key (relative to the raw prefix) cannot be a path under the raw folder:
    an empty, `.` or `..` segment (a local copy would land elsewhere, or on another key's file),
    a NUL; None when it can."""
    if "\x00" in rel:
        return "a NUL in the key"
    for segment in rel.split("/"):
        if segment in ("", ".", ".."):
            return f"a segment {segment!r} in the key" if segment else "an empty segment in the key"
    return None


def store_stamp(info: dict[str, object]) -> int:
    """An object's change stamp (in place of a file's modification time): its ETag (changes with
    the content on every S3-compatible store), else its modification time, hashed to a 63-bit
    integer the run state stores like a time."""
    tag = info.get("ETag") or info.get("etag") or info.get("LastModified") or info.get("mtime") or ""
    digest = hashlib.blake2b(str(tag).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1


def scan_store(url: str) -> list[ScanEntry]:
    """`scan` for an object-store prefix: one `find(detail=True)` listing, each object under the
    prefix with a stat made of its size and `store_stamp` (the change stamp the plan compares).
    Nothing outside the prefix (`s3://b/raw` never lists `s3://b/raw2/...`); a folder marker (an
    empty key ending in `/`) is no file; a key `unsafe_key` refuses is an entry with None
    (reading it quarantines it with the reason). A prefix that does not exist raises `FileNotFoundError`:
    a run must fail rather than call every earlier file deleted."""
    import fsspec  # deferred: only a run on an object store lists one

    fs, root = fsspec.core.url_to_fs(url)
    root = root.rstrip("/")
    fs.invalidate_cache(root)
    listed = fs.find(root, detail=True)
    if not listed and not fs.exists(root):
        raise FileNotFoundError(f"raw prefix not found: {url}")
    prefix = root + "/"
    objects: dict[str, dict[str, object]] = {}
    for name, info in listed.items():
        if info.get("type", "file") != "file" or not name.startswith(prefix):
            continue
        rel = name[len(prefix) :]
        if rel.endswith("/") and not info.get("size"):
            continue  # a folder marker
        objects[rel] = info
    found: list[ScanEntry] = []
    for rel, info in objects.items():
        if unsafe_key(rel) is not None:
            found.append(ScanEntry(rel, None, UNSAFE_KEY))
            continue
        size = int(info.get("size") or 0)  # type: ignore[call-overload]
        stamp = store_stamp(info)
        fields = (stat_mode.S_IFREG | 0o444, 0, 0, 1, 0, 0, size, 0, 0, 0)
        found.append(ScanEntry(rel, os.stat_result(fields, {"st_mtime_ns": stamp, "st_ctime_ns": 0})))
    found.sort(key=lambda item: item[0])
    return found
