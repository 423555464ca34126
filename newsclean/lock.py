"""One writer per output folder, and no worker outliving its run.

Two runs writing the same `clean/` (a scheduled run overlapping a manual one) would interleave
files from different inputs. An exclusive advisory lock (`flock`) on `<out>/.newsclean.lock`
prevents it. The file records its holder as `<pid> <start time>` (the start time is field 22 of
`/proc/<pid>/stat`, so a recycled pid is not mistaken for the holder).

The kernel drops a `flock` when the last descriptor of the open file closes, and a forked worker
holds a copy: a killed run's orphaned workers used to keep the lock, and every later run was
refused, naming a dead pid. Three things prevent that now:

- workers close the inherited lock descriptor and die with their parent (`worker_init`, the
  process pools' initializer: `PR_SET_PDEATHSIG` on Linux);
- a lock whose recorded holder is gone (no such pid, a zombie, or another start time) is taken
  over, with a warning, even while stray processes still hold the old file: a new lock file (a new
  inode) is locked first and then renamed over the old name;
- every step that reads or writes the holder record, and every takeover, happens under a second,
  short-held lock (`.newsclean/lock.takeover`), so two runs that find the same dead holder cannot
  both take over, and a run that has just locked the file (but not yet written its record) is
  never mistaken for the dead holder it replaces. After locking, a run checks that the file it
  locked is still the one at the path (a takeover may have replaced it) and starts again if not.
"""

from __future__ import annotations

import ctypes
import fcntl
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

LOCK_NAME = ".newsclean.lock"
GUARD_NAME = "lock.takeover"  # in <out>/.newsclean/
_PR_SET_PDEATHSIG = 1

# Descriptors of the locks this process holds: a forked worker closes its copies (`worker_init`).
_held: set[int] = set()


class OutputLocked(RuntimeError):
    """Another run holds the output folder."""


def process_start_time(pid: int) -> str | None:
    """The process's start time (clock ticks after boot, `/proc/<pid>/stat` field 22), or None
    where there is no /proc or no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2 :].split()  # fields 3.. (the name may hold spaces and ')')
    return fields[19] if len(fields) > 19 else None


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return False
    return stat[stat.rfind(")") + 2 :].startswith("Z")


def holder_alive(pid: int, start: str | None) -> bool:
    """Whether the process recorded as `pid` (started at `start`) still runs."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process: it exists
    if _is_zombie(pid):
        return False
    now = process_start_time(pid)
    return not (start is not None and now is not None and now != start)


def _identity() -> str:
    return f"{os.getpid()} {process_start_time(os.getpid()) or '-'}"


def _parse(record: str) -> tuple[int, str | None] | None:
    parts = record.split()
    if not parts or not parts[0].isdigit():
        return None
    start = parts[1] if len(parts) > 1 and parts[1] != "-" else None
    return int(parts[0]), start


def _read(fd: int) -> str:
    return os.pread(fd, 200, 0).decode("ascii", errors="replace").strip()


def _write(fd: int, record: str) -> None:
    os.ftruncate(fd, 0)
    os.pwrite(fd, record.encode("ascii"), 0)


def _same_file(fd: int, path: Path) -> bool:
    try:
        now = path.stat()
    except OSError:
        return False
    held = os.fstat(fd)
    return (held.st_dev, held.st_ino) == (now.st_dev, now.st_ino)


@contextmanager
def _guard(out_dir: Path) -> Iterator[None]:
    """The short-held lock around reading or writing the holder record and around a takeover."""
    folder = out_dir / ".newsclean"
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / GUARD_NAME, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _open_locked(path: Path) -> tuple[int, bool]:
    """(descriptor of the lock file, whether this process now holds its lock)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return fd, False
    except BaseException:
        os.close(fd)
        raise
    return fd, True


def _try_acquire(out_dir: Path, path: Path, warn: Callable[[str], None]) -> tuple[int | None, str]:
    """One attempt: (held descriptor or None, the holder's record when refused)."""
    fd, locked = _open_locked(path)
    with _guard(out_dir):
        if locked:
            if not _same_file(fd, path):  # replaced by a takeover since we opened it
                os.close(fd)
                return None, ""
            _write(fd, _identity())
            return fd, ""
        record = _read(fd)
        os.close(fd)
        holder = _parse(record)
        if holder is None or holder_alive(*holder):
            return None, record or "unknown"
        # The holder is gone but its lock is still held: stray processes of that run keep the
        # file open. Lock a new file (a new inode nobody else has) and rename it over the name.
        fresh = out_dir / ".newsclean" / f"lock.new-{os.getpid()}"
        new_fd = os.open(fresh, os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(new_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            _write(new_fd, _identity())
            os.replace(fresh, path)
        except BaseException:
            os.close(new_fd)
            fresh.unlink(missing_ok=True)
            raise
    warn(
        f"the run holding {out_dir} (pid {holder[0]}) is gone but its lock was still held "
        "(by processes it left behind); the lock was taken over"
    )
    return new_fd, ""


@contextmanager
def output_lock(
    out_dir: Path, wait_seconds: float = 0.0, warn: Callable[[str], None] | None = None
) -> Iterator[None]:
    """Hold the folder's lock for the block; wait up to `wait_seconds`, then refuse clearly. A
    lock left held by a run that is gone is taken over, and `warn` told why."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / LOCK_NAME
    deadline = time.monotonic() + wait_seconds
    while True:
        fd, record = _try_acquire(out_dir, path, warn or (lambda _message: None))
        if fd is not None:
            break
        if record and time.monotonic() >= deadline:
            holder = _parse(record)
            shown = str(holder[0]) if holder else "unknown"
            raise OutputLocked(
                f"another newsclean run (pid {shown}) is writing to {out_dir}; "
                "wait for it to finish or pass --wait SECONDS"
            )
        if record:
            time.sleep(0.2)
    _held.add(fd)
    try:
        yield
    finally:
        _held.discard(fd)
        try:
            os.ftruncate(fd, 0)  # no holder: nobody reads a stale record as a live one
        finally:
            os.close(fd)


def worker_init(parent_pid: int) -> None:
    """Initializer of every worker process of a run's pools: close the parent's lock descriptors
    (a worker must never keep the output folder locked), die with the parent (Linux:
    `PR_SET_PDEATHSIG`, so a `kill -9` of the run takes its workers along), leave SIGINT to the
    parent (which stops the pool) and take SIGTERM's default action."""
    for fd in list(_held):
        with suppress(OSError):
            os.close(fd)
    _held.clear()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent_pid:  # the parent died before the death signal was armed
        os._exit(1)
