"""The order workers take combinations in, and a progress bar that counts estimated work, not fits."""

from __future__ import annotations

from benchmark.grid import Combination
from benchmark.progress import PaceLines, Progress
from benchmark.runner import worker_order
from benchmark.timing import TimeBreakdown


def _combination(task: str) -> Combination:
    return Combination(task=task, depth=1, modalities=("a",), fusion="concat")


def test_workers_start_on_the_longest_and_no_two_on_the_same():
    combinations = [_combination(f"t{i}") for i in range(7)]
    costs = {c.name: float(i % 4) for i, c in enumerate(combinations)}  # 0 1 2 3 0 1 2
    orders = [worker_order(combinations, costs, index, 2) for index in range(2)]
    firsts = [order[0] for order in orders]
    assert [costs[c.name] for c in firsts] == [3.0, 2.0] and firsts[0] != firsts[1]
    for order in orders:  # every worker can reach every combination (to help with the rest), once
        assert sorted(c.name for c in order) == sorted(c.name for c in combinations)
    own = [order[: len(order) // 2 + (index == 0)] for index, order in enumerate(orders)]
    assert {c.name for c in own[0]}.isdisjoint(c.name for c in own[1])
    assert [costs[c.name] for c in own[0]] == sorted((costs[c.name] for c in own[0]), reverse=True)


def test_without_estimates_the_plan_order_is_kept():
    combinations = [_combination(f"t{i}") for i in range(4)]
    assert worker_order(combinations, {}, 0, 1) == combinations


def test_the_bar_counts_estimated_seconds_not_fits():
    progress = Progress(TimeBreakdown(), show=False, costs={"cheap": 4.0, "dear": 36.0})
    progress.start(["cheap", "dear"], fits_per_combination=4, label="study")
    assert progress.bar is not None and progress.bar.total == 40.0
    progress.progress("cheap", 4)  # a whole cheap combination: a tenth of the work, not half
    assert progress.fit_weight("cheap") == 1.0 and progress.fit_weight("dear") == 9.0


def test_pace_lines_say_the_share_done_and_the_time_left():
    written: list[str] = []
    pace = PaceLines(100.0, "study", show=True, step=0.25, say=written.append)
    for done in (10.0, 30.0, 31.0, 100.0):  # 31: still below the next quarter, no new line
        pace.update(done)
    assert len(written) == 2 and written[0].startswith("study: 30% of the estimated work done in")
    assert "left" in written[0] and written[1].startswith("study: 100%")
