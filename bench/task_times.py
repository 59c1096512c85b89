"""Where a finished study's time went, per task: from the run's own records, to size a study of your own.

    python bench/task_times.py study=fusion [workdir=runs | tracking_uri=...]

For every task: its combinations, the worker time its trainings took (every trial and final seed run,
from its start to its end: training, validation, and for final seeds test and robustness evaluation and
saving the model; summed over workers), that time per combination, and the task's share. A combination's
parent run is no measure: it stays open while another worker holds one of its trials. The wall time of
a study with W workers is about the total over W, plus the bookkeeping between runs (``run`` prints its
share), start-up, the latency pass and the report.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmark.read_commands import load_config  # noqa: E402


def main(arguments: list[str]) -> None:
    from mlflow.tracking import MlflowClient

    config = load_config(arguments or ["study=fusion"])
    client = MlflowClient(config.resolved_tracking_uri)
    experiment = client.get_experiment_by_name(config.name)
    if experiment is None:
        raise SystemExit(f"no experiment {config.name!r} in {config.resolved_tracking_uri}")
    seconds: dict[str, float] = defaultdict(float)
    combinations: dict[str, set[str]] = defaultdict(set)
    for kind in ("trial", "final"):
        runs = client.search_runs(
            [experiment.experiment_id],
            f"tags.`benchmark.kind` = '{kind}' and attributes.status = 'FINISHED'",
            max_results=50_000,
        )
        for run in runs:
            task = run.data.tags["benchmark.task"]
            seconds[task] += (run.info.end_time - run.info.start_time) / 1000
            combinations[task].add(run.data.tags["benchmark.combination_id"])
    count = {task: len(ids) for task, ids in combinations.items()}
    total = sum(seconds.values())
    print("| task | combinations | worker minutes | seconds per combination | share |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for task in sorted(seconds, key=lambda t: -seconds[t]):
        print(
            f"| {task} | {count[task]} | {seconds[task] / 60:.1f} | {seconds[task] / count[task]:.1f} "
            f"| {seconds[task] / total:.1%} |"
        )
    print(
        f"| all | {sum(count.values())} | {total / 60:.1f} | {total / max(1, sum(count.values())):.1f} | 100% |"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
