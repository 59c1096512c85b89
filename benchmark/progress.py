"""What one worker shows and counts while it works: the progress bar, the lines combinations print, the
time spent training and evaluating, and how each combination ended (the worker's ``StudySummary``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TextIO

from tqdm import tqdm

from benchmark.measurement import Measurement
from benchmark.timing import TimeBreakdown


@dataclass
class StudySummary:
    finished: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    wall_seconds: float = 0.0
    breakdown: dict[str, float] = field(default_factory=dict)  # seconds per TimeBreakdown category


class Progress:
    """A worker's ``Reporter`` (fits.py): combinations report their steps, time and outcomes here."""

    def __init__(self, timer: TimeBreakdown, *, show: bool = True, out: TextIO | None = None) -> None:
        self.timer = timer
        self.show = show
        self.out = out
        self.summary = StudySummary()
        self.bar: tqdm | None = None

    def start(self, total_fits: int, label: str) -> None:
        self.bar = tqdm(total=total_fits, unit="fit", dynamic_ncols=True, disable=not self.show, desc=label)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()

    def write(self, line: str) -> None:
        tqdm.write(line, file=self.out)

    def progress(self, steps: int) -> None:
        if self.bar is not None:
            self.bar.update(steps)

    def describe_progress(self, text: str) -> None:
        if self.bar is not None:
            self.bar.set_postfix_str(text)

    def account(self, measurement: Measurement) -> None:
        self.timer.add("training", measurement.fit.train_seconds)
        self.timer.add("evaluation", measurement.fit.eval_seconds + measurement.final_eval_seconds)

    def outcome(self, name: str, kind: str, line: str | None = None) -> None:
        """A combination ended in this worker: ``finished``, ``failed`` or ``skipped`` (done before)."""
        {"finished": self.summary.finished, "failed": self.summary.failed, "skipped": self.summary.skipped}[
            kind
        ].append(name)
        if line is not None:
            self.write(line)
