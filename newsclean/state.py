"""The run's memory between runs: an SQLite file under the output folder.

A scheduled run must not redo yesterday's work. The state remembers, per raw file, its size and
modification time and what cleaning it produced (documents and quarantine records as the batch
wrote them, each document's signature and line keys as bytes beside it: `StoredResult`). A later
run re-cleans only files that are new or changed and forgets deleted ones. It also keeps the
grouping model the last run published (`model`: the statistics snapshot, the LSH indexes, every
document's unit and cluster; `newsclean.dedup.incremental`), so a later run adds its new
documents to the grouping instead of regrouping everything. Writes happen in one
transaction per run: a crash leaves the previous state intact. It also remembers what the last
complete run wrote (a key for the results, settings and code, and each output file's size and
modification time), so a run that finds nothing new, changed or deleted, with the outputs untouched
since, has nothing to regroup or rewrite.

Cached results are only valid for the settings and code that made them; a fingerprint of both is
kept, and a mismatch empties the store (the next run is then a full one).
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import itemgetter
from pathlib import Path
from typing import Any, NamedTuple

from newsclean.output import pack, unpack

SCHEMA_VERSION = "3"  # 2: signatures and line keys in BLOB columns of their own; 3: files.ctime_ns
STATE_DIR = ".newsclean"
STATE_FILE = "state.sqlite"

# A statement of its own: a store of another schema has its files table dropped and made again.
_FILES_TABLE = """
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    ctime_ns INTEGER NOT NULL
)
"""
# The grouping model (`newsclean.dedup.incremental.GroupingModel`): parts by name, as bytes.
_MODEL_TABLE = "CREATE TABLE IF NOT EXISTS model (key TEXT PRIMARY KEY, value BLOB NOT NULL)"
# The files whose stored results changed (new, changed or deleted) since the kept model was
# made: what an incremental grouping takes in and out. Every change of a file's results adds
# its path; storing a model empties it, in one transaction. A model made by other code is never
# used with it (the outputs key covers this module), so a store older than the table is safe.
_UNGROUPED_TABLE = "CREATE TABLE IF NOT EXISTS ungrouped (path TEXT PRIMARY KEY)"
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
{_FILES_TABLE};
CREATE TABLE IF NOT EXISTS outputs (key TEXT PRIMARY KEY, value TEXT NOT NULL);
{_MODEL_TABLE};
{_UNGROUPED_TABLE};
"""
# Its own statement: a store of another schema has its results table dropped and made again.
_RESULTS_TABLE = """
CREATE TABLE IF NOT EXISTS results (
    path TEXT NOT NULL,
    seq INTEGER NOT NULL,
    payload TEXT NOT NULL,
    signature BLOB,
    line_keys BLOB,
    PRIMARY KEY (path, seq)
)
"""


@dataclass(frozen=True, slots=True)
class StoredResult:
    """One result line of a raw file: the JSON record (a document or a quarantine record) and,
    for a document, its signature and line keys as bytes (`DocSignature.to_bytes`,
    `LineKeys.to_bytes`).

    Why apart from the record: the grouping reads every signature on every run, and the
    signature is most of a document's stored bytes. Inside the JSON (as base64) each read
    parsed and decoded every text and signature, twice a run; in columns of their own, the
    grouping's read takes the signature's bytes as they are, and the read for the final records
    leaves them on disk."""

    line: dict[str, Any]
    signature: bytes | None = None
    line_keys: bytes | None = None


class FileStamp(NamedTuple):
    """What says a file is unchanged without reading it: its size, modification time and status
    change time (a chmod changes only the last: a file quarantined as unreadable is read again
    once it is readable). A tuple: the plan compares a whole folder's stats with the stored
    stamps as plain tuples, in C."""

    size: int
    mtime_ns: int
    ctime_ns: int


# The tables a run reads before it knows whether it has any work: a run's first open checks only
# these (`RunState.open(check=True, tables=...)`), and the whole store once the run has work.
# At 100k files the whole check reads the whole store (1.3 GB): 4 s with it cached, a minute
# without, on every scheduled run that then finds nothing new.
PLAN_TABLES = ("meta", "files", "outputs")


def state_path(out_dir: Path) -> Path:
    return out_dir / STATE_DIR / STATE_FILE


