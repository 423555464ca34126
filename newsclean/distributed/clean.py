"""The clean stage on a cluster: each batch cleaned and signed by `clean_batch` on a worker, its
results handed back as a Parquet file through fsspec.

Why Parquet at a URL: a worker on another machine shares no folder with the run, so a batch's
results cannot be the local work file `record_batches` reads. The worker writes them to
`<store>/batch-<n>.parquet` (a local folder, or an object store such as `s3://bucket/prefix`);
the run fetches each file into the batch's local work file. The Parquet file holds the work
file's lines as they are (one binary column), so the run records the same bytes whichever way
they came: the engine changes where results travel, never what they are.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq

from newsclean.settings import Settings
from newsclean.stages.clean import BatchResult
from newsclean.stages.plan import BatchSpec

_COLUMN = "line"  # one work-file line (a document or quarantine record, as JSON), as bytes


def new_store(base_url: str) -> str:
    """A fresh store for one run's partitions under `base_url` (a run never reads another's)."""
    return f"{base_url.rstrip('/')}/newsclean-{uuid.uuid4().hex}"


def partition_url(store: str, number: int) -> str:
    return f"{store}/batch-{number:06d}.parquet"


def clean_partition(
    fn: Callable[[BatchSpec, Settings], BatchResult], spec: BatchSpec, settings: Settings, store: str
) -> BatchResult:
    """`fn` (the clean stage's `clean_batch`) on a worker; its lines go to
    `partition_url(store, spec.number)`, the URL the result names as its work file."""
    with tempfile.TemporaryDirectory(prefix="newsclean-batch-") as folder:
        local = replace(spec, work_file=os.path.join(folder, "batch.jsonl"))
        result = fn(local, settings)
        url = partition_url(store, spec.number)
        write_lines(url, Path(local.work_file).read_bytes().splitlines())
    return replace(result, work_file=url)


def write_lines(url: str, lines: list[bytes]) -> None:
    """Lines as a one-column Parquet file at `url` (any fsspec URL)."""
    fs, path = fsspec.core.url_to_fs(url)
    parent = path.rsplit("/", 1)[0]
    if parent:
        fs.makedirs(parent, exist_ok=True)
    table = pa.table({_COLUMN: pa.array(lines, type=pa.binary())})
    with fs.open(path, "wb") as handle:
        pq.write_table(table, handle)


def read_lines(url: str) -> list[bytes]:
    """The lines `write_lines` wrote at `url`, in order."""
    fs, path = fsspec.core.url_to_fs(url)
    fs.invalidate_cache(path.rsplit("/", 1)[0])  # a listing cached before the worker wrote it
    with fs.open(path, "rb") as handle:
        table = pq.read_table(handle, columns=[_COLUMN])
    values: list[bytes] = table.column(_COLUMN).to_pylist()
    return values


def fetch_partition(result: BatchResult, work_file: str) -> BatchResult:
    """A worker's result brought into the run's local work file (the file `record_batches`
    reads); the result then names that file."""
    lines = read_lines(result.work_file)
    target = Path(work_file)
    temporary = target.with_name(target.name + ".part")
    with temporary.open("wb") as handle:
        for line in lines:
            handle.write(line + b"\n")
    temporary.replace(target)
    return replace(result, work_file=work_file)


def remove_store(store: str) -> None:
    """Delete a run's partitions (nothing when the store was never written)."""
    fs, path = fsspec.core.url_to_fs(store)
    fs.invalidate_cache(path)
    if fs.exists(path):
        fs.rm(path, recursive=True)
