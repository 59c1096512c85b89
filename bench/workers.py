"""Benchmark: trials per minute with 1, 2, ... local worker processes on the same study and device.

    python bench/workers.py [--trials 12] [--workers 1 2] [--device cpu|cuda] [--cpu-baseline]

On a GPU machine, one short call measures how many trainings one device sustains side by side
(`--device cuda --workers 1 2 4 8 --cpu-baseline`: the same study with every worker on the one GPU,
then with one worker per CPU core for comparison); small models are bound by kernel launches, so
several workers on one device can multiply its throughput until its memory or the host's cores run out.

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


def run(workers: int | str, trials: int, device: str = "cpu") -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as workdir:
        command = [
            sys.executable,
            "-m",
            "benchmark",
            "run",
            *STUDY,
            f"tuning.trials={trials}",
            f"workers={workers}",
            f"device={device}",
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
    parser.add_argument("--device", default="cpu", help="cpu or cuda: where every worker trains")
    parser.add_argument(
        "--cpu-baseline", action="store_true", help="also run one worker per CPU core on the CPU"
    )
    args = parser.parse_args()
    settings = [(args.device, w) for w in args.workers]
    if args.cpu_baseline:
        settings.append(("cpu", "auto"))
    rates = {}
    for device, workers in settings:
        seconds, combinations = run(workers, args.trials, device)
        trials = combinations * args.trials
        rates[(device, workers)] = 60 * trials / seconds
        print(
            f"{device} workers={workers}: {combinations} combinations, {trials} trials "
            f"(+{combinations} final seeds) in {seconds:.1f} s = {60 * trials / seconds:.1f} trials/min",
            flush=True,
        )
    base = rates[settings[0]]
    print(f"\ndevice  workers  trials/min  vs {settings[0][0]} with {settings[0][1]}")
    for (device, workers), rate in rates.items():
        print(f"{device:<7} {workers!s:>7}  {rate:10.1f}  {rate / base:.2f}x")


if __name__ == "__main__":
    main()
