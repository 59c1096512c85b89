"""How the networks' trainings ended, per task: from a report's ``runs.csv`` alone (no store, no training).

    python bench/convergence.py reports/fusion/runs.csv

For every task, over the final seed runs of its networks (reference models have no epochs): how many runs,
the median epochs run, and the share still improving on validation when their step budget ended (the
recorded stop reason; in older reports without one, the chosen epoch one of the last two). A task with a
large share is undertrained at the study's budget: more steps would raise its networks, and a fusion
comparison on it ranks how fast each method trains. The report's unimodal gate names such a network
"undertrained"; this table shows how far it reaches beyond the single modalities the gate checks.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmark.report.paired import ended_by_budget  # noqa: E402
from benchmark.schema import BEST_EPOCH, EPOCHS  # noqa: E402


def convergence(runs: pd.DataFrame) -> pd.DataFrame:
    """Per task (and all tasks together): runs, median epochs, share still rising when training ended."""
    finished = runs[(runs["status"] == "FINISHED") & ~runs["fusion"].str.startswith("ref_")]
    trained = finished.dropna(subset=[EPOCHS, BEST_EPOCH]).copy()
    trained["rising"] = ended_by_budget(trained)

    def summarise(frame: pd.DataFrame) -> dict[str, float]:
        return {
            "runs": len(frame),
            "median epochs": frame[EPOCHS].median(),
            "still rising": frame["rising"].mean(),
            "still rising, single modality": frame.loc[frame["fusion"] == "none", "rising"].mean(),
            "still rising, fusion": frame.loc[frame["fusion"] != "none", "rising"].mean(),
        }

    rows = {task: summarise(frame) for task, frame in trained.groupby("task")}
    table = pd.DataFrame.from_dict(rows, orient="index").sort_values("still rising", ascending=False)
    table.loc["all"] = summarise(trained)
    return table


def main(arguments: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs_csv", type=Path)
    path = parser.parse_args(arguments).runs_csv
    runs = pd.read_csv(path)
    if EPOCHS not in runs.columns:
        raise SystemExit(f"{path} has no {EPOCHS} column: regenerate the report with this code")
    table = convergence(runs)
    print(f"{path}: final seed runs of the networks, how their training ended")
    print("| task | runs | median epochs | still rising | single modality | fusion |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for task, row in table.iterrows():
        print(
            f"| {task} | {row['runs']:.0f} | {row['median epochs']:.0f} | {row['still rising']:.0%} "
            f"| {row['still rising, single modality']:.0%} | {row['still rising, fusion']:.0%} |"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
