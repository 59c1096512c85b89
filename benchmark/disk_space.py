"""A full disk is a clean stop: one line naming the path and the space needed, nothing left RUNNING.

When the disk under the workdir fills, SQLite, the Optuna journal and the artifact store all fail, and so
would the writes that close the current trial and runs. So a local run keeps a small reserve file in its
workdir for its whole life; when the disk fills, the reserve is deleted first, which gives the clean-up
(closing the trial as interrupted, marking runs KILLED, cutting a torn journal record) room to write.
A rerun, once space is freed, resumes exactly where the run stopped, as after Ctrl-C.
"""

from __future__ import annotations

import errno
import shutil
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

RESERVE_NAME = ".disk-reserve"
RESERVE_BYTES = 4 * 1024 * 1024  # what closing a trial and its runs writes, many times over
# How SQLite and drivers word a full disk when they do not pass the OSError on
FULL_MESSAGES = ("database or disk is full", "no space left on device", "disk quota exceeded")


class DiskFull(Exception):
    """The disk under ``path`` filled up (``free`` bytes were left when it was met, where known)."""

    def __init__(self, path: Path, free: int | None = None) -> None:
        super().__init__(str(path))
        self.path = path
        self.free = free


def free_when_full(err: BaseException, path: Path) -> int:
    """The free space when the disk filled: as a worker measured it, else as it is now."""
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, DiskFull) and current.free is not None:
            return current.free
        current = current.__cause__ or current.__context__
    return free_bytes(path)


def is_disk_full(err: BaseException | None) -> bool:
    """Whether ``err``, or any exception it was raised from or during, is a full disk (or quota)."""
    seen: set[int] = set()
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        if isinstance(err, DiskFull):
            return True
        if isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if any(message in str(err).lower() for message in FULL_MESSAGES):
            return True
        err = err.__cause__ or err.__context__
    return False


def full_path(err: BaseException, default: Path) -> Path:
    """The file the full disk was met on, where the error names one; else ``default``."""
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, DiskFull):
            return current.path
        if isinstance(current, OSError) and current.filename:
            return Path(current.filename)
        current = current.__cause__ or current.__context__
    return default


@contextmanager
def reserve(workdir: Path) -> Iterator[None]:
    """Hold ``RESERVE_BYTES`` in ``workdir`` for the block (raises DiskFull if even that is not free)."""
    path = workdir / RESERVE_NAME
    try:
        with path.open("wb") as handle:  # real bytes: sparse or lazily allocated space would not be held
            handle.write(bytes(RESERVE_BYTES))
            handle.flush()
    except OSError as err:
        release(workdir)
        if is_disk_full(err):
            raise DiskFull(workdir) from err
        raise
    try:
        yield
    finally:
        release(workdir)


def release(workdir: Path) -> None:
    with suppress(FileNotFoundError):
        (workdir / RESERVE_NAME).unlink()


def store_bytes(workdir: Path) -> int:
    """What the study's local stores take on disk (MLflow database and artifacts, Optuna journal)."""
    total = 0
    for path in workdir.rglob("*"):
        if path.name != RESERVE_NAME:
            with suppress(OSError):
                if path.is_file():
                    total += path.stat().st_size
    return total


def free_bytes(path: Path) -> int:
    """Free space on the file system holding ``path`` (or its nearest existing parent)."""
    while not path.exists() and path != path.parent:
        path = path.parent
    return shutil.disk_usage(path).free


def describe(path: Path, workdir: Path, done: int, left: int, free: int) -> str:
    """The one line: where, how much was free, and how much the remaining combinations need (the store's
    size per finished combination so far, times the combinations left, plus the reserve)."""
    mib = 1024.0 * 1024.0
    if done:
        per = store_bytes(workdir) / done
        need = (
            f"about {(per * left + RESERVE_BYTES) / mib:.0f} MB for the {left} combination(s) left "
            f"({per / mib:.1f} MB each so far)"
        )
    else:
        need = f"at least {RESERVE_BYTES / mib:.0f} MB, and more for every combination"
    return (
        f"disk full at {path}: {free / mib:.1f} MB free; this study needs {need}. Nothing is lost and no run "
        f"is left RUNNING: free space (or set workdir= elsewhere and move the folder there), then rerun the "
        f"same command to resume"
    )
