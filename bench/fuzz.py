"""Mutation fuzzer of the clean stage's per-file path: no exception escapes a file's quarantine,
and no file's step runs past the per-file time limit.

Each case is one raw file, made from the seed articles (tests/fixtures/seeds), the test inputs
(tests/fixtures/inputs) or from nothing: random bytes, byte mutations and truncations, other
encodings (UTF-16, cp1252, Shift_JIS, GBK, broken UTF-8, mojibake), HTML fragments and pages with
deep or broken nesting, JSON Lines with odd values, gzip wrapping (whole, truncated, doubled,
garbage). It is read and cleaned exactly as the clean stage does it per file
(`newsclean.sources.read_file`, then `newsclean.stages.clean.clean_one` for each document, each
step under `StepClock`); every `--batch-every`th chunk of cases also goes through `clean_batch`
itself (signing and the work file included), which must give every file at least one line.

Reported: cases, exceptions that escaped (with the case's index and traceback), quarantines by
reason, "read error" / "cleaning error" quarantines (a reader's or cleaner's bug that the safety
net caught: with traceback), timeouts, the slowest cases, total time. A case is made again from
its index alone (`--case N --save DIR` writes it out), so every finding can be replayed.

    .venv/bin/python bench/fuzz.py                    # 100,000 cases on every core
    .venv/bin/python bench/fuzz.py --cases 2000 --processes 2
    .venv/bin/python bench/fuzz.py --case 1234 --save /tmp/case   # replay one case

Exit status 1 when an exception escaped or a case ran past the limit, else 0.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import multiprocessing
import os
import random
import shutil
import sys
import tempfile
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SEED_DIRS = (REPO / "tests" / "fixtures" / "seeds", REPO / "tests" / "fixtures" / "inputs")
CHUNK = 50  # cases per task: one temporary folder, one clean_batch when it is this chunk's turn

# ----------------------------------------------------------------------------------------------
# Case generation: everything from random.Random(f"{seed}:{index}"), so an index replays a case.


def _load_seeds() -> list[tuple[str, bytes]]:
    seeds = []
    for folder in SEED_DIRS:
        for path in sorted(folder.iterdir()):
            if path.is_file() and path.suffix != ".json":
                seeds.append((path.name, path.read_bytes()))
    return seeds


SEEDS: list[tuple[str, bytes]] = []

WORDS = [
    "the",
    "harbour",
    "authority",
    "said",
    "on",
    "Tuesday",
    "that",
    "a",
    "new",
    "pier",
    "would",
    "open",
    "to",
    "ferries",
    "next",
    "spring",
    "while",
    "council",
    "members",
    "voted",
    "against",
    "the",
    "plan",
    "citing",
    "costs",
    "Reuters",
    "reported",
    "Photo:",
    "AP",
    "Share",
    "this",
    "article",
    "Advertisement",
    "Read",
    "more",
    "©",
    "2024",
    "All",
    "rights",
    "reserved",
    "Subscribe",
    "now",
]
TAGS = ["p", "div", "span", "b", "i", "a", "li", "ul", "table", "tr", "td", "h1", "h2", "blockquote"]
TAGS += ["br", "img", "script", "style", "template", "noscript", "svg", "iframe", "figcaption", "article"]
SUFFIXES = [
    ".txt",
    ".html",
    ".htm",
    ".jsonl",
    ".ndjson",
    ".md",
    ".txt.gz",
    ".html.gz",
    ".jsonl.gz",
    ".pdf",
    "",
]
ENCODINGS = [
    "utf-16",
    "utf-16-le",
    "utf-16-be",
    "cp1252",
    "shift_jis",
    "gbk",
    "latin-1",
    "utf-8-sig",
    "euc-kr",
]


def _prose(rnd: random.Random, words: int) -> str:
    lines = []
    while words > 0:
        n = min(words, rnd.randint(3, 40))
        lines.append(" ".join(rnd.choice(WORDS) for _ in range(n)).capitalize() + ".")
        words -= n
    return "\n".join(lines)


def _seed_text(rnd: random.Random) -> str:
    name, data = rnd.choice(SEEDS)
    if name.endswith(".gz"):
        with contextlib.suppress(Exception):
            data = gzip.decompress(data)
    return data.decode("utf-8", "replace")


def _markup(rnd: random.Random) -> str:
    """HTML fragments: deep, broken, unclosed, with comments, code, entities and odd tags."""
    kind = rnd.randrange(7)
    if kind == 0:  # deep nesting of one tag
        tag = rnd.choice(TAGS)
        depth = rnd.choice([10, 100, 1000, 3000])
        return f"<{tag}>" * depth + _prose(rnd, 30) + f"</{tag}>" * rnd.choice([0, depth // 2, depth])
    if kind == 1:  # mixed nesting, sometimes unclosed
        out = []
        for _ in range(rnd.randint(3, 300)):
            r = rnd.random()
            tag = rnd.choice(TAGS)
            if r < 0.4:
                attrs = rnd.choice(
                    ["", " class='x'", ' href="http://e.x/?a=1&b=2"', " style='" + "x" * 600 + "'"]
                )
                out.append(f"<{tag}{attrs}>")
            elif r < 0.6:
                out.append(f"</{tag}>")
            else:
                out.append(_prose(rnd, rnd.randint(1, 15)))
        return "".join(out)
    if kind == 2:  # comments and code, whole, escaped or unterminated
        parts = [_prose(rnd, 40)]
        for _ in range(rnd.randint(1, 20)):
            parts.append(
                rnd.choice(
                    [
                        "<!-- c -->",
                        "<!--",
                        "-->",
                        "&lt;!-- x --&gt;",
                        "!-- Google tag (gtag.js) -->",
                        "<script>",
                        "</script>",
                        "<style>p{}</style>",
                        "<![CDATA[x]]>",
                        "<?php echo 1 ?>",
                        "&amp;lt;!-- y --&amp;gt;",
                        "<!doctype html>",
                    ]
                )
            )
            parts.append(_prose(rnd, rnd.randint(0, 20)))
        return "".join(parts)
    if kind == 3:  # entities, valid and not
        ents = [
            "&amp;",
            "&#x1F600;",
            "&#0;",
            "&#xD800;",
            "&#99999999;",
            "&nbsp;",
            "&bogus;",
            "&",
            "&#",
            "&#x;",
        ]
        return (
            "<p>"
            + "".join(rnd.choice(ents) + rnd.choice(WORDS) + " " for _ in range(rnd.randint(3, 200)))
            + "</p>" * 3
        )
    if kind == 4:  # a whole page around prose, maybe with a charset that lies
        charset = rnd.choice(["utf-8", "shift_jis", "iso-8859-1", "utf-16", "bogus-enc", ""])
        body = "".join(f"<p>{line}</p>" for line in _prose(rnd, rnd.randint(5, 400)).split("\n"))
        head = f'<meta charset="{charset}">' if charset else ""
        page = f"<html><head>{head}<title>T</title></head><body><article>{body}</article></body></html>"
        return "<!doctype html>" + page
    if kind == 5:  # seed text wrapped in paragraphs
        return "".join(f"<p>{line}</p>" for line in _seed_text(rnd).split("\n"))
    return "<table>" + "<tr><td>" * rnd.randint(1, 1000) + _prose(rnd, 20)  # unclosed tables


def _odd_value(rnd: random.Random) -> Any:
    return rnd.choice(
        [
            None,
            0,
            -1,
            1e308,
            True,
            [],
            {},
            [1, "a"],
            {"a": {"b": None}},
            "",
            " ",
            "\x00",
            "\ud800x",  # a lone surrogate
            "x" * rnd.choice([1, 1000, 20000]),
            _prose(rnd, 30),
            _markup(rnd),
            "2024-13-45",
            "9999-99-99T99:99",
        ]
    )


def _jsonl(rnd: random.Random) -> bytes:
    lines: list[str] = []
    for _ in range(rnd.randint(0, 12)):
        r = rnd.random()
        if r < 0.45:
            record: dict[str, Any] = {}
            for key in rnd.sample(
                ["id", "text", "html", "title", "url", "published", "outlet", "date", "x"], rnd.randint(0, 6)
            ):
                record[key] = _odd_value(rnd) if rnd.random() < 0.5 else _prose(rnd, rnd.randint(1, 200))
            lines.append(json.dumps(record, ensure_ascii=rnd.random() < 0.5))
        elif r < 0.6:
            lines.append(json.dumps({"id": rnd.randint(0, 9), "text": _seed_text(rnd)}))
        elif r < 0.7:
            lines.append(json.dumps(_odd_value(rnd)))  # not an object
        elif r < 0.8:
            lines.append(
                rnd.choice(['{"text": "unterminated', "{", "}", "NaN", '{"text": NaN}', '{"a":1}{"b":2}'])
            )
        elif r < 0.9:
            lines.append(
                rnd.choice(["", "   ", "\ufeff{}", '{"text":"a","text":"b"}', '{"text": "\\ud800\\udc00x"}'])
            )
        else:
            lines.append(json.dumps({"html": _markup(rnd), "title": _odd_value(rnd)}))
    sep = rnd.choice(["\n", "\r\n", "\r", "\n\n", "\u2028"])
    return sep.join(lines).encode("utf-8", "surrogatepass" if rnd.random() < 0.3 else "replace")


def _encode(rnd: random.Random, text: str) -> bytes:
    r = rnd.random()
    if r < 0.5:
        return text.encode(rnd.choice(ENCODINGS), "replace")
    if r < 0.7:  # mojibake, once or twice
        data = text.encode("utf-8")
        for _ in range(rnd.randint(1, 2)):
            data = data.decode("cp1252", "replace").encode("utf-8")
        return data
    data = bytearray(text.encode("utf-8"))  # broken UTF-8: stray continuation and lead bytes
    for _ in range(rnd.randint(1, 20)):
        if data:
            data.insert(
                rnd.randrange(len(data)), rnd.choice([0x80, 0xBF, 0xC3, 0xE2, 0xF0, 0xFF, 0xED, 0x00])
            )
    return bytes(data)


def _mutate(rnd: random.Random, data: bytes) -> bytes:
    buf = bytearray(data)
    for _ in range(rnd.randint(1, 8)):
        op = rnd.randrange(7)
        if op == 0 and buf:  # bit flip
            i = rnd.randrange(len(buf))
            buf[i] ^= 1 << rnd.randrange(8)
        elif op == 1:  # random bytes in
            i = rnd.randint(0, len(buf))
            buf[i:i] = bytes(rnd.randrange(256) for _ in range(rnd.randint(1, 16)))
        elif op == 2 and buf:  # delete a span
            i = rnd.randrange(len(buf))
            del buf[i : i + rnd.randint(1, 64)]
        elif op == 3 and buf:  # truncate
            del buf[rnd.randrange(len(buf)) :]
        elif op == 4 and buf:  # duplicate a span
            i = rnd.randrange(len(buf))
            span = buf[i : i + rnd.randint(1, 256)]
            buf[i:i] = span * rnd.randint(1, 20)
        elif op == 5:  # splice a piece of another seed
            other = rnd.choice(SEEDS)[1]
            if other:
                j = rnd.randrange(len(other))
                i = rnd.randint(0, len(buf))
                buf[i:i] = other[j : j + rnd.randint(1, 2000)]
        else:  # interesting bytes
            i = rnd.randint(0, len(buf))
            buf[i:i] = rnd.choice(
                [b"\x00", b"\xff\xfe", b"\xfe\xff", b"\xef\xbb\xbf", b"\r", b"\x1b[0m", b"<", b"\x85"]
            )
    return bytes(buf)


def _gzip_wrap(rnd: random.Random, data: bytes) -> bytes:
    r = rnd.random()
    packed = gzip.compress(data, compresslevel=rnd.choice([1, 6, 9]))
    if r < 0.5:
        return packed
    if r < 0.75:  # truncated
        return packed[: rnd.randrange(max(1, len(packed)))]
    if r < 0.85:  # gzip of gzip
        return gzip.compress(packed)
    if r < 0.95:  # corrupt in the middle
        buf = bytearray(packed)
        if len(buf) > 20:
            buf[rnd.randrange(10, len(buf))] ^= 0xFF
        return bytes(buf)
    return b"\x1f\x8b" + bytes(rnd.randrange(256) for _ in range(rnd.randint(0, 64)))  # garbage


def make_case(seed: int, index: int) -> tuple[str, bytes, str]:
    """(file name, bytes, how it was made) of case `index`."""
    rnd = random.Random(f"{seed}:{index}")
    r = rnd.random()
    if r < 0.2:
        source_name, data = rnd.choice(SEEDS)
        how = f"seed {source_name} mutated"
        data = _mutate(rnd, data)
        suffix = "".join(Path(source_name).suffixes[-2:]) if rnd.random() < 0.6 else rnd.choice(SUFFIXES)
    elif r < 0.3:
        text = _seed_text(rnd)
        enc = rnd.random()
        how = "seed text re-encoded"
        data = _encode(rnd, text)
        suffix = rnd.choice([".txt", ".txt", ".md", ".html"]) if enc < 0.9 else rnd.choice(SUFFIXES)
    elif r < 0.5:
        how = "markup"
        text = _markup(rnd)
        data = text.encode("utf-8") if rnd.random() < 0.7 else _encode(rnd, text)
        suffix = rnd.choice([".html", ".html", ".htm", ".txt"])
    elif r < 0.7:
        how = "jsonl"
        data = _jsonl(rnd)
        suffix = rnd.choice([".jsonl", ".ndjson", ".jsonl"])
    elif r < 0.75:
        how = "random bytes"
        data = bytes(rnd.randrange(256) for _ in range(rnd.choice([0, 1, 3, 100, 4000])))
        suffix = rnd.choice(SUFFIXES)
    elif r < 0.85:
        how = "prose"
        text = _prose(rnd, rnd.randint(0, 600))
        data = text.encode("utf-8") if rnd.random() < 0.5 else _encode(rnd, text)
        suffix = rnd.choice([".txt", ".md", ".text"])
    else:
        how = "mutated generated"
        base = rnd.choice([_markup(rnd).encode(), _jsonl(rnd), _prose(rnd, 200).encode()])
        data = _mutate(rnd, base)
        suffix = rnd.choice(SUFFIXES)
    if rnd.random() < 0.12:
        how += ", gzip"
        data = _gzip_wrap(rnd, data)
        if not suffix.endswith(".gz"):
            suffix += ".gz"
    elif suffix.endswith(".gz") and not data.startswith(b"\x1f\x8b") and rnd.random() < 0.8:
        data = gzip.compress(data)
    return f"case{index}{suffix}", data, how


# ----------------------------------------------------------------------------------------------
# Running cases


@dataclass
class Tally:
    cases: int = 0
    documents: int = 0
    escaped: list[dict[str, Any]] = field(default_factory=list)  # exceptions out of the path
    caught: list[dict[str, Any]] = field(default_factory=list)  # read/cleaning errors quarantined
    timeouts: list[dict[str, Any]] = field(default_factory=list)
    reasons: Counter[str] = field(default_factory=Counter)
    slowest: list[tuple[float, int, str]] = field(default_factory=list)
    batches: int = 0
    seconds: float = 0.0

    def merge(self, other: Tally) -> None:
        self.cases += other.cases
        self.documents += other.documents
        self.escaped += other.escaped
        self.caught += other.caught
        self.timeouts += other.timeouts
        self.reasons.update(other.reasons)
        self.slowest = sorted(self.slowest + other.slowest, reverse=True)[:10]
        self.batches += other.batches
        self.seconds += other.seconds


def _diagnose(root: Path, name: str, item: Any, settings: Any, reason: str) -> str:
    """The traceback behind a "read error" or "cleaning error" quarantine (run again unguarded)."""
    from newsclean import sources
    from newsclean.stages.clean import clean_source

    try:
        if reason == "read error":
            reader = getattr(sources, "_read", None)
            if reader is None:
                return "(no unguarded reader to replay)"
            try:
                reader(root, name, sources.display_path(name), settings.decode)
            except TypeError:
                reader(root, name, settings.decode)
        else:
            clean_source(item, settings)
    except Exception:
        return traceback.format_exc(limit=-8)
    return "(did not fail again)"


def warm_up() -> None:
    """Each worker first cleans a page and a text: the extractors compile their patterns on first
    use (seconds), which is no case's cost."""
    from newsclean.settings import Settings
    from newsclean.sources import read_file
    from newsclean.stages.clean import clean_one

    if not SEEDS:
        SEEDS.extend(_load_seeds())
    settings = Settings()
    for folder, name in ((SEED_DIRS[1], "article.html.gz"), (SEED_DIRS[0], SEEDS[0][0])):
        if (folder / name).is_file():
            for item in read_file(folder, name, settings.decode):
                if not hasattr(item, "reason"):
                    clean_one(item, settings)


