"""Cleaning a batch of raw objects from an object store (`--raw s3://bucket/prefix`).

The readers (`newsclean.sources`) read local files: their checks (the size before reading, no
symlink swapped in, no FIFO) are file-system checks. So a batch whose raw root is a URL is
first copied, object by object, into a temporary folder of the process that cleans it (a Dask
worker, a pool process, the run's), under the same relative paths, and cleaned there by the
same function: the documents, their ids and the quarantine records are those of the same files
in a local folder. The plan found the objects (`newsclean.walk.scan_store`); nothing outside the
raw prefix is listed, so nothing outside it is copied.

A key that cannot be a relative path (`walk.unsafe_key`: an empty, `.` or `..` segment) is never
copied: its quarantine record says why. Two keys a folder cannot hold together (`a` and `a/b`)
are cleaned from two folders, so a batch's results do not depend on which keys share it.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from newsclean.output import pack
from newsclean.records import Quarantined
from newsclean.walk import UNSAFE_KEY, display_path, unsafe_key

UNREADABLE_OBJECT = "unreadable object"


def _layers(paths: Sequence[str]) -> list[list[str]]:
    """`paths` in groups a folder can hold together: no path of a group is a folder of another
    (one group unless keys such as `a` and `a/b` both exist)."""
    groups: list[tuple[list[str], set[str], set[str]]] = []  # (paths, files, folders)
    for path in sorted(paths):
        parents = {path[:k] for k in range(len(path)) if path[k] == "/"}
        for group in groups:
            if path not in group[2] and not parents & group[1]:
                break
        else:
            group = ([], set(), set())
            groups.append(group)
        group[0].append(path)
        group[1].add(path)
        group[2].update(parents)
    return [members for members, _, _ in groups]


class StoreBatch:
    """`fn` (the clean stage's `clean_batch`) for a batch whose raw root is an object-store
    URL: its objects copied to a temporary folder, `fn` run on that folder, the keys that cannot
    be copied quarantined. Picklable (a module-level class holding a module-level function), so
    any executor can send it to its workers."""

    def __init__(self, fn: Callable[[Any, Any], Any]) -> None:
        self.fn = fn

    def __call__(self, spec: Any, settings: Any) -> Any:
        import fsspec  # deferred: only a run on an object store copies objects

        fs, root = fsspec.core.url_to_fs(spec.raw_root)
        root = root.rstrip("/")
        refused: list[Quarantined] = []
        usable: list[str] = []
        for rel in spec.paths:
            why = unsafe_key(rel)
            if why is None:
                usable.append(rel)
            else:
                refused.append(Quarantined(display_path(rel), None, UNSAFE_KEY, f"{why}: never copied"))
        results = []
        with tempfile.TemporaryDirectory(prefix="newsclean-objects-") as folder:
            groups = _layers(usable) or [[]]
            for k, group in enumerate(groups):
                local = os.path.join(folder, f"raw-{k}")
                os.makedirs(local)
                fetched: list[str] = []
                for rel in group:  # one object at a time: a failure costs its object only
                    try:
                        target = os.path.join(local, rel)
                        os.makedirs(os.path.dirname(target), exist_ok=True)
                        fs.get_file(f"{root}/{rel}", target)
                        fetched.append(rel)
                    except Exception as exc:  # gone since the plan, no permission, network
                        detail = f"{type(exc).__name__}: {exc}"[:300]
                        refused.append(Quarantined(display_path(rel), None, UNREADABLE_OBJECT, detail))
                work = spec.work_file if len(groups) == 1 else os.path.join(folder, f"work-{k}.jsonl")
                part = replace(spec, raw_root=local, paths=tuple(fetched), work_file=work)
                results.append(self.fn(part, settings))
            if len(groups) > 1:
                with open(spec.work_file, "wb") as out:
                    for result in results:
                        out.write(Path(result.work_file).read_bytes())
        lines = [{"path": q.source_path, "quarantine": q.to_json()} for q in refused]
        if lines:
            with open(spec.work_file, "a", encoding="utf-8") as out:
                out.writelines(pack(line) + "\n" for line in lines)
        first = results[0]
        return replace(
            first,
            work_file=spec.work_file,
            files=len(spec.paths),
            documents=sum(r.documents for r in results),
            quarantined=sum(r.quarantined for r in results) + len(refused),
            seconds=round(sum(r.seconds for r in results), 4),
            phases={k: round(sum(r.phases.get(k, 0.0) for r in results), 4) for k in first.phases},
        )