# The grouping model's scoring-row segments (`newsclean.dedup.rows`): folders in the state folder,
# named by the model; a group stage leaves its new ones in `<work>/rows/` with the list of those
# its model uses (`<work>/rows.json`), and the write stage moves them in (`_keep_model`).
ROWS_DIR = "rows"
ROWS_LIST = "rows.json"


def rows_folder(out_dir: Path) -> Path:
    return out_dir / STATE_DIR / ROWS_DIR


# The model's live part (documents, units, clusters, edges: ~100 MB at 100k), rewritten by every
# run: a file in the state folder, which the store's model part names. As a blob in the store it
# was written twice (journal, then table) and read back whole, a second of every run at 100k.
# The group stage leaves it in `<work>/model/`; the write stage moves it in (`_keep_model`).
MODEL_DIR = "model"


def model_folder(out_dir: Path) -> Path:
    return out_dir / STATE_DIR / MODEL_DIR


def model_file(out_dir: Path, name: bytes) -> Path:
    """The state folder's model file a model part names; `ValueError` for a name that is not a
    plain file name (a damaged or older store: the run then regroups everything)."""
    text = name.decode("utf-8")
    if not text.startswith("live-") or not text.isprintable() or "/" in text:
        raise ValueError(f"not a model file name: {text[:40]!r}")
    return model_folder(out_dir) / text


def store_model(out_dir: Path, parts: dict[str, bytes]) -> None:
    """Keep the grouping model a run has just published outputs from, for the next run: the
    parts given replace theirs (a part not given, e.g. an unchanged snapshot, is kept), and the
    changes it took in leave `ungrouped`. Opened without the fingerprint (the write stage
    stores it), in one transaction."""
    db = sqlite3.connect(state_path(out_dir), isolation_level=None)
    try:
        db.execute(_MODEL_TABLE)
        db.execute(_UNGROUPED_TABLE)
        with _Transaction(db):
            db.executemany("INSERT OR REPLACE INTO model VALUES (?, ?)", sorted(parts.items()))
            db.execute("DELETE FROM ungrouped")  # the model now holds every change
    finally:
        db.close()


def read_signed_documents(out_dir: Path) -> list[tuple[dict[str, Any], bytes]]:
    """Every document the run state of `out_dir` holds (its stored record) with its signature,
    read-only: for tools that inspect a finished run (`newsclean why`, bench/regroup.py).
    `RunState.open` is not used: it needs the run's fingerprint, and a mismatch empties the store."""
    path = state_path(out_dir)
    if not path.is_file():
        raise FileNotFoundError(f"no run state in {out_dir} (run newsclean there first)")
    db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        rows = db.execute("SELECT payload, signature FROM results WHERE signature IS NOT NULL").fetchall()
    finally:
        db.close()
    found = [(unpack(payload).get("document"), signature) for payload, signature in rows]
    return [(document, signature) for document, signature in found if document is not None]


