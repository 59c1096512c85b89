"""Benchmark: how networks train under the old budget and under the step floor with a schedule.

    python bench/training_budget.py [--seeds 5] [--min-steps 300]

On a slice of the headline's tasks (outer fold 0 of 3 where the study runs 3 folds), each fusion method
and each single modality below trains with the shared default configuration (space.STRONG_DEFAULTS) and
the study's batch rule, once per seed and variant, the variants interleaved seed by seed (the machine is
noisy). Variants:

- ``old``: at most 20 epochs, patience 5, constant learning rate, the best single evaluation kept;
- ``floor``: the same, plus at least ``--min-steps`` optimizer steps (no early stop before them), warm-up
  over 5 % of the planned steps then cosine decay, and the epoch chosen on the mean of 3 evaluations;
- ``long``: the headline's budget: ``floor``, planned over up to 1,500 steps where 20 epochs give fewer,
  with patience 10 (a training whose validation stops rising still stops soon after the floor).

Printed per task, method and variant: median validation and test macro F1 over the seeds with their
range, the share of lost seeds (more than 0.10 below the median test score), optimizer steps and seconds
per training. Nothing here is tuned: it compares the budgets at one configuration.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmark.experiment import train_batch_size  # noqa: E402
from benchmark.metrics import evaluate  # noqa: E402
from benchmark.model import build_model  # noqa: E402
from benchmark.tasks import Fold, Split, build_task  # noqa: E402
from benchmark.training import TrainSettings, fit, seed_everything, steps_per_epoch  # noqa: E402

SLICE = {  # task -> (build keywords, outer folds, cells: (modalities, fusion))
    "nutrimouse": (
        {},
        3,
        [
            (("lipid",), "none"),
            (("gene",), "none"),
            (("gene", "lipid"), "concat"),
            (("gene", "lipid"), "late_vote"),
        ],
    ),
    "watch": ({}, 3, [(("acc",), "none"), (("acc", "gyro"), "concat"), (("acc", "gyro"), "late_vote")]),
    "basic-motions": ({}, 3, [(("acc",), "none"), (("acc", "gyro"), "concat")]),
    "synth-mixed": (
        {"n_samples": 1000},
        3,
        [(("img", "seq", "vec"), "concat"), (("img", "seq", "vec"), "gated")],
    ),
    "synth-redundancy": ({"n_samples": 1000}, 3, [(("img",), "none"), (("img", "seq", "vec"), "concat")]),
    "leaf-flavia": (
        {},
        3,
        [
            (("colour",), "none"),
            (("texture",), "none"),
            (("colour", "geometry", "scagnostics", "texture"), "concat"),
        ],
    ),
    "grants": ({}, 1, [(("application",), "none")]),
}
DEFAULT = {"lr": 1e-3, "weight_decay": 1e-4, "width": 64, "dropout": 0.1}


def variants(min_steps: int) -> dict[str, dict]:
    old = {"max_epochs": 20, "patience": 5}
    floor = {**old, "min_steps": min_steps, "schedule": "cosine", "warmup": 0.05, "smoothing": 3}
    return {
        "old": old,
        "floor": floor,
        "long": {**floor, "budget_steps": 1500, "patience": 10},
    }


def restrict(split: Split, modalities: tuple[str, ...]) -> Split:
    return Split({m: split.inputs[m] for m in modalities}, split.labels)


def train_once(task, modalities: tuple[str, ...], fusion: str, budget: dict, seed: int) -> dict:
    train, val, test = (restrict(task.splits[s], modalities) for s in ("train", "val", "test"))
    batch = train_batch_size(128, 8, len(train))
    settings = TrainSettings(
        lr=DEFAULT["lr"],
        weight_decay=DEFAULT["weight_decay"],
        batch_size=batch,
        metric="f1_macro",
        class_weight="balanced",
        **budget,
    )
    seed_everything(seed)
    model = build_model(
        {m: task.modalities[m] for m in modalities},
        fusion=fusion,
        num_classes=task.num_classes,
        depth=1,
        width=DEFAULT["width"],
        dropout=DEFAULT["dropout"],
    )
    start = time.perf_counter()
    result = fit(model, train, val, settings, num_classes=task.num_classes, seed=seed)
    seconds = time.perf_counter() - start
    return {
        "val": evaluate(model, val, 512, task.num_classes)["f1_macro"],
        "test": evaluate(model, test, 512, task.num_classes)["f1_macro"],
        "steps": result.epochs_run * steps_per_epoch(len(train), batch),
        "seconds": seconds,
    }


def summary(rows: list[dict]) -> str:
    val, test = [r["val"] for r in rows], [r["test"] for r in rows]
    median = statistics.median(test)
    lost = sum(t < median - 0.10 for t in test) / len(test)
    return (
        f"val {statistics.median(val):.3f} [{min(val):.3f}, {max(val):.3f}]  "
        f"test {median:.3f} [{min(test):.3f}, {max(test):.3f}]  lost {lost:4.0%}  "
        f"steps {statistics.median(r['steps'] for r in rows):5.0f}  {statistics.median(r['seconds'] for r in rows):5.2f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--min-steps", type=int, default=300)
    args = parser.parse_args()
    budgets = variants(args.min_steps)
    print(
        f"seeds {args.seeds}; floor: min_steps {args.min_steps}, cosine, warm-up 5 %, epoch on 3 evaluations"
    )
    overall: dict[str, list[dict]] = {name: [] for name in budgets}
    for name, (keywords, folds, cells) in SLICE.items():
        task = build_task(name, seed=0, fold=Fold(0, folds), **keywords)
        for modalities, fusion in cells:
            results: dict[str, list[dict]] = {v: [] for v in budgets}
            for seed in range(args.seeds):  # interleaved: variant by variant within each seed
                for variant, budget in budgets.items():
                    results[variant].append(train_once(task, modalities, fusion, budget, seed))
            for variant, rows in results.items():
                print(
                    f"{name:16} {'+'.join(modalities):12} {fusion:9} {variant:5}  {summary(rows)}", flush=True
                )
                overall[variant].extend(rows)
    for variant, rows in overall.items():
        print(
            f"all cells {variant:5}: median seconds per training {statistics.median(r['seconds'] for r in rows):.2f}"
            f", total {sum(r['seconds'] for r in rows):.0f} s"
        )


if __name__ == "__main__":
    main()
