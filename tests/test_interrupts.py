"""A Ctrl-C that Python itself drops still stops a run."""

from __future__ import annotations

import os
import signal
import sys

import pytest

from benchmark.interrupts import raise_if_interrupted, stop_on_signals


class _SignalledWhileFinalized:
    def __del__(self) -> None:
        os.kill(os.getpid(), signal.SIGINT)  # its KeyboardInterrupt is raised in here, and dropped


def test_a_signal_whose_exception_python_dropped_is_raised_at_the_next_step(capfd, monkeypatch):
    previous = signal.getsignal(signal.SIGINT)  # not always Python's default: the suite may run with another
    monkeypatch.setattr(sys, "unraisablehook", sys.__unraisablehook__)  # a plain interpreter's, not pytest's
    with stop_on_signals():
        _SignalledWhileFinalized()  # collected at once: Python drops the KeyboardInterrupt raised in it
        # reached: Python dropped the interrupt; the next step raises it
        with pytest.raises(KeyboardInterrupt, match="signal 2"):
            raise_if_interrupted()
    raise_if_interrupted()  # outside the block nothing is remembered
    assert signal.getsignal(signal.SIGINT) is previous and sys.unraisablehook is sys.__unraisablehook__
    # remembered, so not printed: no "Exception ignored in ..." traceback on a user's terminal
    assert "Exception ignored" not in capfd.readouterr().err


def test_sigterm_is_an_interrupt_inside_the_block_only():
    previous = signal.getsignal(signal.SIGTERM)
    with stop_on_signals(), pytest.raises(KeyboardInterrupt, match="signal 15"):
        os.kill(os.getpid(), signal.SIGTERM)
        signal.pause()  # not reached: the handler raises as soon as the signal arrives
    assert signal.getsignal(signal.SIGTERM) is previous