class RunState:
    """Open with `RunState.open(out_dir, fingerprint)`; use as a context manager."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.db = connection
        # Set when `open(check=True)` found the store unreadable and set it aside: the message.
        self.recovered: str | None = None

    @classmethod
    def open(
        cls,
        out_dir: Path,
        fingerprint: str,
        *,
        reset: bool = False,
        check: bool = False,
        tables: Sequence[str] | None = None,
    ) -> RunState:
        """Open (creating) the store; reset it when asked or when the fingerprint differs. With
        `check` (a run's first open), a store that SQLite cannot read or that fails its
        `quick_check` (of `tables` only, when given) is moved aside (`set_aside_if_corrupt`)
        and a new one started: the run is then a full one, and `recovered` says so."""
        path = state_path(out_dir)
        path.parent.mkdir(parents=True, exist_ok=True)
        recovered = set_aside_if_corrupt(path, tables) if check else None
        db = sqlite3.connect(path, isolation_level=None)  # explicit transactions below
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(_SCHEMA)
        db.execute(_RESULTS_TABLE)
        state = cls(db)
        stored = dict(db.execute("SELECT key, value FROM meta").fetchall())
        expected = {"schema": SCHEMA_VERSION, "fingerprint": fingerprint}
        if reset or stored != expected:
            with state.transaction():
                db.execute("DROP TABLE files")  # it may have another schema's columns
                db.execute(_FILES_TABLE)
                db.execute("DROP TABLE results")  # it may have another schema's columns
                db.execute(_RESULTS_TABLE)
                db.execute("DELETE FROM outputs")
                db.execute("DELETE FROM model")
                db.execute("DELETE FROM ungrouped")
                db.execute("DELETE FROM meta")
                db.executemany("INSERT INTO meta VALUES (?, ?)", sorted(expected.items()))
        state.recovered = recovered
        return state

    def __enter__(self) -> RunState:
        return self

    def __exit__(self, *exc: object) -> None:
        self.db.close()

    def transaction(self) -> _Transaction:
        return _Transaction(self.db)

    def stamps(self) -> dict[str, FileStamp]:
        rows = self.db.execute("SELECT path, size, mtime_ns, ctime_ns FROM files").fetchall()
        # Built by C-level iteration (no Python frame per file): 100k files on every run.
        stamps = map(FileStamp._make, map(itemgetter(slice(1, 4)), rows))
        return dict(zip(map(itemgetter(0), rows), stamps, strict=True))

    def replace_file(self, path: str, stamp: FileStamp, results: Iterable[StoredResult]) -> None:
        """Store one file's fresh results (call inside a transaction)."""
        self.db.execute("DELETE FROM results WHERE path = ?", (path,))
        self.db.executemany(
            "INSERT INTO results (path, seq, payload, signature, line_keys) VALUES (?, ?, ?, ?, ?)",
            [(path, seq, pack(r.line), r.signature, r.line_keys) for seq, r in enumerate(results)],
        )
        self.db.execute(
            "INSERT OR REPLACE INTO files (path, size, mtime_ns, ctime_ns) VALUES (?, ?, ?, ?)",
            (path, stamp.size, stamp.mtime_ns, stamp.ctime_ns),
        )
        self.db.execute("INSERT OR IGNORE INTO ungrouped VALUES (?)", (path,))

    def forget(self, paths: Iterable[str]) -> None:
        """Drop deleted files and their results (call inside a transaction)."""
        rows = [(p,) for p in paths]
        self.db.executemany("DELETE FROM results WHERE path = ?", rows)
        self.db.executemany("DELETE FROM files WHERE path = ?", rows)
        self.db.executemany("INSERT OR IGNORE INTO ungrouped VALUES (?)", rows)

    def ungrouped(self) -> tuple[list[str], list[str]]:
        """The files whose results changed since the kept grouping model was made: (those the
        store has, new or changed; those it no longer has, deleted), each sorted. Read from the
        changes themselves, not by comparing every file's stamp with the model's."""
        query = "SELECT u.path, f.path IS NOT NULL FROM ungrouped u LEFT JOIN files f ON f.path = u.path"
        changed: list[str] = []
        gone: list[str] = []
        for path, present in self.db.execute(query + " ORDER BY u.path"):
            (changed if present else gone).append(path)
        return changed, gone

    def written_outputs(self) -> dict[str, Any] | None:
        """What the last complete run wrote (see `record_outputs`), or None."""
        row = self.db.execute("SELECT value FROM outputs WHERE key = 'last'").fetchone()
        return json.loads(row[0]) if row else None

    def record_outputs(self, record: dict[str, Any]) -> None:
        """Remember the outputs a run has just finished writing (call inside a transaction)."""
        value = json.dumps(record, sort_keys=True)
        self.db.execute("INSERT OR REPLACE INTO outputs VALUES ('last', ?)", (value,))

    def forget_outputs(self) -> None:
        """The stored results are about to change: the outputs on disk no longer match them
        (call inside the transaction that changes them, so a crash before the outputs are
        rewritten cannot leave a record that calls stale outputs current)."""
        self.db.execute("DELETE FROM outputs")

    def model_parts(self) -> dict[str, bytes]:
        """The grouping model the last complete run left (`store_model`): its parts by name."""
        return {key: bytes(value) for key, value in self.db.execute("SELECT key, value FROM model")}

    def located_results(
        self, *, signatures: bool = False, line_keys: bool = False, paths: Iterable[str] | None = None
    ) -> Iterator[tuple[str, int, StoredResult]]:
        """`results` with each result's place (path, seq); only those of `paths` when given."""
        columns = ", ".join(
            (
                "path",
                "seq",
                "payload",
                "signature" if signatures else "NULL",
                "line_keys" if line_keys else "NULL",
            )
        )
        if paths is None:
            rows: Iterable[tuple[Any, ...]] = self.db.execute(
                f"SELECT {columns} FROM results ORDER BY path, seq"
            )
            for path, seq, payload, signature, keys in rows:
                yield path, seq, StoredResult(unpack(payload), signature, keys)
            return
        for path in sorted(set(paths)):
            query = f"SELECT {columns} FROM results WHERE path = ? ORDER BY seq"
            for found, seq, payload, signature, keys in self.db.execute(query, (path,)).fetchall():
                yield found, seq, StoredResult(unpack(payload), signature, keys)

    def signatures_at(self, places: Iterable[tuple[str, int]]) -> list[bytes]:
        """The stored signatures of documents at (path, seq), in the order asked."""
        wanted = list(places)
        # One join against a temporary table, not a query per document (thousands per run).
        self.db.execute(
            "CREATE TEMP TABLE IF NOT EXISTS wanted (k INTEGER PRIMARY KEY, path TEXT, seq INTEGER)"
        )
        self.db.execute("DELETE FROM wanted")
        self.db.executemany(
            "INSERT INTO wanted VALUES (?, ?, ?)", [(k, p, q) for k, (p, q) in enumerate(wanted)]
        )
        query = "SELECT w.k, r.signature FROM wanted w JOIN results r ON r.path = w.path AND r.seq = w.seq"
        found = dict(self.db.execute(query).fetchall())
        out: list[bytes] = []
        for k, (path, seq) in enumerate(wanted):
            signature = found.get(k)
            if signature is None:
                raise ValueError(f"{path}#{seq}: no stored signature")
            out.append(bytes(signature))
        return out

    def quarantine_records(self) -> list[dict[str, Any]]:
        """Every stored quarantine record (results without a signature are quarantine records)."""
        rows = self.db.execute("SELECT payload FROM results WHERE signature IS NULL ORDER BY path, seq")
        return [line["quarantine"] for (payload,) in rows if "quarantine" in (line := unpack(payload))]

    def results(self, *, signatures: bool = False, line_keys: bool = False) -> Iterator[StoredResult]:
        """Every stored result, in path order (the order does not affect the output), with its
        signature and line keys only when asked for: a read that needs neither leaves them on
        disk."""
        columns = ", ".join(
            ("payload", "signature" if signatures else "NULL", "line_keys" if line_keys else "NULL")
        )
        for payload, signature, keys in self.db.execute(f"SELECT {columns} FROM results ORDER BY path, seq"):
            yield StoredResult(unpack(payload), signature, keys)


def _problem(path: Path, tables: Sequence[str] | None = None) -> str | None:
    """Why SQLite cannot use the store at `path` (None when it can): an error opening or reading
    it, or the first complaint of `PRAGMA quick_check` (every page and index, without the costly
    cross-checks of `integrity_check`), of `tables` only when given (those the store has)."""
    try:
        db = sqlite3.connect(path, isolation_level=None)
    except sqlite3.Error as exc:
        return str(exc)
    try:
        present = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if tables is None:
            rows = db.execute("PRAGMA quick_check").fetchall()
        else:
            rows = [("ok",)]
            for table in (t for t in tables if t in present):
                found = db.execute(f"PRAGMA quick_check({table})").fetchall()
                if [str(r[0]) for r in found] != ["ok"]:
                    rows = found
                    break
    except sqlite3.Error as exc:
        return str(exc)
    finally:
        db.close()
    found = [str(row[0]) for row in rows]
    return None if found == ["ok"] else "; ".join(found[:3])


def set_aside_if_corrupt(path: Path, tables: Sequence[str] | None = None) -> str | None:
    """Move an unusable store (with its WAL and shared-memory files) aside as
    `<name>.corrupt-<UTC time>` so a run can start a new one; returns what happened, or None
    when the store is fine (or absent). `tables`: check only these (`PLAN_TABLES`). The moved
    file is kept for inspection."""
    if not path.exists():
        return None
    problem = _problem(path, tables)
    if problem is None:
        return None
    when = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    aside = path.with_name(f"{path.name}.corrupt-{when}")
    os.replace(path, aside)
    for suffix in ("-wal", "-shm"):
        extra = path.with_name(path.name + suffix)
        if extra.exists():
            os.replace(extra, aside.with_name(aside.name + suffix))
    return (
        f"the run state {path} could not be read ({problem}); it was moved to {aside.name} "
        "and this run re-cleans every file"
    )


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        self.db.execute("ROLLBACK" if exc_type else "COMMIT")
