"""Formatting the report's tables: numeric DataFrames in, DataFrames of display strings out."""

from __future__ import annotations

import pandas as pd

from benchmark.report import tables
from benchmark.report.render import NOT_MEASURED, count, number, p_value, score, signed
from benchmark.schema import (
    CEILING,
    CPU_MEMORY_MB,
    GPU_MEMORY_MB,
    LATENCY_P50,
    LATENCY_P95,
    PARAMETERS,
    TEST_ACCURACY,
    TEST_RECALL,
    TRAIN_SECONDS,
    mean_of,
    std_of,
)

MISSING = "–"


def interval(low: float, high: float) -> str:
    return MISSING if pd.isna(low) else f"[{low:.3f}, {high:.3f}]"


def test_cell(mean: float, std: float, low: float, high: float) -> str:
    """Test mean ± seed std, then the 95 % interval over test samples and seeds."""
    text = score(mean, std)
    return text if pd.isna(low) else f"{text} {interval(low, high)}"


def leaderboard_display(board: pd.DataFrame, metric: str, metric_label: str) -> pd.DataFrame:
    def gpu(row: pd.Series) -> str:
        return (
            NOT_MEASURED if pd.isna(row[mean_of(GPU_MEMORY_MB)]) else number(row[mean_of(GPU_MEMORY_MB)], 1)
        )

    def method(fusion: str, reference: bool, unstable: bool) -> str:
        return fusion + (" (reference)" if reference else "") + (" ⚠ seeds disagree" if unstable else "")

    val = tables.validation(metric)
    return pd.DataFrame(
        {
            "rank (val)": [MISSING if pd.isna(r) else f"{int(r)}" for r in board["rank"]],
            "depth": board["depth"].astype(str),
            "modalities": board["modalities"],
            "fusion": [
                method(*v) for v in zip(board["fusion"], board["reference"], board["unstable"], strict=True)
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
                )  # fmt: skip
            ],
            "test accuracy": [
                score(m, s)
                for m, s in zip(board[mean_of(TEST_ACCURACY)], board[std_of(TEST_ACCURACY)], strict=True)
            ],
            "of the Bayes ceiling": [
                MISSING if pd.isna(c) else f"{a / c:.0%} of {c:.3f}"
                for a, c in zip(board[mean_of(TEST_ACCURACY)], board[mean_of(CEILING)], strict=True)
            ],
            "test macro recall": [
                score(m, s)
                for m, s in zip(board[mean_of(TEST_RECALL)], board[std_of(TEST_RECALL)], strict=True)
            ],
            "latency p50 ms": [number(v, 3) for v in board[mean_of(LATENCY_P50)]],
            "latency p95 ms": [number(v, 3) for v in board[mean_of(LATENCY_P95)]],
            "GPU MB added": [gpu(row) for _, row in board.iterrows()],
            "CPU MB added": [number(v, 1) for v in board[mean_of(CPU_MEMORY_MB)]],
            "parameters": [count(v) for v in board[mean_of(PARAMETERS)]],
            "train s": [number(v, 1) for v in board[mean_of(TRAIN_SECONDS)]],
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
            )  # fmt: skip
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
            "unit": ranks["unit"],
            "method": ranks["method"],
            "average rank": [number(v, 2) for v in ranks["average_rank"]],
            "units compared": ranks["units"].astype(str),
            "mean test score": [number(v, 3) for v in ranks["mean_score"]],
            "critical difference": [number(v, 2) for v in ranks["critical_difference"]],
        }
    )


def tests_display(tests: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "unit": tests["unit"],
            "pair (a vs b)": [
                f"{a} vs {b}" for a, b in zip(tests["method_a"], tests["method_b"], strict=True)
            ],
            "n": tests["n"].astype(str),
            "mean difference (a - b)": [signed(v) for v in tests["mean_difference"]],
            "p (Holm)": [p_value(v) for v in tests["p_holm"]],
            "P(a better) / P(equivalent) / P(b better)": [
                MISSING if pd.isna(a) else f"{a:.2f} / {e:.2f} / {b:.2f}"
                for a, e, b in zip(
                    tests["p_a_better"], tests["p_equivalent"], tests["p_b_better"], strict=True
                )
            ],
            "conclusion": tests["conclusion"],
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
            "test accuracy / Bayes ceiling": [
                MISSING if pd.isna(c) else f"{a:.3f} / {c:.3f} ({a / c:.0%})"
                for a, c in zip(best["test_accuracy_mean"], best["bayes_accuracy"], strict=True)
            ],
            "test [95 % CI]": [
                f"{number(v, 3)} {interval(lo, hi)}"
                for v, lo, hi in zip(
                    best[f"test_{name}_mean"],
                    best[f"test_{name}_ci_low"],
                    best[f"test_{name}_ci_high"],
                    strict=True,
                )  # fmt: skip
            ],
        }
    )


def versus_display(versus: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "task": versus["task"],
            "neural (val / test)": [f"{n} ({number(v, 3)} / {number(t, 3)})" for n, v, t in
                                    zip(versus["neural"], versus["neural_val"], versus["neural_test"], strict=True)],
            "reference (val / test)": [f"{n} ({number(v, 3)} / {number(t, 3)})" for n, v, t in
                                       zip(versus["reference"], versus["reference_val"], versus["reference_test"],
                                           strict=True)],
            "test difference [95 % CI]": [f"{signed(d)} {interval(lo, hi)}" for d, lo, hi in
                                          zip(versus["difference"], versus["ci_low"], versus["ci_high"], strict=True)],
            "conclusion": versus["conclusion"],
        }
    )  # fmt: skip


def single_display(versus: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "task": versus["task"],
            "best fusion: val / test [95 % CI]": [
                f"{n}: {number(v, 3)} / {number(t, 3)} {interval(lo, hi)}" for n, v, t, lo, hi in
                zip(versus["fusion"], versus["fusion_val"], versus["fusion_test"], versus["fusion_ci_low"],
                    versus["fusion_ci_high"], strict=True)],
            "best single modality: val / test [95 % CI]": [
                f"{n}: {number(v, 3)} / {number(t, 3)} {interval(lo, hi)}" for n, v, t, lo, hi in
                zip(versus["single"], versus["single_val"], versus["single_test"], versus["single_ci_low"],
                    versus["single_ci_high"], strict=True)],
            "test difference [95 % CI]": [f"{signed(d)} {interval(lo, hi)}" for d, lo, hi in
                                          zip(versus["difference"], versus["ci_low"], versus["ci_high"], strict=True)],
            "conclusion": versus["conclusion"],
        }
    )  # fmt: skip


def profile_display(profile: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "task": profile["task"],
            "depth": profile["depth"].astype(str),
            "chance": [number(v, 3) for v in profile["chance"]],
            "each modality alone": [", ".join(f"{m} {number(v, 3)}" for m, v in d.items()) for d in profile["unimodal"]],
            "unique (full set minus the set without it)": [
                ", ".join(f"{m} {signed(v)}" for m, v in d.items()) for d in profile["unique"]],
            "redundancy": [number(v, 3) for v in profile["redundancy"]],
            "synergy": [signed(v) for v in profile["synergy"]],
            "full set (chosen on validation)": [f"{f} on {m}: {number(s, 3)}" for f, m, s in
                                                zip(profile["full_fusion"], profile["full"], profile["full_score"],
                                                    strict=True)],
        }
    )  # fmt: skip
