"""`--raw` and `--out` as object-store URLs, against moto's S3 server on loopback (a real HTTP
endpoint, through s3fs): the same bytes as a run on local folders, on both engines; the output
published as a generation and a pointer written last; incremental runs read only changed
objects; keys that cannot be paths are quarantined, and nothing outside the raw prefix is read."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from distributed import Client

from newsclean.flows.cli import main
from newsclean.flows.executors.dask import DaskExecutor
from newsclean.flows.executors.direct import DirectExecutor
from newsclean.objectstore import _layers
from newsclean.run import RunOptions, build_options, run_pipeline
from newsclean.settings import RunSettings, Settings
from newsclean.stages.write import published_generation, read_pointer

LOG = logging.getLogger("test")
FILES = (
    "documents.jsonl",
    "canonical.jsonl",
    "quarantine.jsonl",
    "summary.json",
    "merges.jsonl",
    "splits.jsonl",
)
SETTINGS = Settings(run=RunSettings(workers=2, batch_size=3, min_batch_files=1))


@pytest.fixture(scope="module")
def fs(s3_endpoint: str):  # type: ignore[no-untyped-def]
    import s3fs

    store = s3fs.S3FileSystem(endpoint_url=s3_endpoint, skip_instance_cache=True, use_listings_cache=False)
    store.mkdir("nc-objects")
    return store


@pytest.fixture(scope="module")
def local(raw: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """The local engine's output files (and pages) from the local folder."""
    out = tmp_path_factory.mktemp("objects-local") / "out"
    run_pipeline(RunOptions(raw, out, SETTINGS), DirectExecutor(2), LOG)
    found = {name: (out / name).read_bytes() for name in FILES}
    found |= {f"canonical/{p.name}": p.read_bytes() for p in (out / "canonical").glob("*.md")}
    return found


def upload(fs, raw: Path, prefix: str) -> None:  # type: ignore[no-untyped-def]
    fs.pipe(
        {f"{prefix}/{p.relative_to(raw).as_posix()}": p.read_bytes() for p in raw.rglob("*") if p.is_file()}
    )


def published(fs, url: str) -> dict[str, bytes]:  # type: ignore[no-untyped-def]
    """Every file of the generation the pointer names (a reader's way: the pointer once)."""
    generation = published_generation(url)
    assert generation is not None
    root = generation.removeprefix("s3://")
    return {name[len(root) + 1 :]: fs.cat_file(name) for name in fs.find(root)}


