"""Formatting the report's tables: numeric DataFrames in, DataFrames of display strings out."""

from __future__ import annotations

import pandas as pd

from benchmark import scores
from benchmark.report import tables
from benchmark.report.render import NOT_MEASURED, count, interval, number, p_value, score, signed
from benchmark.schema import (
    CEILING,
    CPU_MEMORY_MB,
    FUSION_PARAMETERS,
    GPU_MEMORY_MB,
    LATENCY_P50,
    LATENCY_P95,
    PARAMETERS,
    TEST,
    TRAIN_SECONDS,
    mean_of,
    std_of,
)

MISSING = "–"


def test_cell(mean: float, std: float, low: float, high: float) -> str:
    """Test mean ± seed std, then the 95 % interval over test samples and seeds."""
    text = score(mean, std)
    return text if pd.isna(low) else f"{text} {interval(low, high)}"


def leaderboard_display(board: pd.DataFrame, metric: str, metric_label: str) -> pd.DataFrame:
    def gpu(row: pd.Series) -> str:
        return (
            NOT_MEASURED if pd.isna(row[mean_of(GPU_MEMORY_MB)]) else number(row[mean_of(GPU_MEMORY_MB)], 1)
        )

    def method(fusion: str, reference: bool, unstable: bool, constant: int) -> str:
        return (
            fusion
            + (" (reference)" if reference else "")
            + (" ⚠ seeds disagree" if unstable else "")
            + (f" ⚠ constant predictions ({constant} seed{'s' if constant > 1 else ''})" if constant else "")
        )

    val = tables.validation(metric)
    return pd.DataFrame(
        {
            "rank (val)": [MISSING if pd.isna(r) else f"{int(r)}" for r in board["rank"]],
            "depth": board["depth"].astype(str),
            "modalities": board["modalities"],
            "fusion": [
                method(*v)
                for v in zip(
                    board["fusion"],
                    board["reference"],
                    board["unstable"],
                    board["constant_seeds"],
                    strict=True,
                )
            ],
            "state": board["state"],
            f"val {metric_label}": [number(v, 3) for v in board[mean_of(val)]],
            f"test {metric_label} [95 % CI]": [
                test_cell(*v)
                for v in zip(
                    board[mean_of(metric)],
                    board[std_of(metric)],
                    board[f"{metric}_ci_low"],
                    board[f"{metric}_ci_high"],
                    strict=True,
                )
            ],
            # every other registered score, mean ± seed std
            **{
                f"test {scores.get(name).label}": [
                    score(m, s)
                    for m, s in zip(board[mean_of(TEST + name)], board[std_of(TEST + name)], strict=True)
                ]
                for name in scores.names()
                if TEST + name != metric
            },
            "accuracy minus the Bayes ceiling [95 % CI]": [
                MISSING if pd.isna(c) else f"{signed(g)} {interval(lo, hi)} of {c:.3f}"
                for g, lo, hi, c in zip(
                    board["gap_to_ceiling"],
                    board["gap_ci_low"],
                    board["gap_ci_high"],
                    board[mean_of(CEILING)],
                    strict=True,
                )
            ],
            "latency p50 ms": [number(v, 3) for v in board[mean_of(LATENCY_P50)]],
            "latency p95 ms": [number(v, 3) for v in board[mean_of(LATENCY_P95)]],
            "GPU MB added": [gpu(row) for _, row in board.iterrows()],
            "CPU MB added": [number(v, 1) for v in board[mean_of(CPU_MEMORY_MB)]],
            "parameters": [count(v) for v in board[mean_of(PARAMETERS)]],
            "fusion head parameters": [count(v) for v in board[mean_of(FUSION_PARAMETERS)]],
            "train s": [number(v, 1) for v in board[mean_of(TRAIN_SECONDS)]],
            "model run": [
                tables.run_link(r, u)
                for r, u in zip(board["model_run_id"], board["model_run_ui"], strict=True)
            ],
        }
    )


def pivot_display(table: pd.DataFrame) -> pd.DataFrame:
    if table.empty:
        return table
    cells = table.assign(
        cell=[
            f"{test_cell(s, d, lo, hi)} ({m})"
            for s, d, lo, hi, m in zip(
                table["score"],
                table["std"],
                table["ci_low"],
                table["ci_high"],
                table["modalities"],
                strict=True,
            )
        ]
    )
    pivot = cells.pivot(index="fusion", columns="depth", values="cell").fillna("–")
    pivot.columns = [f"depth {d}" for d in pivot.columns]
    return pivot.reset_index()


