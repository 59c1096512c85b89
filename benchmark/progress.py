"""What one worker shows and counts while it works: the progress bar, the lines combinations print, the
time spent training and evaluating, and how each combination ended (the worker's ``StudySummary``).

The bar counts estimated seconds of work, not fits: each fit of a combination weighs its share of the
cost model's estimate for that combination (estimate.py), so the time left it shows is the estimate's
remaining work at the pace measured so far, and a first minute of cheap fits does not promise an hour
of expensive ones in two minutes (or the reverse). Without an estimate every fit weighs the same."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TextIO

from tqdm import tqdm

from benchmark.measurement import Measurement
from benchmark.timing import TimeBreakdown

BAR_FORMAT = "{desc}: {percentage:3.0f}%|{bar}| [{elapsed} elapsed, about {remaining} left{postfix}]"
SMOOTHING = 0.1  # tqdm's moving average of the pace: mostly the run so far, not the last few fits


@dataclass
class StudySummary:
    finished: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    wall_seconds: float = 0.0
    ended_at: float = 0.0  # time.time() when this worker last did work (not: waited for another's trials)
    alone_seconds: float = 0.0  # merged: how long the last worker worked after all the others had stopped
    breakdown: dict[str, float] = field(default_factory=dict)  # seconds per TimeBreakdown category


def work_bar(total: float, label: str, *, show: bool) -> tqdm:
    """The progress bar over ``total`` estimated seconds of work (fits, where there is no estimate)."""
    return tqdm(
        total=total,
        desc=label,
        bar_format=BAR_FORMAT,
        smoothing=SMOOTHING,
        dynamic_ncols=True,
        disable=not show,
    )


class PaceLines:
    """Several workers on one host print a line per combination; a bar drawn by the lead process among
    them would be torn, so the lead prints a line each time another ``step`` of the estimated work is
    done: the share done, the time so far and the time left at the pace so far."""

    def __init__(
        self,
        total: float,
        label: str,
        *,
        show: bool,
        step: float = 0.05,
        say: Callable[[str], None] = tqdm.write,
    ) -> None:
        self.total = max(total, 1e-9)
        self.say = say
        self.label = label
        self.show = show
        self.step = step
        self.start = time.perf_counter()
        self.next_share = step

    def update(self, done: float) -> None:
        share = min(1.0, done / self.total)
        if share < self.next_share or not self.show:
            return
        self.next_share = (int(share / self.step) + 1) * self.step
        elapsed = time.perf_counter() - self.start
        left = elapsed * (1 - share) / share
        self.say(
            f"{self.label}: {share:.0%} of the estimated work done in {_clock(elapsed)}, about {_clock(left)} left"
        )


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes // 60}:{minutes % 60:02d}:{secs:02d}" if minutes >= 60 else f"{minutes}:{secs:02d}"


class Progress:
    """A worker's ``Reporter`` (fits.py): combinations report their steps, time and outcomes here.

    ``costs``: the estimated worker seconds of each combination, by name (empty: every fit weighs 1);
    ``shared``: a ``multiprocessing.Value`` the workers of one host add their done work to, for the bar
    the lead process shows."""

    def __init__(
        self,
        timer: TimeBreakdown,
        *,
        show: bool = True,
        out: TextIO | None = None,
        costs: Mapping[str, float] | None = None,
        shared: Any = None,
    ) -> None:
        self.timer = timer
        self.show = show
        self.out = out
        self.costs = dict(costs or {})
        self.shared = shared
        self.summary = StudySummary()
        self.bar: tqdm | None = None
        self.fits_per_combination = 1

    def start(self, combinations: list[str], fits_per_combination: int, label: str) -> None:
        self.fits_per_combination = max(1, fits_per_combination)
        total = sum(self.fit_weight(name) * self.fits_per_combination for name in combinations)
        self.bar = work_bar(total, label, show=self.show)

    def fit_weight(self, name: str) -> float:
        return self.costs[name] / self.fits_per_combination if name in self.costs else 1.0

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()

    def write(self, line: str) -> None:
        tqdm.write(line, file=self.out)

    def progress(self, name: str, fits: int) -> None:
        """``fits`` fits of combination ``name`` are done (extra final seeds count nothing extra)."""
        amount = fits * self.fit_weight(name)
        if self.bar is not None:
            amount = min(amount, max(0.0, self.bar.total - self.bar.n))
            self.bar.update(amount)
        if self.shared is not None:
            with self.shared.get_lock():
                self.shared.value += amount

    def describe_progress(self, text: str) -> None:
        if self.bar is not None:
            self.bar.set_postfix_str(text)

    def account(self, measurement: Measurement) -> None:
        """A fit this worker trained has ended (and when: finding a combination done, or waiting for
        another worker's trials, is not work)."""
        self.summary.ended_at = time.time()
        self.timer.add("training", measurement.fit.train_seconds)
        self.timer.add("evaluation", measurement.fit.eval_seconds + measurement.final_eval_seconds)

    def outcome(self, name: str, kind: str, line: str | None = None) -> None:
        """A combination ended in this worker: ``finished``, ``failed`` or ``skipped`` (done before)."""
        {"finished": self.summary.finished, "failed": self.summary.failed, "skipped": self.summary.skipped}[
            kind
        ].append(name)
        if line is not None:
            self.write(line)
