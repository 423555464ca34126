"""The executors' process pool: workers that never outlive or outlast their run.

Each worker runs `newsclean.lock.worker_init` first (it drops the inherited lock descriptor and
dies with the parent on Linux). All workers are started at once, from the calling thread (the
parent-death signal follows the thread that forked a worker: a pool filled on demand from a
short-lived thread would lose its workers with that thread). On any exit of the block other than
a normal one (an exception, a signal turned into an exception, Ctrl-C) the workers are
terminated, not waited for: a stopped run must not wait for batches nobody will read.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager

from newsclean.lock import worker_init


def _ready() -> int:
    return os.getpid()


@contextmanager
def worker_pool(workers: int) -> Iterator[ProcessPoolExecutor]:
    """A pool of `workers` processes (at least one), started now; shut down on leaving the
    block: waited for after a normal exit, terminated after any other."""
    pool = ProcessPoolExecutor(
        max_workers=max(1, workers),
        mp_context=multiprocessing.get_context("fork"),
        initializer=worker_init,
        initargs=(os.getpid(),),
    )
    try:
        pool.submit(_ready).result()  # a fork pool starts all its workers on the first submit
        yield pool
    except BaseException:
        stop_pool(pool)
        raise
    pool.shutdown(wait=True)


def stop_pool(pool: ProcessPoolExecutor) -> None:
    """Cancel what has not started and terminate the workers now."""
    handles = dict(getattr(pool, "_processes", None) or {})  # no public handle on the workers
    pool.shutdown(wait=False, cancel_futures=True)
    for process in handles.values():
        if process.is_alive():
            process.terminate()
    for process in handles.values():
        process.join(timeout=5)
        if process.is_alive():
            process.kill()
            process.join(timeout=5)