def ablation_display(table: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "modalities": table["modalities"],
            "n": table["n_modalities"].astype(str),
            "val": [number(v, 3) for v in table["val_score"]],
            "test [95 % CI]": [
                test_cell(*v)
                for v in zip(table["score"], table["std"], table["ci_low"], table["ci_high"], strict=True)
            ],
            "by": [f"{f}, depth {d}" for f, d in zip(table["fusion"], table["depth"], strict=True)],
            "test gain over best single modality": [signed(v) for v in table["gain_over_best_single"]],
        }
    )


def pareto_display(points: pd.DataFrame) -> pd.DataFrame:
    front = points[points["on_front"]]
    return pd.DataFrame(
        {
            "latency p50 ms": [number(v, 3) for v in front["latency_ms"]],
            "val": [number(v, 3) for v in front["val_score"]],
            "test": [number(v, 3) for v in front["score"]],
            "depth": front["depth"].astype(str),
            "modalities": front["modalities"],
            "fusion": front["fusion"],
        }
    )


def robustness_display(table: pd.DataFrame, label: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "depth": table["depth"].astype(str),
            "modalities": table["modalities"],
            "fusion": table["fusion"],
            label: [number(v, 3) for v in table["score"]],
            "noise retention": [number(v, 3) for v in table["retention"]],
            "worst missing": [number(v, 3) for v in table["worst_missing"]],
            f"{label} without each modality (trained without it)": [
                ", ".join(f"{m} {number(v, 3)} ({number(alone, 3)})" for m, (v, alone) in missing.items())
                or MISSING
                for missing in table["missing"]
            ],
        }
    )


def ranks_display(ranks: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "tasks": ranks["group"],
            "method": ranks["method"],
            "average rank": [number(v, 2) for v in ranks["average_rank"]],
            "tasks compared": ranks["units"].astype(str),
            "mean test score": [number(v, 3) for v in ranks["mean_score"]],
            "critical difference": [number(v, 2) for v in ranks["critical_difference"]],
        }
    )


def tests_display(tests: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "tasks": tests["group"],
            "method vs baseline": [
                f"{a} vs {b}" for a, b in zip(tests["method_a"], tests["method_b"], strict=True)
            ],
            "n": tests["n"].astype(str),
            "mean difference": [signed(v) for v in tests["mean_difference"]],
            "answer": tests["answer"],
            "P(better) / P(equivalent) / P(worse)": [
                MISSING if pd.isna(a) else f"{a:.2f} / {e:.2f} / {b:.2f}"
                for a, e, b in zip(
                    tests["p_a_better"], tests["p_equivalent"], tests["p_b_better"], strict=True
                )
            ],
            "p (Holm)": [p_value(v) for v in tests["p_holm"]],
            "minimum detectable effect": [
                "none" if v == float("inf") else number(v, 3) for v in tests["mde"]
            ],
        }
    )


def best_display(best: pd.DataFrame, metric: str) -> pd.DataFrame:
    name = metric.split("/", 1)[1]
    return pd.DataFrame(
        {
            "task": best["task"],
            "chosen on validation": [
                f"{f}, depth {d}, {m}" + (" ⚠ seeds disagree" if u else "")
                for f, d, m, u in zip(
                    best["fusion"], best["depth"], best["modalities"], best["unstable"], strict=True
                )
            ],
            "val": [number(v, 3) for v in best[f"val_{name}_mean"]],
            "test accuracy - Bayes ceiling [95 % CI]": [
                MISSING if pd.isna(c) else f"{a:.3f} - {c:.3f} = {signed(g)} {interval(lo, hi)}"
                for a, c, g, lo, hi in zip(
                    best["test_accuracy_mean"],
                    best["bayes_accuracy"],
                    best["gap_to_ceiling"],
                    best["gap_ci_low"],
                    best["gap_ci_high"],
                    strict=True,
                )
            ],
            "test [95 % CI]": [
                f"{number(v, 3)} {interval(lo, hi)}"
                for v, lo, hi in zip(
                    best[f"test_{name}_mean"],
                    best[f"test_{name}_ci_low"],
                    best[f"test_{name}_ci_high"],
                    strict=True,
                )
            ],
        }
    )


