"""Where a worker's wall time goes: training, evaluation, tuning, tracking, other. (The latency pass runs
after the workers and reports its own time.)"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

CATEGORIES = ("training", "evaluation", "tuning", "tracking", "other")
# Everything but training and evaluation compute is overhead the suite adds.
OVERHEAD = ("tuning", "tracking", "other")


class TimeBreakdown:
    def __init__(self) -> None:
        self.seconds = dict.fromkeys(CATEGORIES, 0.0)
        self._start = time.perf_counter()
        self._open = False  # sections do not nest: an inner one is counted in the outer one

    def add(self, category: str, seconds: float) -> None:
        self.seconds[category] += seconds

    @contextmanager
    def section(self, category: str) -> Iterator[None]:
        if self._open:
            yield
            return
        self._open = True
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[category] += time.perf_counter() - start
            self._open = False

    def finish(self) -> dict[str, float]:
        """Seconds per category; ``other`` is the wall time nothing else accounts for."""
        wall = time.perf_counter() - self._start
        accounted = sum(v for k, v in self.seconds.items() if k != "other")
        result = {k: v for k, v in self.seconds.items() if k != "other"}
        result["other"] = max(0.0, wall - accounted)
        result["wall"] = wall
        return result


def format_breakdown(result: dict[str, float]) -> str:
    wall = result["wall"] or 1e-9
    parts = [f"{k} {result[k]:.1f} s ({100 * result[k] / wall:.1f} %)" for k in CATEGORIES]
    overhead = sum(result[k] for k in OVERHEAD)
    return (
        # with several workers the breakdown is summed over them: the elapsed time is printed apart
        f"worker time: {', '.join(parts)}; in all {result['wall']:.1f} s (summed over workers)\n"
        f"overhead (all but training and evaluation) {100 * overhead / wall:.1f} %"
    )