def run_chunk(args: tuple[int, int, int, float, int]) -> Tally:
    """Cases [start, start + count): the per-file path for each, and clean_batch on the chunk when
    `batch` says so. Runs in a pool worker's main thread, where the clock can use SIGALRM."""
    seed, start, count, limit, batch = args
    from newsclean.records import Quarantined
    from newsclean.settings import RunSettings, Settings
    from newsclean.sources import read_file
    from newsclean.stages.clean import StepClock, StepTimeout, clean_batch, clean_one
    from newsclean.stages.plan import BatchSpec

    if not SEEDS:
        SEEDS.extend(_load_seeds())
    settings = Settings(run=RunSettings(file_seconds=limit, workers=1))
    tally = Tally()
    started_chunk = time.perf_counter()
    root = Path(tempfile.mkdtemp(prefix="fuzz-"))
    try:
        names = []
        for index in range(start, start + count):
            name, data, how = make_case(seed, index)
            (root / name).write_bytes(data)
            names.append(name)
            tally.cases += 1
            t = time.perf_counter()
            step = "read"
            try:
                with StepClock(limit) as clock:
                    results = clock.run("read", read_file, root, name, settings.decode)
                    for item in results:
                        if isinstance(item, Quarantined):
                            outcome = item
                        else:
                            step = "clean"
                            outcome = clock.run("clean", clean_one, item, settings)
                        if isinstance(outcome, Quarantined):
                            tally.reasons[outcome.reason] += 1
                            if outcome.reason in ("read error", "cleaning error"):
                                tally.caught.append(
                                    {"case": index, "how": how, "name": name, "reason": outcome.reason,
                                     "detail": outcome.detail[:300],
                                     "traceback": _diagnose(root, name, item, settings, outcome.reason)}
                                )  # fmt: skip
                        else:
                            tally.documents += 1
            except StepTimeout as timeout:
                tally.timeouts.append({"case": index, "how": how, "name": name, "step": timeout.step})
            except BaseException as exc:  # escaped the file's quarantine
                if isinstance(exc, KeyboardInterrupt):
                    raise
                tally.escaped.append(
                    {"case": index, "how": how, "name": name, "step": step,
                     "traceback": "".join(traceback.format_exception(exc, limit=-10))}
                )  # fmt: skip
            elapsed = time.perf_counter() - t
            tally.slowest = sorted([*tally.slowest, (elapsed, index, how)], reverse=True)[:10]
        if batch:
            tally.batches += 1
            spec = BatchSpec(0, 1, str(root), tuple(names), str(root / "work.jsonl"))
            try:
                result = clean_batch(spec, settings)
                lines = (root / "work.jsonl").read_bytes().count(b"\n")
                if lines < len(names) or result.files != len(names):
                    problem = f"{lines} lines for {len(names)} files"
                    tally.escaped.append(_batch_finding(start, problem))
            except Exception:
                tally.escaped.append(_batch_finding(start, traceback.format_exc(limit=-10)))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    tally.seconds = time.perf_counter() - started_chunk
    return tally