def _val_and_test(frame: pd.DataFrame, side: str) -> list[str]:
    """ "name (val / test)" of one side of a paired comparison (columns side, side_val, side_test)."""
    return [
        f"{n} ({number(v, 3)} / {number(t, 3)})"
        for n, v, t in zip(frame[side], frame[f"{side}_val"], frame[f"{side}_test"], strict=True)
    ]


def _test_difference(frame: pd.DataFrame) -> list[str]:
    return [
        f"{signed(d)} {interval(lo, hi)}"
        for d, lo, hi in zip(frame["difference"], frame["ci_low"], frame["ci_high"], strict=True)
    ]


def versus_display(versus: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "task": versus["task"],
            "neural (val / test)": _val_and_test(versus, "neural"),
            "reference (val / test)": _val_and_test(versus, "reference"),
            "test difference [95 % CI]": _test_difference(versus),
            "conclusion": versus["conclusion"],
        }
    )


def gate_display(gate: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "task": gate["task"],
            "modality": gate["modality"],
            "network (val / test)": _val_and_test(gate, "network"),
            "reference (val / test)": _val_and_test(gate, "reference"),
            "val difference": [signed(v) for v in gate["val_difference"]],
            "test difference [95 % CI]": _test_difference(gate),
            "gate (on validation)": gate["gate"],
            "cause (from the network's training)": gate["cause"],
        }
    )


def _named_scores(frame: pd.DataFrame, side: str) -> list[str]:
    """ "name: val / test [low, high]" for one side (``side`` prefixes its columns) of a paired table."""
    return [
        f"{n}: {number(v, 3)} / {number(t, 3)} {interval(lo, hi)}"
        for n, v, t, lo, hi in zip(
            frame[side],
            frame[f"{side}_val"],
            frame[f"{side}_test"],
            frame[f"{side}_ci_low"],
            frame[f"{side}_ci_high"],
            strict=True,
        )
    ]


SEPARATED = {
    "apart": "yes: the two intervals do not overlap",
    "paired": "paired only: the paired interval excludes 0, the two intervals overlap",
    "no": "no: the paired interval includes 0",
}


def spread_display(spread: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "task": spread["task"],
            "methods": spread["methods"],
            "first on validation: val / test [95 % CI]": _named_scores(spread, "first"),
            "last on validation: val / test [95 % CI]": _named_scores(spread, "last"),
            "test difference [95 % CI]": _test_difference(spread),
            "methods told apart": [SEPARATED.get(s, s) for s in spread["separated"]],
        }
    )


def single_display(versus: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "task": versus["task"],
            "best fusion: val / test [95 % CI]": _named_scores(versus, "fusion"),
            "best single modality: val / test [95 % CI]": _named_scores(versus, "single"),
            "test difference [95 % CI]": _test_difference(versus),
            "conclusion": versus["conclusion"],
        }
    )


def profile_display(profile: pd.DataFrame) -> pd.DataFrame:
    """One row per task: each entry as value [interval], NaN entries as what did not run."""

    def shown(row) -> str:  # itertuples row
        if pd.isna(row.value):
            return "n/a"
        interval = "" if pd.isna(row.ci_low) else f" [{signed(row.ci_low)}, {signed(row.ci_high)}]"
        return f"{signed(row.value)}{interval}"

    def per_modality(rows: pd.DataFrame, entry: str) -> str:
        chosen = rows[rows.entry == entry]
        if chosen["value"].isna().all():
            missing = chosen["missing"].iloc[0] if len(chosen) else ""
            return f"n/a ({missing})" if missing else "n/a"
        return "; ".join(f"{r.modality} {shown(r)}" for r in chosen.itertuples())

    def single(rows: pd.DataFrame, entry: str) -> str:
        row = next(rows[rows.entry == entry].itertuples())
        return shown(row) if not pd.isna(row.value) else f"n/a ({row.missing})"

    out = []
    for task, rows in profile.groupby("task", sort=True):
        first = rows.iloc[0]
        out.append(
            {
                "task": task,
                "depth": str(first["depth"]),
                "chance": number(first["chance"], 3),
                "alone (over chance)": per_modality(rows, "alone"),
                "drop-one loss": per_modality(rows, "drop_one_loss"),
                "redundancy": single(rows, "redundancy"),
                "synergy (over additive)": single(rows, "synergy"),
                "full set (chosen on validation)": f"{first['full_fusion']} on {first['full']}: {number(first['full_score'], 3)}",
                "additive on the full set": number(first["additive_score"], 3),
            }
        )
    return pd.DataFrame(out)
