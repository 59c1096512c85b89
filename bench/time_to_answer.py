"""Benchmark: the time to answer and the answers, for the old and new defaults and each pruner.

    python bench/time_to_answer.py [--rounds 2] [--variants old median successive_halving hyperband none]

Each variant runs the same slice of `study=fusion` (synth-mixed, mfeat, nutrimouse with two outer
splits, watch; four fusion methods, the unimodal baselines and logistic regression: 41 combinations;
the study's trials, seeds and epochs) from an empty store in its own process, and the variants are
interleaved over ``--rounds`` rounds (the machine is noisy: a variant's figure is its median over
rounds, with the spread). Variants:

- ``old``: the defaults before this change: one worker, median pruner;
- ``median``, ``successive_halving``, ``hyperband``, ``none``: one worker per core with that pruner.

Printed per variant: wall time, trials pruned, and against ``none`` (no pruning: the answer the
pruners should keep) the leaderboard agreement per task (Kendall's tau of the combinations' test
scores and whether the best-on-validation combination of each task is the same one). ``none`` is
also compared with itself across rounds: two runs with several workers are not identical (which
worker takes which trial changes the sampler's history), so that tau is the noise floor.
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

SLICE = [
    "study=fusion",
    "name=bench-time",
    "tasks=[{name:synth-mixed,depth:[1],subsets:[[vec],[img,seq,vec]]},"
    "{name:mfeat,depth:[1],subsets:[[fou],[fou,kar]]},"
    "{name:nutrimouse,splits:2,depth:[1]},{name:watch,depth:[1]}]",
    "grid.fusion=[concat,attention,late_vote,tensor,ref_logreg]",
    "auto_report=false",
]
VARIANTS = {
    "old": ["workers=1", "tuning.pruner=median"],
    "median": ["workers=auto", "tuning.pruner=median"],
    "successive_halving": ["workers=auto", "tuning.pruner=successive_halving"],
    "hyperband": ["workers=auto", "tuning.pruner=hyperband"],
    "none": ["workers=auto", "tuning.pruner=none"],
}


def run(variant: str, workdir: str) -> tuple[float, str]:
    """Wall seconds of one `run` from an empty store, and its breakdown lines (workers' time by category,
    summed over workers, and the latency pass)."""
    command = [
        sys.executable,
        "-m",
        "benchmark",
        "run",
        *SLICE,
        *VARIANTS[variant],
        f"workdir={workdir}",
        "--no-progress",
    ]
    start = time.perf_counter()
    output = subprocess.run(command, cwd=REPO, check=True, capture_output=True, text=True).stdout
    lines = [line for line in output.splitlines() if line.startswith(("time:", "latency:"))]
    return time.perf_counter() - start, "\n    ".join(lines)


def answers(workdir: str) -> tuple[dict[str, dict[str, tuple[float, float]]], int, int]:
    """Per task: cell -> (validation mean, test mean) of macro F1 over splits; trials pruned, trials."""
    from benchmark.tracking.reader import read_study_runs

    uri = f"sqlite:///{workdir}/mlflow.db"
    cells: dict[str, dict[str, list[tuple[float, float]]]] = defaultdict(lambda: defaultdict(list))
    for run in read_study_runs(uri, "bench-time", ("combination",)):
        tags, metrics = run["tags"], run["metrics"]
        if "test/f1_macro_mean" not in metrics:
            continue
        cell = f"{tags['benchmark.depth']}/{tags['benchmark.modalities']}/{tags['benchmark.fusion']}"
        cells[tags["benchmark.task"]][cell].append(
            (metrics["val/f1_macro_mean"], metrics["test/f1_macro_mean"])
        )
    trials = read_study_runs(uri, "bench-time", ("trial",))
    pruned = sum(t["tags"].get("benchmark.trial_state") == "PRUNED" for t in trials)
    means = {
        task: {
            cell: (statistics.fmean(v for v, _ in s), statistics.fmean(t for _, t in s))
            for cell, s in by.items()
        }
        for task, by in cells.items()
    }
    return means, pruned, len(trials)


def agreement(a: dict, b: dict) -> tuple[dict[str, float], int, int]:
    """Kendall's tau of test scores per task, and how many tasks choose the same best on validation."""
    from scipy.stats import kendalltau

    taus, same = {}, 0
    for task in sorted(set(a) & set(b)):
        cells = sorted(set(a[task]) & set(b[task]))
        taus[task] = float(
            kendalltau([a[task][c][1] for c in cells], [b[task][c][1] for c in cells]).statistic
        )
        best_a = max(cells, key=lambda c: a[task][c][0])
        best_b = max(cells, key=lambda c: b[task][c][0])
        same += best_a == best_b
    return taus, same, len(taus)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    args = parser.parse_args()
    seconds: dict[str, list[float]] = defaultdict(list)
    results: dict[str, list[tuple[dict, int, int]]] = defaultdict(list)
    with tempfile.TemporaryDirectory() as root:
        for round_ in range(args.rounds):
            for variant in args.variants:
                workdir = f"{root}/{variant}-{round_}"
                wall, breakdown = run(variant, workdir)
                seconds[variant].append(wall)
                results[variant].append(answers(workdir))
                print(f"round {round_ + 1} {variant:<19} {wall:7.1f} s\n    {breakdown}", flush=True)
    reference = "none" if "none" in results else args.variants[0]
    base = statistics.median(seconds[args.variants[0]])
    print(
        f"\nvariant              wall s (median, range)   vs {args.variants[0]}  pruned/trials   "
        f"tau vs {reference} (median over tasks and rounds)   same best on validation"
    )
    for variant in args.variants:
        wall = seconds[variant]
        taus, same, tasks = [], 0, 0
        for r, (means, _, _) in enumerate(results[variant]):
            # against the reference of another round (itself: the noise floor), else the same round
            other = results[reference][(r + 1) % len(results[reference])][0]
            if variant != reference:
                other = results[reference][r][0]
            t, s, n = agreement(means, other)
            taus += list(t.values())
            same, tasks = same + s, tasks + n
        pruned = sum(p for _, p, _ in results[variant])
        total = sum(n for _, _, n in results[variant])
        tau = statistics.median(taus) if taus else float("nan")
        print(
            f"{variant:<20} {statistics.median(wall):7.1f} ({min(wall):.1f}-{max(wall):.1f})"
            f"{base / statistics.median(wall):12.2f}x  {pruned:5d}/{total:<6d}   {tau:10.2f} "
            f"(min {min(taus, default=float('nan')):.2f})                          {same}/{tasks}"
        )


if __name__ == "__main__":
    main()
