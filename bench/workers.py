"""Benchmark: trials per minute with 1 and with 2 local worker processes on the same study.

    python bench/workers.py [--trials 12] [--workers 1 2]

Each setting runs the same study (two synthetic tasks, two depths, 20 combinations, `--trials` trials and one final
seed each) from an empty store, in its own process, and reports trials (and trainings) per minute of
wall time, start-up included. Target on a 2-core machine: 2 workers >= 1.7x the throughput of 1.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
STUDY = [
    "study=smoke",
    "name=bench-workers",
    "tasks=[{name:synth-redundancy,n_modalities:2,n_samples:1000},{name:synth-synergy,n_modalities:2,n_samples:1000}]",
    "grid.depth=[1,2]",
    "final.seeds=1",
    "train.max_epochs=10",
    "train.patience=10",
    "tuning.pruner=none",
    "auto_report=false",
]


def run(workers: int, trials: int) -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as workdir:
        command = [
            sys.executable,
            "-m",
            "benchmark",
            "run",
            *STUDY,
            f"tuning.trials={trials}",
            f"workers={workers}",
            f"workdir={workdir}",
            "--no-progress",
        ]
        start = time.perf_counter()
        output = subprocess.run(command, cwd=REPO, check=True, capture_output=True, text=True).stdout
        seconds = time.perf_counter() - start
    combinations = sum(line.startswith("done ") for line in output.splitlines())
    return seconds, combinations


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    rates = {}
    for workers in args.workers:
        seconds, combinations = run(workers, args.trials)
        trials = combinations * args.trials
        rates[workers] = 60 * trials / seconds
        print(
            f"workers={workers}: {combinations} combinations, {trials} trials (+{combinations} final seeds) "
            f"in {seconds:.1f} s = {rates[workers]:.1f} trials/min",
            flush=True,
        )
    base = rates[args.workers[0]]
    for workers, rate in rates.items():
        print(f"  {workers} worker(s): {rate / base:.2f}x the throughput of {args.workers[0]}")


if __name__ == "__main__":
    main()
