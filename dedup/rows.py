"""Scoring rows kept between runs, so that an incremental run gathers the rows of the stories it
compares instead of reading and weighing their signatures again.

A scoring document's rows are its rows of the scoring space (`EventSpace`: TF-IDF, event-term
weights, principal specifics, subject, rare subject, company codes, headline flag) under the
statistics snapshot, with its near-copy MinHash and shingle count. Columns are global
(`Columns`): the snapshot's feature ids and event-term ids in sorted order, then the ids first
seen since, in order of arrival, so rows of different runs share one numbering.

Rows live in segments, each a folder of `.npy` files written once and never changed: a full
grouping or a refresh writes one with every scoring document (the full grouping's own rows), an
incremental run one with its new scoring documents. Reading maps the files (`RowSegment.open`);
a gathered block is a copy, and the mapped pages are given back after each gather, so an
incremental run holds the rows of what it compares, a chunk at a time, not the corpus.
"""

from __future__ import annotations

import mmap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
from scipy import sparse

from newsclean.dedup.event_space import ROW_MATRICES, EventSpace
from newsclean.dedup.kernels import copy_rows

U32Array = npt.NDArray[np.uint32]
U64Array = npt.NDArray[np.uint64]
I64Array = npt.NDArray[np.int64]

# The matrices whose columns are features; `term_matrix`'s are event terms.
_FEATURE_MATRICES = tuple(name for name in ROW_MATRICES if name != "term_matrix")
_CSR_PARTS = ("indptr", "indices", "data")


@dataclass
class Columns:
    """Global column numbers of feature ids and event-term ids: the snapshot's ids (sorted) are
    columns 0.., ids first seen later follow in order of arrival (`extra_*`, kept by the model)."""

    features: U64Array
    events: U64Array
    extra_features: list[int] = field(default_factory=list)
    extra_events: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._extra: dict[bool, dict[int, int]] = {
            False: {f: len(self.features) + k for k, f in enumerate(self.extra_features)},
            True: {e: len(self.events) + k for k, e in enumerate(self.extra_events)},
        }

    @property
    def n_features(self) -> int:
        return len(self.features) + len(self.extra_features)

    @property
    def n_events(self) -> int:
        return len(self.events) + len(self.extra_events)

    def of(self, ids: U64Array, *, events: bool) -> npt.NDArray[np.int32]:
        """Each id's column; an id never seen gets the next free column."""
        known, extra = (self.events, self.extra_events) if events else (self.features, self.extra_features)
        ids = np.asarray(ids, dtype=np.uint64)
        out = np.empty(len(ids), dtype=np.int64)
        at = np.minimum(np.searchsorted(known, ids), max(len(known) - 1, 0))
        found = known[at] == ids if len(known) else np.zeros(len(ids), dtype=bool)
        out[found] = at[found]
        table = self._extra[events]
        for k in np.flatnonzero(~found).tolist():
            key = int(ids[k])
            column = table.get(key)
            if column is None:
                column = table[key] = len(known) + len(extra)
                extra.append(key)
            out[k] = column
        return out.astype(np.int32)


