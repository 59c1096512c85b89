"""Comparison tables as numeric DataFrames (formatting is render.py's job).

Every table keeps a deterministic row order: sorted by task, then the table's own key.
"""

from __future__ import annotations

import math
from itertools import combinations

import numpy as np
import pandas as pd
from scipy.stats import wilcoxon

from benchmark.report.collect import KEY, METRICS, ROBUST, StudyRuns

SCORE = "test/f1_macro"
MISSING = "robust/missing/"
UNIMODAL = "none"
ALPHA = 0.05
MIN_PAIRS = 6  # below this a signed-rank test cannot reach p < 0.05 (two-sided): report "too few pairs"


def combination_summary(runs: StudyRuns) -> pd.DataFrame:
    """One row per combination: its state and mean/std (ddof=1) over finished seeds of every metric."""
    finished = runs.finished_seeds
    grouped = finished.groupby("combination_id")[list(METRICS)]
    means = grouped.mean().add_suffix("_mean")
    stds = grouped.std(ddof=1).add_suffix("_std")
    summary = runs.combinations.merge(means, how="left", left_on="combination_id", right_index=True)
    summary = summary.merge(stds, how="left", left_on="combination_id", right_index=True)
    return summary.sort_values(KEY, kind="stable").reset_index(drop=True)


def _scored(summary: pd.DataFrame, metric: str = SCORE) -> pd.DataFrame:
    return summary[summary[f"{metric}_mean"].notna()]


def leaderboard(summary: pd.DataFrame, metric: str = SCORE) -> pd.DataFrame:
    """Per task, best first; combinations without a finished seed at the bottom, rank empty."""
    frame = summary.copy()
    frame["rank"] = frame.groupby("task")[f"{metric}_mean"].rank(method="min", ascending=False)
    frame["_missing"] = frame[f"{metric}_mean"].isna()
    frame["_order"] = -frame[f"{metric}_mean"].fillna(-math.inf)
    frame = frame.sort_values(["task", "_missing", "_order", "depth", "modalities", "fusion"], kind="stable")
    return frame.drop(columns=["_missing", "_order"]).reset_index(drop=True)


def fusion_depth_table(summary: pd.DataFrame, metric: str = SCORE) -> pd.DataFrame:
    """Per task x fusion x depth: the best score over modality subsets, and which subset gave it."""
    scored = _scored(summary, metric)
    if scored.empty:
        return pd.DataFrame(columns=["task", "fusion", "depth", "score", "std", "modalities"])
    best = (
        scored.sort_values(f"{metric}_mean", ascending=False, kind="stable")
        .groupby(["task", "fusion", "depth"])
        .head(1)
    )
    table = best[["task", "fusion", "depth", f"{metric}_mean", f"{metric}_std", "modalities"]]
    table = table.rename(columns={f"{metric}_mean": "score", f"{metric}_std": "std"})
    return table.sort_values(["task", "fusion", "depth"]).reset_index(drop=True)


def modality_ablation(summary: pd.DataFrame, metric: str = SCORE) -> pd.DataFrame:
    """Per task x modality subset: the best score over fusion methods and depths, and its gain over
    the task's best single modality."""
    scored = _scored(summary, metric)
    columns = [
        "task",
        "modalities",
        "n_modalities",
        "score",
        "std",
        "fusion",
        "depth",
        "gain_over_best_single",
    ]
    if scored.empty:
        return pd.DataFrame(columns=columns)
    best = (
        scored.sort_values(f"{metric}_mean", ascending=False, kind="stable")
        .groupby(["task", "modalities"])
        .head(1)
    )
    best = best.rename(columns={f"{metric}_mean": "score", f"{metric}_std": "std"})
    single = best[best["n_modalities"] == 1].groupby("task")["score"].max()
    best["gain_over_best_single"] = best["score"] - best["task"].map(single)
    return best[columns].sort_values(["task", "n_modalities", "modalities"]).reset_index(drop=True)


def pareto_front(
    summary: pd.DataFrame, score: str = "test/accuracy", cost: str = "latency/p50_ms"
) -> pd.DataFrame:
    """All scored combinations with ``on_front``: no other combination of the task is at least as
    accurate and at least as fast, and strictly better in one of the two."""
    frame = summary[summary[f"{score}_mean"].notna() & summary[f"{cost}_mean"].notna()]
    frame = frame[[*KEY, f"{score}_mean", f"{cost}_mean"]].rename(
        columns={f"{score}_mean": "accuracy", f"{cost}_mean": "latency_ms"}
    )
    # Identical points cannot dominate each other, so decide on distinct (task, latency, accuracy)
    # points: fastest first (ties: most accurate first), a point is on the front iff it is more
    # accurate than every point before it. O(n log n) per task.
    distinct = frame[["task", "latency_ms", "accuracy"]].drop_duplicates()
    distinct = distinct.sort_values(
        ["task", "latency_ms", "accuracy"], ascending=[True, True, False], kind="stable"
    )
    before = distinct.groupby("task")["accuracy"].transform(
        lambda acc: acc.cummax().shift(fill_value=-math.inf)
    )
    distinct = distinct.assign(front=distinct["accuracy"] > before)
    on_front = frame[["task", "latency_ms", "accuracy"]].merge(distinct, how="left")["front"].to_numpy()
    frame = frame.assign(on_front=pd.Series(on_front, index=frame.index, dtype=bool))
    return frame.sort_values(["task", "latency_ms", "accuracy"], kind="stable").reset_index(drop=True)


