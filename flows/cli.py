"""`newsclean`: the command line.

`newsclean run` runs the cleaning flow's stages directly when no Prefect API is configured: the
ephemeral Prefect server costs 12-23 s to start, longer than the whole job on a small folder.
With `PREFECT_API_URL` set (or `--prefect`) it runs as a real flow run that the Prefect UI shows.
Either way the same library functions run and the output is the same.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import select
import signal
import sys
from pathlib import Path
from typing import Any

from newsclean.flows.executors.direct import DirectExecutor
from newsclean.flows.progress import Progress, progress_for
from newsclean.lock import OutputLocked
from newsclean.report import RunSummary
from newsclean.run import (
    RunOptions,
    build_options,
    check_folders,
    check_store_folders,
    run_pipeline,
    store_state_dir,
)
from newsclean.settings import Settings

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_LOCKED = 0, 1, 2, 3
# Stopped by a signal: 128 + its number, as a shell reports it (SIGTERM 143, SIGINT 130).
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
# The command line's name for a settings field it sets.
_OPTION_OF = {("run", "workers"): "--workers", ("run", "batch_size"): "--batch-size"}


class Stopped(BaseException):
    """A stop signal arrived (`STOP_SIGNALS`). Not an `Exception`: nothing on the way out may
    take it for a failure to handle; every `finally` (worker pool, work folder, lock) runs."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _raise_stopped(signum: int, _frame: object) -> None:
    signal.signal(signum, signal.SIG_DFL)  # a second one ends the process at once
    raise Stopped(signum)


def _invalid(exc: Exception, given: dict[str, Any]) -> str:
    """One line naming each bad value: the option's name when the command line gave it, else
    the settings field's path."""
    errors = getattr(exc, "errors", None)
    if not callable(errors):
        return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    parts = []
    for error in errors():
        loc = tuple(str(p) for p in error.get("loc", ()))
        option = _OPTION_OF.get(loc) if loc[:1] == ("run",) and loc in _OPTION_OF else None
        name = option if option and given.get(option) is not None else ".".join(loc) or "settings"
        shown = error.get("input")
        value = "" if isinstance(shown, dict) or shown is None else f" (got {shown!r})"
        parts.append(f"{name}: {error.get('msg', 'invalid')}{value}")
    return "; ".join(parts)


def _run_parameters(args: argparse.Namespace) -> dict[str, Any]:
    """`newsclean run`'s options as the flow's parameters, which are `build_options`' arguments:
    the direct path builds its options from them, the flow run from the same values."""
    return {
        "raw_dir": args.raw,
        "out_dir": args.out,
        "settings_file": args.settings,
        "workers": args.workers,
        "batch_size": args.batch_size,
        "wait_seconds": args.wait,
        "debug_removals": args.debug_removals,
        "full": args.full,
        **_engine_parameters(args),
    }


def _engine_parameters(args: argparse.Namespace) -> dict[str, Any]:
    """The engine options given (`--engine`, `--dask-address`, `--work-url`): flow parameters
    only when given, so a flow run without them keeps the settings file's engine."""
    given = {"engine": args.engine, "dask_address": args.dask_address, "work_url": args.work_url}
    given["state_dir"] = getattr(args, "state_dir", None)  # an object-store output's local folder
    return {k: v for k, v in given.items() if v is not None}


def _print_summary(summary: RunSummary) -> None:
    print(f"newsclean: {summary.one_line()}")
    if summary.quarantine_reasons:
        reasons = ", ".join(f"{k} x{v}" for k, v in summary.quarantine_reasons.items())
        print(f"  quarantined: {reasons} (see {summary.out_dir}/quarantine.jsonl)")
    stages = ", ".join(f"{k} {v:.2f}s" for k, v in summary.seconds.items() if k != "total")
    print(f"  stages: {stages}")
    if summary.grouping_line():
        print(f"  {summary.grouping_line()}")
    if summary.outputs_current:
        print("  nothing new, changed or deleted: the outputs were already current")
    for warning in summary.warnings:
        print(f"  warning: {warning}")
    print(f"  output: {summary.out_dir}")


def _use_prefect(args: argparse.Namespace) -> bool:
    if args.prefect is not None:
        return bool(args.prefect)
    return bool(os.environ.get("PREFECT_API_URL"))