@dataclass(frozen=True)
class RowBlock:
    """Rows of some scoring documents, in global columns: the `ROW_MATRICES` (CSR, sorted
    indices), the headline flags, near-copy MinHash rows and shingle counts."""

    matrices: Mapping[str, sparse.csr_matrix]
    titled: npt.NDArray[np.bool_]
    near: U32Array
    n_shingles: I64Array

    def __len__(self) -> int:
        return len(self.titled)

    @classmethod
    def of_space(cls, space: EventSpace, columns: Columns, near: U32Array, n_shingles: I64Array) -> RowBlock:
        """`space`'s rows (its own columns, `space.vocabulary` and `space.event_vocabulary`)
        renumbered in `columns` (which learns the ids it has not seen)."""
        feature_cols = columns.of(space.vocabulary, events=False)
        event_cols = columns.of(space.event_vocabulary, events=True)
        matrices: dict[str, sparse.csr_matrix] = {}
        for name in ROW_MATRICES:
            matrix = getattr(space, name).tocsr()
            cols = event_cols if name == "term_matrix" else feature_cols
            width = columns.n_events if name == "term_matrix" else columns.n_features
            renumbered = sparse.csr_matrix(
                (matrix.data.astype(np.float64), cols[matrix.indices], matrix.indptr.astype(np.int64)),
                shape=(matrix.shape[0], width),
            )
            renumbered.sort_indices()  # later ids' columns follow the snapshot's
            matrices[name] = renumbered
        titled = np.asarray(space.titled, dtype=bool)
        return cls(matrices, titled, near, np.asarray(n_shingles, dtype=np.int64))

    def take(self, rows: I64Array) -> RowBlock:
        """These rows, in this order (a copy)."""
        rows = np.asarray(rows, dtype=np.int64)
        widths = {name: m.shape[1] for name, m in self.matrices.items()}
        return _gather([(_Held(self), rows, np.arange(len(rows)))], len(rows), widths)

    def space(self, columns: Columns, *, overlap_offset: float, overlap_reference: float) -> EventSpace:
        """An `EventSpace` over these rows (`EventSpace.from_rows`), every matrix as wide as the
        columns known now (a block read from an older segment is narrower)."""
        matrices = {
            name: _widened(m, columns.n_events if name == "term_matrix" else columns.n_features)
            for name, m in self.matrices.items()
        }
        return EventSpace.from_rows(
            matrices, self.titled, overlap_offset=overlap_offset, overlap_reference=overlap_reference
        )

    @staticmethod
    def stack(blocks: Sequence[RowBlock], columns: Columns) -> RowBlock:
        """The blocks' rows one after the other."""
        matrices = {}
        for name in ROW_MATRICES:
            width = columns.n_events if name == "term_matrix" else columns.n_features
            parts = [_widened(b.matrices[name], width) for b in blocks]
            matrices[name] = sparse.vstack(parts, format="csr") if parts else sparse.csr_matrix((0, width))
        near = np.concatenate([b.near for b in blocks]) if blocks else np.zeros((0, 0), dtype=np.uint32)
        return RowBlock(
            matrices,
            np.concatenate([b.titled for b in blocks]) if blocks else np.zeros(0, dtype=bool),
            near,
            np.concatenate([b.n_shingles for b in blocks]) if blocks else np.zeros(0, dtype=np.int64),
        )

    def save(self, folder: Path, extra: Mapping[str, np.ndarray] | None = None) -> None:
        """As a segment folder (`RowSegment.open` reads it), with `extra` arrays by name
        (`RowSegment.array`)."""
        folder.mkdir(parents=True, exist_ok=False)
        for name, values in (extra or {}).items():
            np.save(folder / f"{name}.npy", np.ascontiguousarray(values), allow_pickle=False)
        for name, matrix in self.matrices.items():
            for part in _CSR_PARTS:
                np.save(folder / f"{name}.{part}.npy", getattr(matrix, part), allow_pickle=False)
            shape = np.asarray(matrix.shape, dtype=np.int64)
            np.save(folder / f"{name}.shape.npy", shape, allow_pickle=False)
        np.save(folder / "titled.npy", self.titled, allow_pickle=False)
        np.save(folder / "near.npy", self.near, allow_pickle=False)
        np.save(folder / "n_shingles.npy", self.n_shingles, allow_pickle=False)


def _widened(matrix: sparse.csr_matrix, width: int) -> sparse.csr_matrix:
    if matrix.shape[1] == width:
        return matrix
    return sparse.csr_matrix((matrix.data, matrix.indices, matrix.indptr), shape=(matrix.shape[0], width))


