"""What `newsclean run` shows while it works: a live bar per stage on a terminal, plain lines
when piped or logged (one line per stage and per batch, the form scripts and logs read).

The executor calls a `Progress` as stages start and batches end; the bar shows files done of
the total, documents per second and the time left for the clean stage.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol, TextIO

if TYPE_CHECKING:  # types only: importing the clean stage costs the cleaners and dedup (seconds)
    from rich.console import Console
    from rich.progress import TaskID

    from newsclean.stages.clean import BatchResult
    from newsclean.stages.plan import BatchSpec


class Progress(Protocol):
    """Told by an executor when a stage starts (`stage`), when cleaning starts (`cleaning`: the
    batches and the processes they run on) and when each batch ends (`batch_done`)."""

    def stage(self, name: str) -> None: ...

    def cleaning(self, specs: Sequence[BatchSpec], workers: int) -> None: ...

    def batch_done(self, spec: BatchSpec, result: BatchResult) -> None: ...

    def close(self) -> None: ...


def _counted(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


class QuietProgress:
    """Shows nothing (`--quiet`, or a caller that reports in its own way)."""

    def stage(self, name: str) -> None:
        pass

    def cleaning(self, specs: Sequence[BatchSpec], workers: int) -> None:
        pass

    def batch_done(self, spec: BatchSpec, result: BatchResult) -> None:
        pass

    def close(self) -> None:
        pass


class LineProgress:
    """One plain line per stage and per batch: `clean 20 batches on 2 workers`, `clean batch
    3/20: 500 files`, `group`."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def _say(self, line: str) -> None:
        print(f"  {line}", file=self.stream, flush=True)

    def stage(self, name: str) -> None:
        self._say(name)

    def cleaning(self, specs: Sequence[BatchSpec], workers: int) -> None:
        batches, processes = _counted(len(specs), "batch", "batches"), _counted(workers, "worker", "workers")
        self._say(f"clean {batches} on {processes}")

    def batch_done(self, spec: BatchSpec, result: BatchResult) -> None:
        self._say(f"{spec.label}: {result.files} files")

    def close(self) -> None:
        pass


def _bar_columns() -> list[Any]:
    """The bar's columns, rich's and ours. rich is imported here, when a terminal shows a bar: a
    piped or quiet run (a scheduled one) does not pay for it."""
    from rich.progress import (
        BarColumn,
        ProgressColumn,
        SpinnerColumn,
        Task,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.text import Text

    class _Files(ProgressColumn):
        """`done/total files` on the clean stage's bar; nothing on a stage without files."""

        def render(self, task: Task) -> Text:
            if "documents" not in task.fields:
                return Text("")
            return Text(f"{task.completed:,.0f}/{task.total or 0:,.0f} files", style="progress.download")

    class _DocumentRate(ProgressColumn):
        """Documents cleaned per second so far (the task's `documents` field)."""

        def render(self, task: Task) -> Text:
            documents = task.fields.get("documents")
            if documents is None or not task.elapsed:
                return Text("")
            return Text(f"{documents / task.elapsed:,.0f} docs/s", style="progress.data.speed")

    class _TimeLeft(TimeRemainingColumn):
        """`eta 0:01:23` while files are being cleaned; nothing on other stages or once done."""

        def render(self, task: Task) -> Text:
            if "documents" not in task.fields or task.finished:
                return Text("")
            return Text.assemble("eta ", super().render(task))

    return [
        SpinnerColumn(finished_text="[green]✓"),
        TextColumn("{task.description:<14}"),
        BarColumn(),
        _Files(),
        _DocumentRate(),
        _TimeLeft(),
        TimeElapsedColumn(),
    ]


class BarProgress:
    """A live bar per stage on a terminal (rich): the clean stage's bar counts files done of the
    total, with documents/s and the time left; other stages show their elapsed time."""

    def __init__(self, console: Console) -> None:
        from rich.progress import Progress as RichProgress

        self._bars = RichProgress(*_bar_columns(), console=console, transient=False)
        self._bars.start()
        self._current: TaskID | None = None
        self._documents = 0

    def _finish(self) -> None:
        if self._current is not None:
            task = self._bars.tasks[self._bars.task_ids.index(self._current)]
            total = task.total if task.total is not None else 1
            self._bars.update(self._current, total=total, completed=total)
            self._bars.stop_task(self._current)
            self._current = None

    def stage(self, name: str) -> None:
        self._finish()
        self._current = self._bars.add_task(name, total=None)

    def cleaning(self, specs: Sequence[BatchSpec], workers: int) -> None:
        self._finish()
        files = sum(len(spec.paths) for spec in specs)
        label = f"clean ×{workers}"
        self._current = self._bars.add_task(label, total=files, documents=0)

    def batch_done(self, spec: BatchSpec, result: BatchResult) -> None:
        if self._current is None:
            return
        self._documents += result.documents
        self._bars.update(self._current, advance=result.files, documents=self._documents)

    def close(self) -> None:
        self._finish()
        self._bars.stop()


def progress_for(quiet: bool, stream: TextIO = sys.stderr) -> Progress:
    """Nothing when `quiet`; a live bar when `stream` is a terminal; plain lines otherwise."""
    if quiet:
        return QuietProgress()
    if stream.isatty():
        from rich.console import Console

        return BarProgress(Console(file=stream))
    return LineProgress(stream)