def cmd_run(args: argparse.Namespace) -> int:
    parameters = _run_parameters(args)
    try:
        options = build_options(**parameters)
    except (OSError, ValueError) as exc:
        given = {"--workers": args.workers, "--batch-size": args.batch_size}
        print(f"newsclean: bad settings: {_invalid(exc, given)}", file=sys.stderr)
        return EXIT_USAGE
    if options.raw_url is None and not options.raw_dir.is_dir():
        print(f"newsclean: raw folder not found: {options.raw_dir}", file=sys.stderr)
        return EXIT_USAGE
    try:
        if options.raw_url is None and options.out_url is None:
            check_folders(options.raw_dir, options.out_dir)
        else:  # an object-store raw prefix or output
            check_store_folders(
                options.raw_url or options.raw_dir.resolve(), options.out_url or options.out_dir
            )
    except ValueError as exc:
        print(f"newsclean: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if not args.quiet:
        for note in options.notes:
            print(f"newsclean: {note}", file=sys.stderr)
    previous = {signum: signal.signal(signum, _raise_stopped) for signum in STOP_SIGNALS}
    try:
        return _run(args, parameters, options)
    except Stopped as exc:
        name = signal.Signals(exc.signum).name
        print(
            f"newsclean: stopped by {name}; the output folder holds the last complete set of "
            "outputs, and the next run finishes the work",
            file=sys.stderr,
        )
        return 128 + exc.signum
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _run(args: argparse.Namespace, parameters: dict[str, Any], options: RunOptions) -> int:
    try:
        if _use_prefect(args):
            from newsclean.flows.clean_corpus import clean_corpus  # deferred: importing Prefect costs ~2 s

            result = clean_corpus(**parameters)  # which calls build_options(**parameters)
            summary = RunSummary(**result)
        else:
            logger = logging.getLogger("newsclean")
            progress = progress_for(args.quiet)
            try:
                if options.settings.run.engine == "dask":
                    summary = _run_on_dask(options, progress, logger)
                else:
                    executor = DirectExecutor(options.settings.run.workers, progress)
                    summary = run_pipeline(options, executor, logger)
            finally:
                progress.close()
    except OutputLocked as exc:
        print(f"newsclean: {exc}", file=sys.stderr)
        return EXIT_LOCKED
    except Exception as exc:
        print(f"newsclean: run failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    if args.json:
        print(json.dumps(summary.to_json(), indent=2, sort_keys=True))
    else:
        _print_summary(summary)
    return EXIT_OK


def _run_on_dask(options: RunOptions, progress: Progress, logger: logging.Logger) -> RunSummary:
    """The run on a Dask cluster (`--engine dask`): the address's, or a LocalCluster of
    `workers` processes started for this run alone."""
    try:  # deferred: only the dask engine needs Dask (the `dask` extra)
        from newsclean.flows.executors.dask import DaskExecutor, dask_client
    except ImportError as exc:
        raise RuntimeError(
            f"--engine dask needs the dask extra: pip install 'newsclean[dask]' ({exc})"
        ) from exc
    run = options.settings.run
    with dask_client(run.dask_address, run.workers) as client:
        return run_pipeline(options, DaskExecutor(client, progress, run.work_url), logger)


def _add_engine_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--engine", choices=("local", "dask"), help="local (default) or dask: a Dask cluster")
    parser.add_argument("--dask-address", help="Dask scheduler, tcp://HOST:8786 (default: a LocalCluster)")
    parser.add_argument("--work-url", help="where dask workers leave batches: a folder or s3://... URL")


def cmd_why(args: argparse.Namespace) -> int:
    """Print why two documents of a finished run were (or were not) grouped as one event."""
    from newsclean.walk import is_store_url
    from newsclean.why import UnknownDocument, why_grouped, why_grouped_published

    try:
        settings = Settings.from_file(Path(args.settings) if args.settings else None)
        if is_store_url(args.out):  # the pointer resolved; the run state from the local folder
            state = Path(args.state_dir) if args.state_dir else store_state_dir(args.out)
            parts = why_grouped_published(args.out, state, args.a, args.b, settings)
        else:
            parts = why_grouped(Path(args.out), args.a, args.b, settings)
    except (OSError, ValueError, UnknownDocument) as exc:
        print(f"newsclean why: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.json:
        print(json.dumps(parts, indent=2, sort_keys=True, ensure_ascii=False))
        return EXIT_OK
    a, b = parts["a"], parts["b"]
    verdict = "same cluster" if parts["same_cluster"] else "different clusters"
    print(f"{a} and {b}: {verdict}" + (" (copies of one text)" if parts["same_unit"] else ""))
    print(f"  shared specifics: {', '.join(parts['shared_specifics']) or '-'}")
    for doc_id in (a, b):
        missing = ", ".join(parts["conflicting_specifics"][doc_id]) or "-"
        print(f"  {doc_id}'s title specifics the other never mentions: {missing}")
    for doc_id in (a, b):
        only = ", ".join(parts["unmatched_specifics"][doc_id]) or "-"
        print(f"  specifics only {doc_id} has: {only}")
    subjects = parts["subjects"]
    print(f"  subjects (headline names rarest in the corpus): {subjects[a] or '-'} / {subjects[b] or '-'}")
    if parts["different_subjects"]:
        print("  different subjects: each story never mentions the other's, so they never share a cluster")
    gap = parts["date_gap_days"]
    print(f"  date gap: {'unknown (a date missing)' if gap is None else f'{gap} days'}")
    print(
        f"  cosine {parts['cosine']}, overlap {parts['overlap']} -> event score {parts['event_score']}; "
        f"agreement {parts['agreement']} (conflict {parts['conflict']}), "
        f"same-day factor {parts['date_close_factor']}, gap factor {parts['date_gap_factor']}"
    )
    weight = parts["edge_weight"]
    shown = weight if weight is not None else "no edge (no candidate, or not among either story's strongest)"
    if parts["different_subjects"]:
        shown = "none (a cannot-link)"
    print(f"  edge weight {shown}; the cut is {parts['threshold']}")
    return EXIT_OK


def cmd_explain(args: argparse.Namespace) -> int:
    """Print a file's cleaned text, then each removed span with the rule that removed it."""
    from newsclean.cleaners.types import CleanedText
    from newsclean.records import Quarantined
    from newsclean.sources import read_file
    from newsclean.stages.clean import clean_source, cleaned_document

    path = Path(args.file)
    if not path.is_file():
        print(f"newsclean: no such file: {path}", file=sys.stderr)
        return EXIT_USAGE
    settings = Settings.from_file(Path(args.settings) if args.settings else None)
    learned = None
    if args.run:  # the corpus-learned lines of that finished run apply too
        from newsclean.corpus import learned_from_run

        learned = learned_from_run(Path(args.run), settings.cleaning)
    for item in read_file(path.parent, path.name, settings.decode):
        if isinstance(item, Quarantined):
            print(f"quarantined: {item.reason} ({item.detail})")
            continue
        cleaned = clean_source(item, settings)
        if learned is not None:
            text, found = learned.explain(cleaned.text, cleaned_document(item, cleaned).outlet)
            cleaned = CleanedText(text, cleaned.metadata, (*cleaned.removals, *found))
        label = f"{item.source_path}" + (f" #{item.record_id}" if item.record_id else "")
        print(f"=== {label} (encoding {item.encoding}{', mojibake repaired' if item.mojibake_fixed else ''})")
        meta = cleaned.metadata
        print(
            f"title: {meta.title}\npublished: {meta.published}\nauthor: {meta.author}\noutlet: {meta.outlet}"
        )
        print("--- cleaned text")
        print(cleaned.text)
        print(f"--- removed ({len(cleaned.removals)})")
        for removal in cleaned.removals:
            text = removal.text if len(removal.text) <= 160 else removal.text[:157] + "..."
            print(f"[{removal.kind} / {removal.rule}] {text!r}")
    return EXIT_OK


def cmd_server(args: argparse.Namespace) -> int:
    """A local Prefect server (API and UI) on loopback, its database under the project."""
    from newsclean.flows.server import run_server

    return run_server(args.host, args.port, args.prefect_home)


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve the cleaning flow on a schedule against the configured Prefect server."""
    from newsclean.flows.serve import ServeConfigError, serve_cleaning

    try:
        serve_cleaning(
            args.raw,
            args.out,
            cron=args.cron,
            interval=args.interval,
            settings_file=args.settings,
            name=args.name,
            engine=_engine_parameters(args),
        )
    except ServeConfigError as exc:
        print(f"newsclean serve: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="newsclean", description=__doc__.split("\n")[0] if __doc__ else None
    )
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="clean a raw folder into canonical documents")
    run.add_argument("--raw", default="raw", help="input folder or s3://... prefix (default: raw)")
    run.add_argument("--out", default="clean", help="output folder or s3://... URL (default: clean)")
    run.add_argument(
        "--state-dir",
        help="with --out s3://...: the local folder of the run state and lock (default: in ~/.cache)",
    )
    run.add_argument("--settings", help="JSON file overriding settings (see newsclean/settings.py)")
    run.add_argument("--workers", type=int, help="processes for cleaning (default: cores)")
    run.add_argument("--batch-size", type=int, help="files per batch/task (default: 500)")
    mode = run.add_mutually_exclusive_group()
    mode.add_argument(
        "--prefect", dest="prefect", action="store_true", default=None, help="run as a Prefect flow run"
    )
    mode.add_argument("--no-prefect", dest="prefect", action="store_false", help="never use Prefect")
    run.add_argument(
        "--wait", type=float, default=0.0, help="seconds to wait if another run holds the output"
    )
    run.add_argument(
        "--debug-removals", action="store_true", help="list every removed span in documents.jsonl"
    )
    run.add_argument("--full", action="store_true", help="ignore the run state and re-clean every file")
    run.add_argument("--json", action="store_true", help="print the summary as JSON")
    run.add_argument("--quiet", action="store_true", help="no progress lines")
    _add_engine_options(run)
    run.set_defaults(func=cmd_run)

    explain = sub.add_parser("explain", help="show a file's cleaned text and what was removed, by rule")
    explain.add_argument("file")
    explain.add_argument("--settings")
    explain.add_argument(
        "--run", metavar="OUT", help="a finished run's output folder: its corpus-learned lines apply too"
    )
    explain.set_defaults(func=cmd_explain)

    why = sub.add_parser("why", help="show why two documents of a finished run were grouped, or not")
    why.add_argument("a", help="a document id (documents.jsonl's id)")
    why.add_argument("b", help="another document id")
    why.add_argument(
        "--out", default="clean", help="the run's output folder or s3://... URL (default: clean)"
    )
    why.add_argument("--state-dir", help="with --out s3://...: the run's local state folder")
    why.add_argument("--settings", help="the settings file the run used")
    why.add_argument("--json", action="store_true", help="print the parts as JSON")
    why.set_defaults(func=cmd_why)

    server = sub.add_parser("server", help="start a local Prefect server (API + UI) on 127.0.0.1")
    server.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    server.add_argument("--port", type=int, default=4200, help="port (default 4200)")
    server.add_argument("--prefect-home", help="Prefect's data folder (default: .prefect/ in the project)")
    server.set_defaults(func=cmd_server)

    serve = sub.add_parser("serve", help="run the cleaning flow on a schedule (needs PREFECT_API_URL)")
    serve.add_argument("--raw", default="raw", help="input folder (default: raw)")
    serve.add_argument("--out", default="clean", help="output folder (default: clean)")
    serve.add_argument("--settings", help="JSON file overriding settings")
    serve.add_argument("--name", default="newsclean-scheduled", help="deployment name")
    schedule = serve.add_mutually_exclusive_group(required=True)
    schedule.add_argument("--cron", help='cron schedule, e.g. "*/15 * * * *"')
    schedule.add_argument("--interval", type=int, help="seconds between runs")
    _add_engine_options(serve)
    serve.set_defaults(func=cmd_serve)
    return parser


def _stdout_reader_gone() -> bool:
    """Whether standard output is a pipe whose reader has closed it (poll reports POLLERR)."""
    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(events & select.POLLERR for _, events in poller.poll(0))
    except (OSError, ValueError, AttributeError):
        return False


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code = int(args.func(args))
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        # `newsclean why … | head` ends quietly, like any Unix tool. SIGPIPE keeps Python's
        # default (ignored): with SIG_DFL a write to a worker pipe that a stop had just closed
        # would kill the run by SIGPIPE before its own clean-up ran.
        if not _stdout_reader_gone():
            raise
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE


if __name__ == "__main__":
    sys.exit(main())