class RowSegment:
    """A segment folder's rows, mapped read-only; `release` gives the mapped pages back (the
    next read maps them in again)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._maps: list[mmap.mmap] = []
        self._arrays: dict[str, np.ndarray] = {}

    @classmethod
    def open(cls, folder: Path) -> RowSegment:
        segment = cls(folder)
        if not (folder / "titled.npy").is_file():
            raise FileNotFoundError(f"scoring rows missing: {folder}")
        return segment

    def arrays(self, prefix: str) -> dict[str, np.ndarray]:
        """Every stored array whose name starts with `prefix` (the snapshot's, saved as `extra`
        arrays), by the rest of its name, mapped."""
        names = sorted(p.name.removesuffix(".npy") for p in self.folder.glob(f"{prefix}*.npy"))
        return {name.removeprefix(prefix): self.array(name) for name in names}

    def array(self, name: str) -> np.ndarray:
        """A stored array by file name (`<matrix>.indptr`, `titled`, ...), mapped."""
        found = self._arrays.get(name)
        if found is None:
            found = self._arrays[name] = self._mapped(self.folder / f"{name}.npy")
        return found

    def _mapped(self, path: Path) -> np.ndarray:
        with path.open("rb") as handle:
            version = np.lib.format.read_magic(handle)
            header = (
                np.lib.format.read_array_header_1_0
                if version == (1, 0)
                else np.lib.format.read_array_header_2_0
            )
            shape, fortran, dtype = header(handle)
            offset = handle.tell()
            count = int(np.prod(shape)) if shape else 1
            if count == 0:
                return np.zeros(shape, dtype=dtype)
            mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        self._maps.append(mapped)
        flat = np.frombuffer(mapped, dtype=dtype, count=count, offset=offset)
        return flat.reshape(shape, order="F" if fortran else "C")

    def release(self) -> None:
        """Give back the mapped pages read so far (they stay in the page cache)."""
        for mapped in self._maps:
            mapped.madvise(mmap.MADV_DONTNEED)


class RowStore:
    """Where each model document's scoring rows are: the segments (by name, in `root`) and, per
    document row, its segment's number and its row there (-1: none). Rows added by this run
    (`add`) wait in memory until `pending_segment` names them."""

    def __init__(
        self,
        columns: Columns,
        names: list[str],
        doc_segment: list[int],
        doc_offset: list[int],
        root: Path | None = None,
        opened: Sequence[RowSegment] = (),
    ) -> None:
        """`opened`: segments among `names` already open (the snapshot's, read for its
        statistics before the store could be made), used as they are: one mapping per file."""
        self.columns = columns
        self.names = names
        self.doc_segment = doc_segment
        self.doc_offset = doc_offset
        self.root = root
        self._open: dict[int, RowSegment | _Held] = {
            names.index(segment.folder.name): segment for segment in opened if segment.folder.name in names
        }
        self._pending: list[RowBlock] = []
        self._pending_docs: list[list[int]] = []
        self._where_arrays: tuple[I64Array, I64Array] | None = None

    def grow(self, n_docs: int) -> None:
        """Room for document rows up to `n_docs` (new documents have no rows yet)."""
        missing = n_docs - len(self.doc_segment)
        self.doc_segment.extend([-1] * missing)
        self.doc_offset.extend([-1] * missing)

    def without_rows(self, doc_rows: Sequence[int]) -> list[int]:
        """Those of these documents that have no rows yet, sorted, each once."""
        rows = np.unique(np.asarray(doc_rows, dtype=np.int64))
        segment = self._where()[0]
        known = rows < len(segment)
        known[known] = segment[rows[known]] >= 0
        return rows[~known].tolist()

    def add(self, doc_rows: Sequence[int], block: RowBlock) -> None:
        """Rows of these documents (in order), kept with this run's new segment."""
        self.grow(max(doc_rows, default=-1) + 1)
        number = len(self.names) + len(self._pending)
        self._where_arrays = None
        self._pending.append(block)
        self._pending_docs.append(list(doc_rows))
        for k, row in enumerate(doc_rows):
            self.doc_segment[row], self.doc_offset[row] = number, k

    def gather(self, doc_rows: Sequence[int], *, near_only: bool = False) -> RowBlock:
        """The rows of these documents, in this order (one copy of each row, wherever it is
        kept); each must have rows. `near_only`: only the near-copy MinHash rows and shingle
        counts (the matrices then hold no rows)."""
        rows = np.asarray(doc_rows, dtype=np.int64)
        n = len(rows)
        where = self._where()
        segment, offset = (where[0][rows], where[1][rows]) if n else (rows, rows)
        if n and (segment < 0).any():
            raise KeyError(f"no scoring rows for document rows {rows[segment < 0][:5].tolist()}")
        sources = []
        for number in np.unique(segment).tolist():
            at = np.flatnonzero(segment == number)
            sources.append((self._source(number), offset[at], at))
        columns = self.columns
        widths = {
            name: columns.n_events if name == "term_matrix" else columns.n_features for name in ROW_MATRICES
        }
        return _gather(sources, n, widths, near_only=near_only)

    def _where(self) -> tuple[I64Array, I64Array]:
        """`doc_segment` and `doc_offset` as arrays, made again only after they change."""
        if self._where_arrays is None or len(self._where_arrays[0]) != len(self.doc_segment):
            self._where_arrays = (
                np.asarray(self.doc_segment, dtype=np.int64),
                np.asarray(self.doc_offset, dtype=np.int64),
            )
        return self._where_arrays

    def release(self) -> None:
        """Give back the pages of every open segment read so far (the snapshot's statistics and
        indexes among them); they stay in the page cache."""
        for segment in self._open.values():
            segment.release()

    def _source(self, number: int) -> RowSegment | _Held:
        if number >= len(self.names):
            return _Held(self._pending[number - len(self.names)])
        return self._segment(number)

    def _segment(self, number: int) -> RowSegment | _Held:
        found = self._open.get(number)
        if found is None:
            if self.root is None:
                raise FileNotFoundError("the model's scoring rows have no folder")
            found = self._open[number] = RowSegment.open(self.root / self.names[number])
        return found

    def check(self) -> None:
        """Raise FileNotFoundError unless every segment folder is there."""
        for number in range(len(self.names)):
            self._segment(number)

    def pending_segment(self, name: str, *, always: bool = False) -> RowBlock | None:
        """This run's new rows as one block, now the segment `name` (None when there are none,
        unless `always`: then an empty segment)."""
        if not self._pending and not always:
            return None
        first = len(self.names)
        self._where_arrays = None
        shift = np.cumsum([0] + [len(b) for b in self._pending])
        for k, docs in enumerate(self._pending_docs):
            for row in docs:
                if self.doc_segment[row] == first + k:
                    self.doc_segment[row], self.doc_offset[row] = first, self.doc_offset[row] + int(shift[k])
        block = RowBlock.stack(self._pending, self.columns)
        self._pending, self._pending_docs = [], []
        self.names.append(name)
        self._open[first] = _Held(block)
        return block