def _batch_finding(start: int, problem: str) -> dict[str, Any]:
    return {"case": start, "how": "clean_batch", "name": "(chunk)", "step": "batch", "traceback": problem}


def _report(tally: Tally, wall: float, limit: float, processes: int) -> None:
    print(f"cases: {tally.cases:,} ({tally.documents:,} documents; clean_batch on {tally.batches} chunks)")
    print(f"processes: {processes}; total time: {wall:.1f} s wall, {tally.seconds:.1f} s in workers")
    print(f"exceptions escaping a file's quarantine: {len(tally.escaped)}")
    print(f"cases over the {limit:g} s limit (timeouts): {len(tally.timeouts)}")
    print(f"read/cleaning errors caught as quarantine: {len(tally.caught)}")
    if tally.slowest:
        top = tally.slowest[0]
        print(f"max case time: {top[0]:.3f} s (case {top[1]}, {top[2]})")
        print("slowest:", ", ".join(f"{s:.2f}s #{i}" for s, i, _ in tally.slowest))
    print("quarantine reasons:", dict(tally.reasons.most_common()))
    for title, items in (("ESCAPED", tally.escaped), ("TIMEOUT", tally.timeouts), ("CAUGHT", tally.caught)):
        groups: dict[str, list[dict[str, Any]]] = {}
        for item in items:
            tb = item.get("traceback", item.get("step", ""))
            key = tb.strip().splitlines()[-1][:160] if tb.strip() else "?"
            groups.setdefault(key, []).append(item)
        for key, group in groups.items():
            first = group[0]
            print(f"\n{title} x{len(group)}: {key}")
            print(f"  first: case {first['case']} ({first['how']}, {first['name']})")
            print("  cases:", ", ".join(str(g["case"]) for g in group[:20]))
            if "traceback" in first:
                print("  " + first["traceback"].strip().replace("\n", "\n  "))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 1)
    parser.add_argument(
        "--limit", type=float, default=None, help="per-file step limit (default: run.file_seconds)"
    )
    parser.add_argument(
        "--batch-every", type=int, default=10, help="clean_batch on every Nth chunk (0: never)"
    )
    parser.add_argument("--case", type=int, help="make this one case only (with --save)")
    parser.add_argument("--save", help="folder to write --case to")
    args = parser.parse_args(argv)
    SEEDS.extend(_load_seeds())
    if args.case is not None:
        name, data, how = make_case(args.seed, args.case)
        print(f"case {args.case}: {name}, {len(data)} bytes, {how}")
        if args.save:
            Path(args.save).mkdir(parents=True, exist_ok=True)
            (Path(args.save) / name).write_bytes(data)
            print("written to", Path(args.save) / name)
        return 0
    from newsclean.settings import RunSettings

    limit = RunSettings().file_seconds if args.limit is None else args.limit
    chunks = [
        (
            args.seed,
            start,
            min(CHUNK, args.cases - start),
            limit,
            int(args.batch_every > 0 and n % args.batch_every == 0),
        )
        for n, start in enumerate(range(0, args.cases, CHUNK))
    ]
    total = Tally()
    started = time.perf_counter()
    context = multiprocessing.get_context("forkserver" if sys.platform != "win32" else "spawn")
    with context.Pool(args.processes, initializer=warm_up) as pool:
        for done, tally in enumerate(pool.imap_unordered(run_chunk, chunks), 1):
            total.merge(tally)
            if done % max(1, len(chunks) // 20) == 0:
                print(
                    f"  {total.cases:,} cases, {time.perf_counter() - started:.0f} s",
                    file=sys.stderr,
                    flush=True,
                )
    _report(total, time.perf_counter() - started, limit, args.processes)
    return 1 if total.escaped or total.timeouts else 0


if __name__ == "__main__":
    sys.exit(main())
