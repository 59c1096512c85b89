"""Ctrl-C and SIGTERM: raised as KeyboardInterrupt, remembered so none is lost, and held back while a step
must not be cut in half."""

from __future__ import annotations

import functools
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

_RECEIVED: list[int] = []  # signals received under ``stop_on_signals``, in order


def _note_and_raise(signum: int, frame: Any) -> None:
    _RECEIVED.append(signum)
    raise KeyboardInterrupt(f"signal {signum}")


def _drop_quietly(fallback: Callable[[Any], object], unraisable: Any) -> None:
    """``sys.unraisablehook`` inside ``stop_on_signals``: a signal's KeyboardInterrupt raised inside a
    finalizer (e.g. SQLAlchemy's weakref clean-up during a SIGTERM) is dropped by Python; it is
    remembered in ``_RECEIVED`` and raised between steps, so it needs no "Exception ignored" traceback
    on stderr. Anything else goes to the hook it replaced."""
    if isinstance(unraisable.exc_value, KeyboardInterrupt) and _RECEIVED:
        return
    fallback(unraisable)


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """Inside the block SIGINT and SIGTERM raise KeyboardInterrupt and are remembered.

    Installed explicitly, because Python keeps SIGINT ignored when its process starts with it ignored, as
    every command started in the background by a non-interactive shell does (``cmd &`` in a script or a
    job runner): ``kill -INT`` then did nothing and the run went on to its end with exit 0. Remembered,
    because Python drops an exception raised inside a finalizer with an "Exception ignored" line;
    ``raise_if_interrupted`` between steps stops the run there instead."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _RECEIVED.clear()
    previous = {sig: signal.signal(sig, _note_and_raise) for sig in (signal.SIGINT, signal.SIGTERM)}
    previous_hook = sys.unraisablehook
    sys.unraisablehook = functools.partial(_drop_quietly, previous_hook)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        sys.unraisablehook = previous_hook
        _RECEIVED.clear()


def interrupted() -> bool:
    """A stop was asked for (inside ``stop_on_signals``)."""
    return bool(_RECEIVED)


def raise_if_interrupted() -> None:
    """Raise the KeyboardInterrupt of a signal received earlier whose own exception was dropped."""
    if _RECEIVED:
        raise KeyboardInterrupt(f"signal {_RECEIVED[0]}")


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
