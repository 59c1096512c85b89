"""Check: two stores of the same study hold the same results (a refactor must not change a score).

    python bench/same_scores.py STORE_A STORE_B [--study smoke]

STORE_A and STORE_B are workdirs (``mlflow.db`` inside) written by ``python -m benchmark run
study=smoke workers=1 workdir=...`` before and after a change, on the same machine. Every run of
each kind is matched by its name within its combination; their metrics and tags must be equal,
except what measures the machine rather than the model (times, latency, memory), and what names the
process (run ids, pids, hosts, git revision). Prints the counts compared and every difference; exit
status 1 if there is one.

A slice of the headline study (50 combinations: real and synthetic data, outer splits, every fusion
method and both reference models; over 15 minutes at ea46115, when gradient boosting saw 10,000 MiniRocket
features per series and fitted 200 rounds, and not timed since), run with each version of the code:

    python -m benchmark run study=fusion workers=1 auto_report=false --no-latency workdir=STORE \
      'tasks=[{name:nutrimouse,splits:2,depth:[1]},{name:synth-mixed,n_samples:600,depth:[1],subsets:[[vec],[img,seq,vec]]},{name:mfeat,subsets:[[fou],[fou,kar]],depth:[1]}]' \
      tuning.trials=3 final.seeds=2 final.max_seeds=3
    python bench/same_scores.py STORE_A STORE_B --study fusion
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

MACHINE_METRICS = ("time/", "latency/", "memory/")
PROCESS_TAGS = (
    "mlflow.",
    "benchmark.git_revision",
    "benchmark.pid",
    "benchmark.host",
    "benchmark.worker",
    "benchmark.version",
)
KINDS = ("combination", "trial", "final")


def _records(workdir: str, study: str) -> dict[tuple[str, str, str], dict]:
    from benchmark.schema import COMBINATION_ID, PARENT
    from benchmark.tracking.reader import read_study_runs

    runs = read_study_runs(f"sqlite:///{Path(workdir).resolve()}/mlflow.db", study, KINDS)
    combination_of = {r["run_id"]: r["tags"].get(COMBINATION_ID, "") for r in runs}
    records = {}
    for run in runs:
        tags = run["tags"]
        key = (
            tags.get(COMBINATION_ID) or combination_of.get(tags.get(PARENT, ""), ""),
            tags["benchmark.kind"],
            run["name"],
        )
        metrics = {k: v for k, v in run["metrics"].items() if not k.startswith(MACHINE_METRICS)}
        kept = {
            k: v for k, v in tags.items() if not k.startswith(PROCESS_TAGS) and k != "benchmark.optuna_trial"
        }
        records[key] = {"metrics": metrics, "tags": kept, "status": run["status"]}
    return records


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("before")
    parser.add_argument("after")
    parser.add_argument("--study", default="smoke")
    parser.add_argument(
        "--added",
        action="append",
        default=[],
        metavar="TEXT",
        help="metrics found only in AFTER whose name contains TEXT are counted as added (a new score), not "
        "as differences; every metric both hold must still be equal",
    )
    args = parser.parse_args()
    a, b = _records(args.before, args.study), _records(args.after, args.study)
    differences = [f"only in {args.before}: {k}" for k in sorted(set(a) - set(b))]
    differences += [f"only in {args.after}: {k}" for k in sorted(set(b) - set(a))]
    counts = {"runs": 0, "metrics": 0, "tags": 0, "added": 0}
    for key in sorted(set(a) & set(b)):
        counts["runs"] += 1
        added = {
            k for k in set(b[key]["metrics"]) - set(a[key]["metrics"]) if any(t in k for t in args.added)
        }
        counts["added"] += len(added)
        for name in added:
            del b[key]["metrics"][name]
        for part in ("metrics", "tags"):
            counts[part] += len(a[key][part])
            if a[key][part] != b[key][part]:
                keys = sorted(
                    k
                    for k in set(a[key][part]) | set(b[key][part])
                    if a[key][part].get(k) != b[key][part].get(k)
                )
                differences.append(
                    f"{key} {part}: "
                    + ", ".join(f"{k}: {a[key][part].get(k)} != {b[key][part].get(k)}" for k in keys[:5])
                )
    print(
        f"compared {counts['runs']} runs: {counts['metrics']} metrics, {counts['tags']} tags "
        f"({counts['added']} metrics only in {args.after}, allowed by --added)"
    )
    for line in differences:
        print(line)
    print("identical" if not differences else f"{len(differences)} differences")
    return 1 if differences else 0


if __name__ == "__main__":
    raise SystemExit(main())
