"""One running `run` (or `latency`) per workdir on one host: a second start is refused, never mixed in.

Two invocations on one local store would each sweep the other's live trials as interrupted and exceed
the trial budget. The first one holds an advisory lock on ``<workdir>/.run.lock`` for its whole life
(released by the kernel however it ends, SIGKILL included); a second one gets one line naming it. More
workers on one host come from ``workers=N`` in one invocation; several hosts share a database storage,
which needs no lock (no start-up sweep closes anything there).
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from benchmark.errors import ConfigError

LOCK_NAME = ".run.lock"


@contextmanager
def exclusive_run(workdir: Path, command: str) -> Iterator[None]:
    """Hold the workdir's run lock for the block, or refuse (ConfigError) if another process holds it."""
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / LOCK_NAME
    handle = path.open("a+")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise ConfigError(
                f"this study's workdir {workdir} is in use by {holder}; wait for it to end (or stop it: "
                f"a rerun resumes), and add workers with workers=N in one invocation"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"`{command}` (pid {os.getpid()}, started {time.strftime('%Y-%m-%d %H:%M:%S')})\n")
        handle.flush()
        yield
    finally:
        handle.close()  # releases the lock
