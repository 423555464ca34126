"""A regular (non-editable) install is the package a user gets: one import name, `newsclean`,
whose wheel holds the cleaners, dedup and flows; it runs the samples to the same bytes as the
working tree, and the run state's fingerprint covers the cleaner code inside that install."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

from support import SEEDS

REPO = Path(__file__).resolve().parents[1]
OUTPUTS = ("documents.jsonl", "canonical.jsonl", "quarantine.jsonl", "summary.json")

PROBE = """
import json, sys
from pathlib import Path
import newsclean
from newsclean.fingerprint import CLEANING_SOURCES, settings_fingerprint, source_files
from newsclean.flows.cli import main
from newsclean.settings import Settings
code = main(["run", "--raw", sys.argv[1], "--out", sys.argv[2], "--no-prefect", "--quiet"])
print(json.dumps({
    "exit": code,
    "package": newsclean.__file__,
    "cleaning_sources": [str(p) for p in source_files(CLEANING_SOURCES)],
    "fingerprint": settings_fingerprint(Settings()),
}))
"""


def digest(folder: Path) -> dict[str, str]:
    return {name: hashlib.sha256((folder / name).read_bytes()).hexdigest() for name in OUTPUTS}


def probe(target: Path, raw: Path, out: Path) -> dict[str, object]:
    """Run the samples with the package installed in `target` (first on the path, outside the
    working tree, so neither the editable install nor the repository's folders are imported)."""
    env = {**os.environ, "PYTHONPATH": str(target)}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(raw), str(out)],
        cwd=out.parent, env=env, capture_output=True, text=True, timeout=600, check=True,
    )  # fmt: skip
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def test_a_regular_install_runs_the_samples_and_fingerprints_its_cleaners(tmp_path: Path) -> None:
    wheels, target = tmp_path / "wheels", tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(REPO)], check=True
    )
    [wheel] = wheels.glob("newsclean-*.whl")
    tops = {name.split("/")[0] for name in zipfile.ZipFile(wheel).namelist()}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"newsclean"}  # one import name
    subprocess.run([*pip, "install", "--no-deps", "--target", str(target), str(wheel)], check=True)

    installed = probe(target, SEEDS, tmp_path / "installed")
    assert installed["exit"] == 0 and str(installed["package"]).startswith(str(target))
    lines = target / "newsclean" / "cleaners" / "lines.py"
    assert str(lines) in [str(p) for p in installed["cleaning_sources"]]  # type: ignore[union-attr]

    from newsclean.flows.cli import main

    assert main(["run", "--raw", str(SEEDS), "--out", str(tmp_path / "tree"), "--no-prefect", "--quiet"]) == 0
    assert digest(tmp_path / "installed") == digest(tmp_path / "tree")

    # A change to a cleaner of the install changes the fingerprint there: cached results go.
    lines.write_text(lines.read_text(encoding="utf-8") + "\n# changed\n", encoding="utf-8")
    changed = probe(target, SEEDS, tmp_path / "changed")
    assert changed["fingerprint"] != installed["fingerprint"]
