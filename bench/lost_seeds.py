"""How often a network's final seed fails where its other seeds train: from a report's ``runs.csv`` alone.

    python bench/lost_seeds.py reports/fusion/runs.csv

A final seed is *lost* when its test score is more than 0.10 below the median of its combination's seeds
on the same outer fold (``benchmark.report.tables.lost_seeds``; the report's findings give the total).
Per task and over the study: final seeds of networks, how many were lost, and the combinations that
lost one. Many lost seeds mean training that converges by luck: a comparison of methods then ranks
their seeds' luck.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmark.report.collect import KEY  # noqa: E402
from benchmark.report.tables import lost_per_combination, lost_seeds  # noqa: E402
from benchmark.schema import TEST_F1  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("runs_csv", type=Path)
    parser.add_argument("--shown", type=int, default=10, help="combinations with lost seeds to list")
    args = parser.parse_args()
    seeds = lost_seeds(pd.read_csv(args.runs_csv), TEST_F1)
    table = seeds.groupby("task")["lost"].agg(seeds="size", lost="sum")
    table.loc["all"] = [len(seeds), int(seeds["lost"].sum())]
    table["share"] = (table["lost"] / table["seeds"]).map("{:.1%}".format)
    print(table.to_string())
    by_combination = lost_per_combination(seeds)
    combinations = seeds.groupby(KEY).ngroups
    print(f"\n{len(by_combination)} of {combinations} network combinations lost a seed; the most:")
    for (task, depth, modalities, fusion), count in by_combination.head(args.shown).items():
        print(f"  {task}/d{depth}/{modalities}/{fusion}: {count}")


if __name__ == "__main__":
    main()
