"""The clean stage on a cluster: each batch cleaned and signed by `clean_batch` on a worker, its
results handed back as a Parquet file through fsspec.

Why Parquet at a URL: a worker on another machine shares no folder with the run, so a batch's
results cannot be the local work file `record_batches` reads. The worker writes them to
`<store>/batch-<n>.parquet` (a local folder, or an object store such as `s3://bucket/prefix`);
the run fetches each file into the batch's local work file. The Parquet file holds the work
file's lines as they are (one binary column), so the run records the same bytes whichever way
they came: the engine changes where results travel, never what they are.

The clean stage's time limit (`run.file_seconds`) is a SIGALRM timer, which only the main
thread of a process can use, and a Dask worker runs its tasks in a thread. So a batch with a
limit runs in a child process of the worker (one per worker, started on its first batch, in
its main thread), as it does in the local engine's process pool. A daemonic worker process
(Dask's default) may not have children: `dask_client` starts its LocalCluster with non-daemonic
workers; on a cluster that keeps them daemonic, batches run in the task's thread without the
limit, and the result says so (`BatchResult.phases["no_time_limit"]`).
"""

from __future__ import annotations

import multiprocessing
import os
import tempfile
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq

from newsclean.lock import worker_init
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
        result = _run_limited(fn, local, settings)
        url = partition_url(store, spec.number)
        write_lines(url, Path(local.work_file).read_bytes().splitlines())
    return replace(result, work_file=url)


_child: ProcessPoolExecutor | None = None  # this worker's process for batches with a time limit
_child_lock = threading.Lock()


def _run_limited(
    fn: Callable[[BatchSpec, Settings], BatchResult], spec: BatchSpec, settings: Settings
) -> BatchResult:
    """`fn(spec, settings)` where the time limit works: here in a main thread or without a
    limit, else in this worker's child process; without a limit when no child may be started."""
    if settings.run.file_seconds <= 0 or threading.current_thread() is threading.main_thread():
        return fn(spec, settings)
    if multiprocessing.current_process().daemon:  # may not have children: no limit here
        result = fn(spec, settings)
        return replace(result, phases={**result.phases, "no_time_limit": 1.0})
    global _child
    with _child_lock:
        if _child is None:
            # spawn, not fork: the worker has threads, which fork would copy mid-lock (and the
            # child's parent is then the worker, as `worker_init` checks); started once, so only
            # the first batch pays for the interpreter's start.
            _child = ProcessPoolExecutor(
                max_workers=1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=worker_init,
                initargs=(os.getpid(),),
            )
        child = _child
    return child.submit(fn, spec, settings).result()


def stop_child() -> None:
    """End this worker's child process for limited batches (run on every worker once the clean
    stage is done: its ~0.5 GB would otherwise sit beside grouping's blocks on the worker)."""
    global _child
    with _child_lock:
        child, _child = _child, None
    if child is not None:
        child.shutdown(wait=True)


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
