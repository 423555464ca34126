"""One real Dask cluster for the distributed tests: a `distributed.LocalCluster` of 2 worker
processes, and before it moto's standalone S3 server on loopback (its own process, a real HTTP
endpoint), which the workers reach through s3fs as they would an object store; and the raw
folder the engine and object-store tests run on."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from support import INPUTS, SEEDS

distributed = pytest.importorskip("distributed")  # the dask extra (part of dev)


@pytest.fixture(scope="package")
def raw(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The samples and the reader's hostile inputs (encodings, gzip, a PDF, JSON Lines): 15
    files, read only by the tests."""
    folder = tmp_path_factory.mktemp("samples") / "raw"
    shutil.copytree(SEEDS, folder / "seeds")
    shutil.copytree(INPUTS, folder / "inputs")
    return folder


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="package")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server on 127.0.0.1, started for these tests; its URL. The environment (set
    before the cluster starts, so its worker processes inherit it) points s3fs at it."""
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:  # until it accepts connections (bounded)
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                raise RuntimeError("moto's S3 server did not start") from None
            time.sleep(0.1)
    saved = {k: os.environ.get(k) for k in _S3_ENV}
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
        FSSPEC_S3_ENDPOINT_URL=url,
    )
    import fsspec.config

    fsspec.config.conf.setdefault("s3", {})["endpoint_url"] = url
    try:
        yield url
    finally:
        fsspec.config.conf.get("s3", {}).pop("endpoint_url", None)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        server.terminate()
        server.wait(timeout=10)


_S3_ENV = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION", "FSSPEC_S3_ENDPOINT_URL")


@pytest.fixture(scope="package")
def client(s3_endpoint: str) -> Iterator[distributed.Client]:
    """A client of a LocalCluster of 2 single-threaded worker processes, for all these tests."""
    import dask

    from newsclean.flows.executors.dask import NON_DAEMONIC_WORKERS

    with (
        dask.config.set(NON_DAEMONIC_WORKERS),
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster, set_as_default=False) as dask_client,
    ):
        yield dask_client
