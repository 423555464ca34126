"""What `newsclean run` shows: a live bar on a terminal, the plain lines when piped."""

from __future__ import annotations

import io
import logging
from pathlib import Path

from rich.console import Console

from newsclean.flows.executors.direct import DirectExecutor
from newsclean.flows.progress import BarProgress, LineProgress, QuietProgress, progress_for
from newsclean.run import build_options, run_pipeline


def test_piped_progress_is_one_plain_line_per_stage_and_batch(seeds_raw: Path, tmp_path: Path) -> None:
    stream = io.StringIO()
    options = build_options(seeds_raw, tmp_path / "out", workers=2, batch_size=2)
    run_pipeline(options, DirectExecutor(2, progress_for(False, stream)), logging.getLogger("t"))
    lines = stream.getvalue().splitlines()
    assert lines[0] == "  plan" and lines[1] == "  clean 3 batches on 2 workers"
    assert lines[2:5] == [
        "  clean batch 1/3: 2 files",
        "  clean batch 2/3: 2 files",
        "  clean batch 3/3: 1 files",
    ]
    assert lines[5:] == ["  record state", "  group", "  write outputs"]
    assert isinstance(progress_for(True, stream), QuietProgress)
    assert isinstance(progress_for(False, stream), LineProgress)


def test_a_terminal_gets_a_bar_with_files_rate_and_stages(seeds_raw: Path, tmp_path: Path) -> None:
    screen = io.StringIO()
    progress = BarProgress(Console(file=screen, force_terminal=True, width=120))
    options = build_options(seeds_raw, tmp_path / "out", workers=1)
    try:
        run_pipeline(options, DirectExecutor(1, progress), logging.getLogger("t"))
    finally:
        progress.close()
    shown = screen.getvalue()
    assert "5/5 files" in shown and "docs/s" in shown
    assert all(stage in shown for stage in ("plan", "clean ×1", "record state", "group", "write outputs"))
