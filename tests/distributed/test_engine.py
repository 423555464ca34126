"""`--engine dask` on a real 2-worker LocalCluster: the same output files, byte for byte, as the
local engine; batches through an object store (moto's S3 server) too; switching the engine
keeps the outputs current; the local engine never imports Dask."""

from __future__ import annotations

import hashlib
import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest
from distributed import Client

from newsclean.fingerprint import outputs_key, settings_fingerprint
from newsclean.flows.cli import main
from newsclean.flows.executors.dask import DaskExecutor
from newsclean.flows.executors.direct import DirectExecutor
from newsclean.run import RunOptions, run_pipeline
from newsclean.settings import RunSettings, Settings
from support import SEEDS

OUTPUTS = ("documents.jsonl", "canonical.jsonl", "quarantine.jsonl", "summary.json")
LOG = logging.getLogger("test")
# Small batches, so the 15 files make several partitions over both workers.
SETTINGS = Settings(run=RunSettings(workers=2, batch_size=3, min_batch_files=1))


def digests(out: Path) -> dict[str, str]:
    return {name: hashlib.sha256((out / name).read_bytes()).hexdigest() for name in OUTPUTS}


@pytest.fixture(scope="module")
def local_outputs(raw: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    out = tmp_path_factory.mktemp("local") / "out"
    summary = run_pipeline(RunOptions(raw, out, SETTINGS), DirectExecutor(2), LOG)
    assert summary.documents > 5 and summary.quarantined > 0  # documents and quarantine both
    return digests(out)


@pytest.mark.parametrize("partitions", [1, 2, 7])
def test_the_dask_engine_writes_the_local_engines_bytes(
    client: Client, raw: Path, local_outputs: dict[str, str], tmp_path: Path, partitions: int
) -> None:
    # `partitions` batches: one a planned worker (the local engine's figures used 5 of 3 files).
    run = RunSettings(
        workers=partitions, batches_per_worker=1, min_batch_files=1, batch_size=15, engine="dask"
    )
    executor = DaskExecutor(client)
    done: list[int] = []
    executor.progress.batch_done = lambda spec, result: done.append(spec.number)  # type: ignore[method-assign]
    summary = run_pipeline(RunOptions(raw, tmp_path / "out", Settings(run=run)), executor, LOG)
    assert summary.files == summary.files_cleaned == 15
    assert sorted(done) == list(range(1, partitions + 1))
    assert digests(tmp_path / "out") == local_outputs
    assert not list((tmp_path / "out").glob(".work-*"))  # the work folder and its partitions went


def test_batches_through_an_object_store_give_the_same_bytes(
    client: Client, raw: Path, local_outputs: dict[str, str], tmp_path: Path, s3_endpoint: str
) -> None:
    import s3fs

    fs = s3fs.S3FileSystem(endpoint_url=s3_endpoint, skip_instance_cache=True, use_listings_cache=False)
    fs.mkdir("newsclean-work")
    executor = DaskExecutor(client, store_url="s3://newsclean-work/runs")
    seen: list[str] = []
    original = executor.progress.batch_done

    def watch(spec: object, result: object) -> None:  # each batch came through the store
        seen.extend(fs.find("newsclean-work/runs"))
        original(spec, result)  # type: ignore[arg-type]

    executor.progress.batch_done = watch  # type: ignore[method-assign]
    run_pipeline(RunOptions(raw, tmp_path / "out", SETTINGS), executor, LOG)
    assert digests(tmp_path / "out") == local_outputs
    assert any(path.endswith(".parquet") for path in seen)
    assert fs.find("newsclean-work/runs") == []  # the run removed its partitions


def test_switching_the_engine_keeps_the_outputs_current(
    client: Client, raw: Path, local_outputs: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    run_pipeline(RunOptions(raw, out, SETTINGS), DirectExecutor(2), LOG)
    dask = SETTINGS.model_copy(update={"run": SETTINGS.run.model_copy(update={"engine": "dask"})})
    assert outputs_key(settings_fingerprint(dask), dask, False) == outputs_key(
        settings_fingerprint(SETTINGS), SETTINGS, False
    )
    again = run_pipeline(RunOptions(raw, out, dask), DaskExecutor(client), LOG)
    assert again.outputs_current and again.files_cleaned == 0  # no re-cleaning, no regroup
    assert digests(out) == local_outputs


def test_the_command_line_runs_on_a_given_scheduler(
    client: Client,
    raw: Path,
    local_outputs: dict[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings_file = tmp_path / "settings.json"
    settings_file.write_text(json.dumps({"run": {"batch_size": 3, "min_batch_files": 1}}), encoding="utf-8")
    address = client.scheduler.address
    args = ["run", "--raw", str(raw), "--out", str(tmp_path / "out"), "--settings", str(settings_file)]
    args += ["--no-prefect", "--quiet", "--json", "--engine", "dask", "--dask-address", address]
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out)["files_cleaned"] == 15
    assert digests(tmp_path / "out") == local_outputs


def test_the_time_limit_holds_on_dask_workers(client: Client, tmp_path: Path) -> None:
    """A Dask worker runs tasks in threads, where the clean stage's SIGALRM limit cannot work:
    batches with a limit run in the worker's child process. 100k nested divs take about 2 s to
    clean, far over 0.05 s: quarantined as "timeout" on both engines."""
    raw = tmp_path / "raw"
    raw.mkdir()  # that file alone: at 0.05 s, a loaded machine could time out a sample too
    (raw / "deep.html").write_text("<div>" * 100_000 + "A sentence." + "</div>" * 100_000, encoding="utf-8")
    limited = SETTINGS.model_copy(update={"run": SETTINGS.run.model_copy(update={"file_seconds": 0.05})})
    local = run_pipeline(RunOptions(raw, tmp_path / "local", limited), DirectExecutor(2), LOG)
    on_dask = run_pipeline(RunOptions(raw, tmp_path / "dask", limited), DaskExecutor(client), LOG)
    assert local.quarantine_reasons == on_dask.quarantine_reasons == {"timeout": 1}
    # Which step ran over (reading or cleaning) depends on the machine's load: not compared.
    for out in ("local", "dask"):
        [record] = [json.loads(line) for line in (tmp_path / out / "quarantine.jsonl").open()]
        assert (record["source_path"], record["reason"]) == ("deep.html", "timeout")


PROBE = """
import sys
from newsclean.flows.cli import main
code = main(["run", "--raw", sys.argv[1], "--out", sys.argv[2], "--no-prefect", "--quiet"])
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("dask", "distributed", "prefect_dask"))
print(code, loaded)
"""


def test_the_local_engine_never_imports_dask(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(SEEDS), str(tmp_path / "out")],
        capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    assert done.stdout.splitlines()[-1].split() == ["0", "[]"]