class _Held:
    """Rows still in memory (this run's), read as a segment is."""

    def __init__(self, block: RowBlock) -> None:
        self.block = block

    def array(self, name: str) -> np.ndarray:
        matrix, _, part = name.partition(".")
        if part:
            return np.asarray(getattr(self.block.matrices[matrix], part))
        return np.asarray(getattr(self.block, matrix))

    def release(self) -> None:
        """Nothing is mapped: the rows are this run's, in memory."""


def _gather(
    sources: Sequence[tuple[RowSegment | _Held, I64Array, I64Array]],
    n: int,
    widths: Mapping[str, int],
    *,
    near_only: bool = False,
) -> RowBlock:
    """A block of `n` rows made of each source's rows `rows` put at `places` (every place once):
    one copy of each row (`kernels.copy_rows`), no index array per entry. `widths`: each
    matrix's columns; `near_only` as `RowStore.gather`."""
    titled = np.zeros(n, dtype=bool)
    shingles = np.zeros(n, dtype=np.int64)
    near = np.zeros((n, 0), dtype=np.uint32)
    for k, (source, rows, places) in enumerate(sources):
        found = source.array("near")[rows]
        if k == 0:
            near = np.zeros((n, found.shape[1]), dtype=found.dtype)
        near[places] = found
        titled[places] = source.array("titled")[rows]
        shingles[places] = source.array("n_shingles")[rows]
    matrices = {}
    for name in ROW_MATRICES:
        if near_only:
            matrices[name] = sparse.csr_matrix((0, widths[name]))
            continue
        sizes = np.zeros(n, dtype=np.int64)
        for source, rows, places in sources:
            indptr = source.array(f"{name}.indptr")
            sizes[places] = indptr[rows + 1] - indptr[rows]
        out_indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(sizes, out=out_indptr[1:])
        total = int(out_indptr[-1])
        out_indices = np.empty(total, dtype=np.int32)
        out_data = np.empty(total, dtype=np.float64)
        for source, rows, places in sources:
            copy_rows(
                source.array(f"{name}.indptr"), source.array(f"{name}.indices"),
                source.array(f"{name}.data"), rows, places, out_indptr, out_indices, out_data,
            )  # fmt: skip
            source.release()  # each matrix's pages go back before the next one's are read
        matrices[name] = sparse.csr_matrix((out_data, out_indices, out_indptr), shape=(n, widths[name]))
    return RowBlock(matrices, titled, near, shingles)
