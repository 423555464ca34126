"""bench/perf.py, section prefect: `newsclean run --prefect` against a local server vs `--no-prefect`.

The server is started by newsclean's own `newsclean.flows.server` (through common.prefect_server),
on a free loopback port with its home in the temporary folder, and stopped at the end.
"""

from __future__ import annotations

import os
import statistics
from collections.abc import Callable

from common import heading, in_turn, prefect_server
from perf_runs import STAGES, Bench, RunResult, label, log, newsclean_run, proc_stats, table

PREFECT_DOCS = 10_000


def session_cpu(session: int) -> float:
    """CPU seconds used so far by the live processes of a session (from /proc).

    Why: the server answers every flow's API calls and runs its services on the same two cores as
    the run, so the flow's cost is the run's CPU plus what the server spent meanwhile; the run's
    own CPU (`RunResult.cpu`) cannot see it."""
    tick = os.sysconf("SC_CLK_TCK")
    total = sum(int(f[11]) + int(f[12]) for _, f in proc_stats() if int(f[3]) == session)  # utime stime
    return total / tick


def section_prefect(bench: Bench) -> None:
    """Why: the flow's orchestration must cost <= 10% over calling the stages directly."""
    args = bench.args
    n = args.prefect_docs
    heading(f"prefect: {label(n)} files, `--prefect` against a local server vs `--no-prefect`")
    state = bench.corpus(n)
    try:
        with prefect_server(bench.tmp / "prefect-home") as prefect:
            log(f"Prefect server up at {prefect.api_url} in {prefect.startup_seconds:.1f} s")
            env = prefect.client_env()  # PREFECT_API_URL of this server
            server = prefect.process.pid  # its session: started with start_new_session
            direct: list[RunResult] = []
            flow: list[RunResult] = []
            server_cpu: dict[str, list[float]] = {"--prefect": [], "--no-prefect": []}

            def counted(mode: str, run: Callable[[], RunResult]) -> RunResult:
                before = session_cpu(server)
                result = run()
                server_cpu[mode].append(session_cpu(server) - before)
                return result

            out_flow = state.root / "out-prefect"
            for i in range(args.runs):
                # Interleaved, and in turn first: a machine speeding up (or slowing down) over
                # the section favours whichever mode always runs second (seen here: +30%
                # with --prefect always first, as the same runs sped up from 95 to 56 s).
                def run_flow(i: int = i) -> None:
                    flow.append(
                        counted(
                            "--prefect",
                            lambda: newsclean_run(
                                state.raw,
                                out_flow,
                                args,
                                prefect=True,
                                env=env,
                                what=f"{label(n)} --prefect run {i + 1}/{args.runs}",
                            ),
                        )
                    )

                def run_direct(i: int = i) -> None:
                    direct.append(
                        counted(
                            "--no-prefect",
                            lambda: newsclean_run(
                                state.raw,
                                state.root / "out-direct",
                                args,
                                what=f"{label(n)} --no-prefect run {i + 1}/{args.runs}",
                            ),
                        )
                    )

                in_turn(i, run_flow, run_direct)
                if not (flow[-1].ok and direct[-1].ok):
                    break
    except RuntimeError as exc:
        table(["mode", "status"], [["--prefect", f"FAILED: {exc}"]])
        return
    rows = []
    for name, runs in (("--no-prefect", direct), ("--prefect", flow)):
        ok = [r for r in runs if r.ok]
        if not ok:
            rows.append([name, f"0/{len(runs)}", runs[-1].status, runs[-1].error])
            continue
        rows.append(
            [
                name,
                f"{len(ok)}/{len(runs)}",
                statistics.median(r.wall for r in ok),
                *(statistics.median(r.stage(s) for r in ok) for s in (*STAGES, "total")),
                statistics.median(r.cpu for r in ok),
                statistics.median(server_cpu[name]),
                statistics.median(r.peak_mb for r in ok),
            ]
        )
    table(
        ["mode", "runs", "wall s", *(f"{s} s" for s in (*STAGES, "total")), "run CPU s", "server CPU", "MB"],
        rows,
    )
    d_ok, f_ok = [r.wall for r in direct if r.ok], [r.wall for r in flow if r.ok]
    if d_ok and f_ok:
        over = statistics.median(f_ok) / statistics.median(d_ok) - 1
        bench.figures["prefect"] = (n, over)
        pairs = [f.wall / d.wall - 1 for f, d in zip(flow, direct, strict=False) if f.ok and d.ok]
        print(
            f"Prefect overhead: {over * 100:+.1f}% of wall time (the server's own processes not counted "
            "in peak MB; the flow's work is the same stage functions); run by run: "
            + ", ".join(f"{p * 100:+.1f}%" for p in pairs)
        )
        # CPU, the server's included: what the flow costs the machine, less swayed than wall
        # time by how fast the machine happens to be in each run.
        flow_cpu = [r.cpu + c for r, c in zip(flow, server_cpu["--prefect"], strict=False)]
        direct_cpu = [r.cpu + c for r, c in zip(direct, server_cpu["--no-prefect"], strict=False)]
        cpu = [f / d - 1 for f, d in zip(flow_cpu, direct_cpu, strict=False) if d > 0]
        if cpu:
            print(
                "Prefect overhead in CPU seconds (run tree + server during it): "
                f"{statistics.median(cpu) * 100:+.1f}%; run by run: "
                + ", ".join(f"{c * 100:+.1f}%" for c in cpu)
            )