def test_local_engine_reads_and_publishes_an_object_store(
    fs, raw: Path, local: dict[str, bytes], tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    upload(fs, raw, "nc-objects/local/raw")
    fs.pipe({"nc-objects/local/raw-other/leak.txt": b"Outside the prefix. " * 20})
    url = "s3://nc-objects/local/out"

    def run() -> object:
        options = build_options("s3://nc-objects/local/raw", url, state_dir=tmp_path / "state", workers=2)
        options = RunOptions(
            options.raw_dir, options.out_dir, SETTINGS, raw_url=options.raw_url, out_url=options.out_url
        )
        return run_pipeline(options, DirectExecutor(2), LOG)

    first = run()
    assert first.files_cleaned == 15 and first.out_dir == url  # type: ignore[attr-defined]
    assert published(fs, url) == local  # byte for byte, pages too; nothing from raw-other
    pointer = read_pointer(url)
    assert pointer is not None and pointer["files"] == len(local)

    assert (
        main(["why", "--out", url, "--state-dir", str(tmp_path / "state"), "--json", *_two_ids(local)]) == 0
    )

    again = run()  # nothing changed: no cleaning, the same pointer, no new generation
    assert again.outputs_current and again.files_cleaned == 0  # type: ignore[attr-defined]
    assert read_pointer(url) == pointer

    changed = raw / "seeds" / "000_cd16a20b02b0c67d.txt"
    text = changed.read_text(encoding="utf-8").replace("the", "a", 3)
    fs.pipe({"nc-objects/local/raw/seeds/000_cd16a20b02b0c67d.txt": text.encode("utf-8")})
    second = run()
    assert second.files_cleaned == 1 and second.files_unchanged == 14  # type: ignore[attr-defined]
    newer = read_pointer(url)
    assert newer is not None and newer["generation"] != pointer["generation"]
    generations = {g.rsplit("/", 1)[-1] for g in fs.ls("nc-objects/local/out/generations")}
    assert generations == {pointer["generation"].split("/")[-1], newer["generation"].split("/")[-1]}
    documents = published(fs, url)["documents.jsonl"].decode("utf-8")
    assert text.split("\n")[0][:40] in documents or "seeds/000_cd16a20b02b0c67d.txt" in documents

    fs.rm("nc-objects/local/raw/seeds/001_5ad0f19daa08a087.txt")
    third = run()
    assert third.files_deleted == 1  # type: ignore[attr-defined]
    generations = {g.rsplit("/", 1)[-1] for g in fs.ls("nc-objects/local/out/generations")}
    assert pointer["generation"].split("/")[-1] not in generations and len(generations) == 2


def _two_ids(files: dict[str, bytes]) -> list[str]:
    lines = files["documents.jsonl"].decode("utf-8").splitlines()
    return [json.loads(line)["id"] for line in lines[:2]]


def test_dask_engine_reads_and_publishes_an_object_store(
    client: Client, fs, raw: Path, local: dict[str, bytes], tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    upload(fs, raw, "nc-objects/dask/raw")
    run = SETTINGS.run.model_copy(update={"engine": "dask"})
    options = RunOptions(
        Path("unused"),
        tmp_path / "state",
        Settings(run=run),
        raw_url="s3://nc-objects/dask/raw",
        out_url="s3://nc-objects/dask/out",
    )
    summary = run_pipeline(options, DaskExecutor(client, store_url="s3://nc-objects/work"), LOG)
    assert summary.files_cleaned == 15
    assert published(fs, "s3://nc-objects/dask/out") == local


def test_keys_that_cannot_be_paths_are_quarantined(fs, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    body = b"A short report about the harbour reopening after the storm, with quotes from the mayor. " * 4
    fs.pipe(
        {
            "nc-objects/keys/raw/ok.txt": body,
            "nc-objects/keys/raw/up/../escape.txt": body,
            "nc-objects/keys/raw/double//slash.txt": body,
            "nc-objects/keys/raw/both.txt": body,  # a key and a folder of another key
            "nc-objects/keys/raw/both.txt/inner.txt": body,
            "nc-objects/keys/raw/folder/": b"",  # a folder marker: no file
            "nc-objects/keys/rawx/leak.txt": body,  # beside the prefix: never listed
        }
    )
    one_batch = Settings(run=RunSettings(workers=1, batch_size=100))  # `both.txt` beside `both.txt/...`
    options = RunOptions(
        Path("unused"), tmp_path / "state", one_batch, raw_url="s3://nc-objects/keys/raw", out_url=None
    )
    summary = run_pipeline(options, DirectExecutor(1), LOG)
    out = tmp_path / "state"
    paths = {json.loads(line)["source_path"] for line in (out / "documents.jsonl").read_text().splitlines()}
    quarantine = [json.loads(line) for line in (out / "quarantine.jsonl").read_text().splitlines()]
    assert paths == {"ok.txt", "both.txt", "both.txt/inner.txt"}
    assert {(q["source_path"], q["reason"]) for q in quarantine} == {
        ("up/../escape.txt", "unsafe object key"),
        ("double//slash.txt", "unsafe object key"),
    }
    assert summary.files == 5 and summary.files_cleaned == 5


def test_keys_a_folder_cannot_hold_together_go_to_separate_folders() -> None:
    paths = ["b.txt", "a.txt/x.txt", "a.txt", "a.txt/y/z.txt", "c/d.txt", "a.txt/y"]
    groups = _layers(paths)
    assert sorted(p for g in groups for p in g) == sorted(paths)
    for group in groups:
        files = set(group)
        assert not any(other.startswith(path + "/") for path in files for other in files)
    assert len(groups) == 3  # a.txt | a.txt/x.txt, a.txt/y | a.txt/y/z.txt


def test_an_output_inside_the_raw_prefix_is_refused(tmp_path: Path) -> None:
    options = build_options("s3://nc-objects/in/raw", "s3://nc-objects/in/raw/out", state_dir=tmp_path)
    with pytest.raises(ValueError, match="must not be the raw prefix"):
        run_pipeline(options, DirectExecutor(1), LOG)
