"""Benchmark: the default-first tuner against the old one, at the same trial budget.

    python bench/tuner.py [--rounds 1]

Both variants run the preview study (`study=quick`: nutrimouse, basic-motions and hepatic on 3 disjoint
folds each; five fusion methods, the unimodal baselines and logistic regression; 4 trials and 3 final
seeds per combination) from an empty store in their own process, interleaved over ``--rounds`` rounds:

- ``old``: Hyperband (its brackets split TPE's history) and no enqueued default: every trial is sampled;
- ``new``: the shared strong default as trial 0 of every combination, then TPE over the combination's
  whole history with a median pruner (the headline's settings).

Printed per variant and task: the mean over the task's network combinations of their validation and test
macro F1 (final seeds, averaged over folds), the share of combinations whose final seeds lost one seed
(more than 0.10 below the combination's median test score), and the wall time of the run.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

SLICE = ["study=quick", "name=bench-tuner", "auto_report=false"]
VARIANTS = {
    "old": ["tuning.default_first=false", "tuning.pruner=hyperband"],
    "new": ["tuning.default_first=true", "tuning.pruner=median"],
}


def run(variant: str, workdir: str) -> float:
    command = [sys.executable, "-m", "benchmark", "run", *SLICE, *VARIANTS[variant]]
    command += [f"workdir={workdir}", "--no-progress", "--no-latency"]
    start = time.perf_counter()
    subprocess.run(command, cwd=REPO, check=True, capture_output=True, text=True)
    return time.perf_counter() - start


def scores(workdir: str, experiment: str = "bench-tuner") -> dict[str, dict[str, float]]:
    """Per task: mean validation and test macro F1 over network combinations, and the lost-seed share."""
    from benchmark.tracking.reader import read_study_runs

    uri = f"sqlite:///{workdir}/mlflow.db"
    finals: dict[tuple[str, str], list[float]] = defaultdict(list)
    for run in read_study_runs(uri, experiment, ("final",)):
        tags, metrics = run["tags"], run["metrics"]
        if not tags["benchmark.fusion"].startswith("ref_") and "test/f1_macro" in metrics:
            finals[(tags["benchmark.task"], tags["benchmark.combination_id"])].append(
                metrics["test/f1_macro"]
            )
    per_task: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for run in read_study_runs(uri, experiment, ("combination",)):
        tags, metrics = run["tags"], run["metrics"]
        if tags["benchmark.fusion"].startswith("ref_") or "test/f1_macro_mean" not in metrics:
            continue
        task = tags["benchmark.task"]
        per_task[task]["val"].append(metrics["val/f1_macro_mean"])
        per_task[task]["test"].append(metrics["test/f1_macro_mean"])
        seeds = finals[(task, tags["benchmark.combination_id"])]
        per_task[task]["lost"].append(float(any(s < statistics.median(seeds) - 0.10 for s in seeds)))
    return {task: {k: statistics.fmean(v) for k, v in by.items()} for task, by in per_task.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    walls: dict[str, list[float]] = defaultdict(list)
    results: dict[str, list[dict]] = defaultdict(list)
    with tempfile.TemporaryDirectory() as root:
        for round_ in range(args.rounds):
            for variant in VARIANTS:
                workdir = f"{root}/{variant}-{round_}"
                walls[variant].append(run(variant, workdir))
                results[variant].append(scores(workdir))
                print(f"round {round_ + 1} {variant}: {walls[variant][-1]:.1f} s", flush=True)
    print("\nvariant  task            val (mean over networks)  test (mean over networks)  lost-seed share")
    for variant in VARIANTS:
        tasks = sorted({t for r in results[variant] for t in r})
        for task in tasks:
            rows = [r[task] for r in results[variant] if task in r]
            val = statistics.fmean(r["val"] for r in rows)
            test = statistics.fmean(r["test"] for r in rows)
            lost = statistics.fmean(r["lost"] for r in rows)
            print(f"{variant:<8} {task:<15} {val:24.3f}  {test:25.3f}  {lost:15.0%}")
        print(
            f"{variant:<8} wall s: median {statistics.median(walls[variant]):.1f} over {args.rounds} round(s)"
        )


if __name__ == "__main__":
    main()