def fusion_ranks(summary: pd.DataFrame, metric: str = SCORE) -> pd.DataFrame:
    """Average rank of each fusion method over blocks (task, depth, modality subset) that compare at
    least two methods; rank 1 = best, ties share the average rank."""
    scored = _scored(summary, metric)
    scored = scored[scored["fusion"] != UNIMODAL]
    block = ["task", "depth", "modalities"]
    sizes = scored.groupby(block)["fusion"].transform("count")
    scored = scored[sizes >= 2].copy()
    columns = ["fusion", "average_rank", "blocks", "wins", "mean_score"]
    if scored.empty:
        return pd.DataFrame(columns=columns)
    scored["rank"] = scored.groupby(block)[f"{metric}_mean"].rank(method="average", ascending=False)
    table = scored.groupby("fusion").agg(
        average_rank=("rank", "mean"),
        blocks=("rank", "size"),
        wins=("rank", lambda r: int((r == 1).sum())),
        mean_score=(f"{metric}_mean", "mean"),
    )
    table = table.reset_index().sort_values(["average_rank", "fusion"], kind="stable")
    return table[columns].reset_index(drop=True)


def holm(p_values: list[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values (NaN stays NaN and is not counted)."""
    valid = sorted((p, i) for i, p in enumerate(p_values) if not math.isnan(p))
    adjusted = [math.nan] * len(p_values)
    running = 0.0
    for k, (p, i) in enumerate(valid):
        running = max(running, min(1.0, (len(valid) - k) * p))
        adjusted[i] = running
    return adjusted


def pairwise_tests(seeds: pd.DataFrame, metric: str = SCORE) -> pd.DataFrame:
    """Wilcoxon signed-rank test between every two fusion methods, paired by (task, depth, modality
    subset, seed) over finished final runs; Holm-adjusted across pairs."""
    finished = seeds[(seeds["status"] == "FINISHED") & (seeds["fusion"] != UNIMODAL) & seeds[metric].notna()]
    methods = sorted(finished["fusion"].unique())
    pair_key = ["task", "depth", "modalities", "seed"]
    rows = []
    for a, b in combinations(methods, 2):
        left = finished[finished["fusion"] == a][[*pair_key, metric]]
        right = finished[finished["fusion"] == b][[*pair_key, metric]]
        paired = left.merge(right, on=pair_key, suffixes=("_a", "_b"))
        diff = (paired[f"{metric}_a"] - paired[f"{metric}_b"]).to_numpy()
        p_value = math.nan
        if len(diff) >= MIN_PAIRS and np.any(diff != 0):
            p_value = float(wilcoxon(paired[f"{metric}_a"], paired[f"{metric}_b"]).pvalue)
        rows.append(
            {
                "method_a": a,
                "method_b": b,
                "pairs": len(diff),
                "a_better": int((diff > 0).sum()),
                "b_better": int((diff < 0).sum()),
                "ties": int((diff == 0).sum()),
                "median_difference": float(np.median(diff)) if len(diff) else math.nan,
                "p_value": p_value,
            }
        )
    columns = [
        "method_a",
        "method_b",
        "pairs",
        "a_better",
        "b_better",
        "ties",
        "median_difference",
        "p_value",
    ]
    table = pd.DataFrame(rows, columns=columns)
    table["p_holm"] = holm(table["p_value"].tolist()) if len(table) else []
    table["conclusion"] = [_conclusion(row) for row in table.itertuples()]
    return table


def _conclusion(row) -> str:  # noqa: ANN001 - a pandas itertuples row
    if math.isnan(row.p_value):
        return (
            f"too few paired runs to test ({row.pairs} < {MIN_PAIRS})"
            if row.pairs < MIN_PAIRS
            else "identical scores"
        )
    if row.p_holm >= ALPHA:
        return f"no significant difference (Holm-adjusted p = {row.p_holm:.3g})"
    winner, loser = (
        (row.method_a, row.method_b) if row.median_difference > 0 else (row.method_b, row.method_a)
    )
    if row.median_difference == 0:
        winner, loser = (
            (row.method_a, row.method_b) if row.a_better > row.b_better else (row.method_b, row.method_a)
        )
    return f"{winner} beats {loser} (Holm-adjusted p = {row.p_holm:.3g})"


def summary_sentences(ranks: pd.DataFrame, tests: pd.DataFrame, metric: str = SCORE) -> list[str]:
    """What the cross-task comparison concludes, in plain words."""
    if ranks.empty:
        return ["No block compares two fusion methods yet, so no ranking is possible."]
    best = ranks.iloc[0]
    lines = [
        f"Best average rank on {metric}: {best['fusion']} ({best['average_rank']:.2f} over {int(best['blocks'])} "
        f"task x depth x modality-subset blocks; rank 1 is best)."
    ]
    significant = tests[tests["p_holm"] < ALPHA] if len(tests) else tests
    if len(tests) == 0:
        lines.append("Only one fusion method ran, so there is nothing to test.")
    elif significant.empty:
        lines.append(
            f"No pair of fusion methods differs significantly (Wilcoxon signed-rank, Holm-adjusted, alpha = {ALPHA})."
        )
    else:
        lines += [f"{c}." for c in significant["conclusion"]]
        rest = len(tests) - len(significant)
        if rest:
            lines.append(f"The other {rest} pair(s) show no significant difference at alpha = {ALPHA}.")
    return lines


def _robust_means(runs: StudyRuns) -> pd.DataFrame:
    """Per combination (finished seeds): the mean of clean accuracy and of every robustness metric."""
    finished = runs.finished_seeds
    columns = ["test/accuracy", *(c for c in finished.columns if c.startswith(ROBUST))]
    means = finished.groupby("combination_id")[columns].mean()
    return runs.combinations[[*KEY, "n_modalities", "combination_id"]].merge(
        means, left_on="combination_id", right_index=True
    )


def robustness_table(runs: StudyRuns) -> pd.DataFrame:
    """Per combination with robustness numbers: clean accuracy, the noise AUC (one number: mean over
    modalities of the area under accuracy against noise, over the largest level), the accuracy with each
    modality missing, and the worst of those."""
    means = _robust_means(runs)
    columns = [*KEY, "accuracy", "noise_auc", "worst_missing", "missing"]
    if "robust/noise_auc" not in means and not any(c.startswith(MISSING) for c in means):
        return pd.DataFrame(columns=columns)
    rows = []
    for _, row in means.iterrows():
        modalities = row["modalities"].split("+")
        missing = {m: row.get(f"{MISSING}{m}/accuracy", math.nan) for m in modalities}
        missing = {m: v for m, v in missing.items() if pd.notna(v)}
        rows.append(
            {
                **{k: row[k] for k in KEY},
                "accuracy": row["test/accuracy"],
                "noise_auc": row.get("robust/noise_auc", math.nan),
                "worst_missing": min(missing.values()) if missing else math.nan,
                "missing": missing,
            }
        )
    frame = pd.DataFrame(rows, columns=columns)
    return frame.sort_values(KEY, kind="stable").reset_index(drop=True)


def noise_levels(columns: list[str]) -> list[float]:
    """The noise levels present among metric names robust/noise/<m>/<level>/accuracy."""
    levels = set()
    for column in columns:
        parts = column.split("/")
        if len(parts) == 5 and parts[:2] == ["robust", "noise"] and parts[4] == "accuracy":
            levels.add(float(parts[3]))
    return sorted(levels)


def noise_curves(runs: StudyRuns) -> pd.DataFrame:
    """Per task and fusion method, on the task's largest modality set at the best depth (by clean
    accuracy): accuracy at each noise level, with noise on one modality at a time, averaged over the
    modalities. Level 0 is the clean accuracy."""
    means = _robust_means(runs)
    levels = noise_levels(list(means.columns))
    columns = ["task", "fusion", "depth", "modalities", "level", "accuracy"]
    if not levels or means.empty:
        return pd.DataFrame(columns=columns)
    largest = means.groupby("task")["n_modalities"].transform("max")
    full = means[means["n_modalities"] == largest]
    best = (
        full.sort_values("test/accuracy", ascending=False, kind="stable").groupby(["task", "fusion"]).head(1)
    )
    rows = []
    for _, row in best.iterrows():
        modalities = row["modalities"].split("+")
        rows.append({**{k: row[k] for k in ("task", "fusion", "depth", "modalities")},
                     "level": 0.0, "accuracy": row["test/accuracy"]})  # fmt: skip
        for level in levels:
            values = [row.get(f"robust/noise/{m}/{level:g}/accuracy", math.nan) for m in modalities]
            values = [v for v in values if pd.notna(v)]
            if values:
                rows.append({**{k: row[k] for k in ("task", "fusion", "depth", "modalities")},
                             "level": level, "accuracy": float(np.mean(values))})  # fmt: skip
    frame = pd.DataFrame(rows, columns=columns)
    return frame.sort_values(["task", "fusion", "level"], kind="stable").reset_index(drop=True)
