"""`newsclean why A B` on a finished run of the samples: what the 2021 accounts share, and what
sets the 2023 meeting apart; the run state is only read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from newsclean.flows.cli import main
from newsclean.state import state_path
from support import FIXTURES


def test_why_on_a_finished_run_of_the_samples(
    seeds_raw: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert main(["run", "--raw", str(seeds_raw), "--out", str(out), "--no-prefect", "--quiet"]) == 0
    ids = {}
    for line in (out / "documents.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        ids[record["source_path"]] = record["id"]
    gold = json.loads((FIXTURES / "seeds_gold.json").read_text(encoding="utf-8"))
    tokyo_2021 = [ids[name] for name in gold["events"][0]["members"]]
    washington_2023 = ids[gold["events"][1]["members"][0]]
    state_before = state_path(out).read_bytes()
    capsys.readouterr()

    assert main(["why", tokyo_2021[0], tokyo_2021[1], "--out", str(out), "--json"]) == 0
    same = json.loads(capsys.readouterr().out)
    assert same["same_cluster"] and {"blinken", "austin"} <= set(same["shared_specifics"])
    assert same["edge_weight"] >= same["threshold"]

    assert main(["why", tokyo_2021[0], washington_2023, "--out", str(out)]) == 0
    shown = capsys.readouterr().out
    assert "different clusters" in shown and "the cut is" in shown and "title specifics" in shown
    # What sets 2021 apart from 2023: its Japanese ministers, which the 2023 story never names.
    prefix = f"  specifics only {tokyo_2021[0]} has:"
    only_2021 = next(line for line in shown.splitlines() if line.startswith(prefix))
    assert "motegi" in only_2021 and "kishi" in only_2021

    assert main(["why", tokyo_2021[0], "no-such-id", "--out", str(out)]) == 2
    assert "no such document" in capsys.readouterr().err
    assert state_path(out).read_bytes() == state_before  # asking changes nothing
