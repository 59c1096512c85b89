"""Benchmark: report generation time from a large MLflow store (target: 10,000 runs in under 10 s).

    python bench/report_scale.py [--runs 10000] [--workdir /tmp/report-scale]

Builds (once; reused if present) a SQLite store shaped like a real study: per combination one parent,
six trial runs and three final-seed runs, all with the metrics and tags `run` writes. Then times
`python -m benchmark report` end to end and its parts, and prints the figures.
"""

from __future__ import annotations

import argparse
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmark.grid import Combination  # noqa: E402
from benchmark.records import combination_tags  # noqa: E402
from benchmark.schema import SEED, STATUS, environment_tag  # noqa: E402
from benchmark.tracking.writer import Tracker  # noqa: E402

TRIALS, SEEDS = 6, 3
RUNS_PER_COMBINATION = 1 + TRIALS + SEEDS
OWN = ".report-scale"  # marks a store folder this script made (and may rebuild)
FUSIONS = ("concat", "attention", "late_vote")
MODALITIES = ("a", "b", "c", "d", "e")


def _combinations(count: int) -> list[Combination]:
    combos = []
    task = 0
    while len(combos) < count:
        for depth in (1, 2, 3):
            for size in (2, 3):
                for start in range(len(MODALITIES) - size + 1):
                    for fusion in FUSIONS:
                        combos.append(
                            Combination(f"task-{task}", depth, MODALITIES[start : start + size], fusion)
                        )
        task += 1
    return combos[:count]


def _final_metrics(rng: random.Random) -> dict[str, float]:
    f1 = rng.uniform(0.5, 1.0)
    return {
        "test/accuracy": f1 + 0.01,
        "test/recall_macro": f1,
        "test/f1_macro": f1,
        "val/f1_macro": f1,
        "val/accuracy": f1,
        "val/recall_macro": f1,
        "latency/p50_ms": rng.uniform(0.05, 1.0),
        "latency/p95_ms": rng.uniform(1.0, 2.0),
        "latency/batch_p50_ms": rng.uniform(1, 5),
        "latency/batch_p95_ms": rng.uniform(5, 9),
        "memory/cpu_added_mb": 900.0,
        "model/parameters": 12345.0,
        "time/train_s": rng.uniform(0.1, 3.0),
        "time/eval_s": 0.05,
        "train/epochs": 12.0,
        "train/best_epoch": 9.0,
    }


def build_store(workdir: Path, runs: int) -> str:
    uri = f"sqlite:///{workdir / 'mlflow.db'}"
    marker = workdir / f"complete-{runs}"
    if marker.exists():
        return uri
    if workdir.exists() and any(workdir.iterdir()):
        if not (workdir / OWN).exists():  # never delete a folder this script did not make
            raise SystemExit(f"{workdir} holds files this script did not write; give an empty --workdir")
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / OWN).write_text("made by bench/report_scale.py\n")
    tracker = Tracker(uri, "scale", artifact_root=workdir / "artifacts")
    rng = random.Random(0)
    env = {
        environment_tag("device"): "cpu",
        environment_tag("version"): "bench",
        environment_tag("torch_version"): "x",
        environment_tag("git_revision"): "x",
    }
    start = time.perf_counter()
    combos = _combinations(runs // RUNS_PER_COMBINATION)
    for i, combo in enumerate(combos):
        parent = tracker.create_run(combo.name, {**combination_tags(combo, "combination"), **env})
        for trial in range(TRIALS):
            run = tracker.create_run(
                f"trial-{trial}", {**combination_tags(combo, "trial"), **env}, parent_id=parent
            )
            f1 = rng.uniform(0.4, 1.0)
            series = {"epoch/val_f1_macro": [(e, f1) for e in range(1, 13)]}
            tracker.log(
                run, metrics={"val/f1_macro": f1, "val/accuracy": f1}, params={"lr": 0.001}, series=series
            )
            tracker.client.set_terminated(run)
        seeds = []
        for seed in range(SEEDS):
            tags = {**combination_tags(combo, "final"), **env, SEED: str(1000 + seed)}
            run = tracker.create_run(f"seed-{1000 + seed}", tags, parent_id=parent)
            metrics = _final_metrics(rng)
            seeds.append(metrics)
            tracker.log(run, metrics=metrics, params={"lr": 0.001, "seed": 1000 + seed})
            tracker.client.set_terminated(run)
        means = {f"{k}_mean": sum(s[k] for s in seeds) / SEEDS for k in seeds[0]}
        tracker.log(parent, metrics=means, tags={STATUS: "finished"}, params={"fusion": combo.fusion})
        tracker.client.set_terminated(parent)
        if (i + 1) % 100 == 0:
            print(
                f"  built {(i + 1) * RUNS_PER_COMBINATION} runs ({time.perf_counter() - start:.0f} s)",
                flush=True,
            )
    marker.write_text("ok")
    return uri


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/report-scale"))
    args = parser.parse_args(argv)
    uri = build_store(args.workdir, args.runs)

    from benchmark.report import generate_report
    from benchmark.report.collect import collect

    start = time.perf_counter()
    runs = collect(uri, "scale")
    collected = time.perf_counter() - start
    start = time.perf_counter()
    generate_report(uri, "scale", args.workdir / "report")
    in_process = time.perf_counter() - start

    command = [
        sys.executable,
        "-m",
        "benchmark",
        "report",
        "study=smoke",
        "name=scale",
        f"workdir={args.workdir}",
        f"report_dir={args.workdir / 'reports'}",
    ]
    start = time.perf_counter()
    subprocess.run(command, check=True, cwd=REPO, capture_output=True)
    end_to_end = time.perf_counter() - start
    total = len(runs.combinations) * RUNS_PER_COMBINATION
    print(
        f"store: {total} runs ({len(runs.combinations)} combinations, {len(runs.seeds)} final-seed runs read)"
    )
    print(f"collect from MLflow:                 {collected:6.2f} s")
    print(f"report in process (collect + write): {in_process:6.2f} s")
    print(f"`python -m benchmark report` (CLI):  {end_to_end:6.2f} s  (target < 10 s)")


if __name__ == "__main__":
    main()
