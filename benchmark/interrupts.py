"""Holding Ctrl-C and SIGTERM back while a step must not be cut in half."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def deferred_interrupts() -> Iterator[None]:
    """Inside the block, SIGINT and SIGTERM are noted instead of raised; at its end a noted signal is
    raised as KeyboardInterrupt. For steps whose cleanup a signal would break (MLflow's model loading
    removes a temporary folder: interrupted there, the cleanup itself fails with a traceback)."""
    if threading.current_thread() is not threading.main_thread():  # handlers live in the main thread
        yield
        return
    received: list[int] = []

    def note(signum: int, frame: Any) -> None:
        received.append(signum)

    previous = {sig: signal.signal(sig, note) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if received:
        raise KeyboardInterrupt(f"signal {received[0]}")
