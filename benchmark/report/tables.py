"""Comparison tables as numeric DataFrames (formatting is render.py's job).

Every table keeps a deterministic row order: sorted by task, then the table's own key.
"""

from __future__ import annotations

import math

import pandas as pd

from benchmark.methods import is_reference
from benchmark.report import statistics
from benchmark.report.collect import KEY, StudyRuns, metric_columns
from benchmark.report.render import interval
from benchmark.schema import (
    CEILING,
    LATENCY_P50,
    MEAN,
    STD,
    TEST_ACCURACY,
    TEST_F1,
    VAL,
    mean_of,
    std_of,
)

SCORE = TEST_F1
UNIMODAL = "none"


def fusion_methods(summary: pd.DataFrame) -> list[str]:
    """The fusion methods the comparison ranks: neither unimodal baselines nor reference models."""
    return sorted(f for f in summary["fusion"].unique() if f != UNIMODAL and not is_reference(f))


def combination_summary(runs: StudyRuns, metric: str = SCORE, unstable_std: float = 0.03) -> pd.DataFrame:
    """One row per combination: its state, mean/std (ddof=1)/min over finished seeds of every metric,
    and ``unstable``: the seeds disagree on the validation counterpart of ``metric`` (std above
    ``unstable_std``, or one seed more than twice that below the mean). Judged on validation, as the
    seeds were added on validation (final.max_seeds): the test set is for reporting, and on a small test
    set a flag there would measure its granularity (one nutrimouse mouse is 0.125), not the seeds.

    With outer splits (``splits: K``) each statistic is taken over a split's seeds, then averaged over
    the splits: the mean is the mean of the split means (every split weighs the same, however many
    seeds it got), the std is the mean within-split seed spread, and "one seed far below the mean" is
    judged within its split, so the split-to-split variation never reads as seed instability (``_min``
    is the lowest run of any split).
    """
    metrics = list(metric_columns())
    per_split = runs.finished_seeds.groupby(["combination_id", "split"])[metrics]
    means = cell_means(runs.finished_seeds, metrics).add_suffix(MEAN)
    stds = per_split.std(ddof=1).groupby(level="combination_id").mean().add_suffix(STD)
    lows = per_split.min().groupby(level="combination_id").min().add_suffix("_min")
    judged = validation(metric)
    drops = (per_split.mean() - per_split.min()).groupby(level="combination_id").max()[judged]
    summary = runs.combinations.merge(means, how="left", left_on="combination_id", right_index=True)
    summary = summary.merge(stds, how="left", left_on="combination_id", right_index=True)
    summary = summary.merge(lows, how="left", left_on="combination_id", right_index=True)
    spread = summary[std_of(judged)].fillna(0) > unstable_std
    outlier = summary["combination_id"].map(drops).fillna(0) > 2 * unstable_std
    summary["unstable"] = spread | outlier
    summary["constant_seeds"] = summary["combination_id"].map(constant_seeds(runs)).fillna(0).astype(int)
    summary["model_run_id"] = summary["combination_id"].map(model_runs(runs))
    return summary.sort_values(KEY, kind="stable").reset_index(drop=True)


def model_runs(runs: StudyRuns) -> dict[str, str]:
    """combination id -> the run that saved its model and that ``predict`` loads: the first finished seed
    of its first outer split (every split trained its own model; ``predict --split K`` loads another)."""
    first = runs.finished_seeds.sort_values(["split", "seed"], kind="stable")
    first = first.drop_duplicates("combination_id")
    return dict(zip(first["combination_id"], first["run_id"], strict=True))


def run_reference(run_id: object, ui_runs: str = "") -> str:
    """A run as the report names it: its id's first 8 characters, linked into the MLflow UI where the
    report knows the address."""
    return run_link(run_id, f"{ui_runs}{run_id}" if ui_runs and isinstance(run_id, str) else "")


def run_link(run_id: object, address: object) -> str:
    """A run's id's first 8 characters, linked to ``address`` where there is one; "–" for no run."""
    if not isinstance(run_id, str) or not run_id:
        return "–"
    short = f"`{run_id[:8]}`"
    return f"[{short}]({address})" if isinstance(address, str) and address else short


def constant_seeds(runs: StudyRuns) -> dict[str, int]:
    """Per grid cell: how many finished seeds predicted one class for every test sample (a model that
    learned nothing, network or reference; its score is a constant's, whatever the metric says)."""
    counts: dict[str, int] = {}
    finished = runs.finished_seeds
    for combination_id, run_id in zip(finished["combination_id"], finished["run_id"], strict=True):
        if run_id in runs.predictions:
            predicted = runs.predictions[run_id][1]
            constant = len(predicted) > 1 and bool((predicted == predicted[0]).all())
            counts[combination_id] = counts.get(combination_id, 0) + constant
    return counts


LOST_BELOW_MEDIAN = 0.10  # a final seed this far below its fold's median test score is lost


def lost_seeds(seeds: pd.DataFrame, metric: str) -> pd.DataFrame:
    """The networks' finished final seeds, with ``lost``: more than LOST_BELOW_MEDIAN below the median
    test score of its combination's seeds on the same outer fold. The seeds differ only in
    initialisation and batch order and share their test set: a lost seed is a training that failed
    where its siblings trained. Test scores are only described here; nothing is chosen by them.
    Reference models (deterministic per fold) are left out."""
    finished = seeds[(seeds["status"] == "FINISHED") & ~seeds["fusion"].map(is_reference).astype(bool)]
    scored = finished.dropna(subset=[metric]).copy()
    median = scored.groupby(["combination_id", "split"])[metric].transform("median")
    scored["lost"] = scored[metric] < median - LOST_BELOW_MEDIAN
    return scored


def lost_per_combination(marked: pd.DataFrame) -> pd.Series:
    """Lost seeds per combination (``KEY``) of ``lost_seeds``'s rows, most first; only those that lost one."""
    return marked[marked["lost"]].groupby(KEY).size().sort_values(ascending=False, kind="stable")


def cell_means(finished: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Per grid cell: the mean over its outer splits of each split's seed mean (every split weighs the
    same, however many seeds it got)."""
    return (
        finished.groupby(["combination_id", "split"])[columns].mean().groupby(level="combination_id").mean()
    )


def validation(metric: str) -> str:
    """The validation counterpart of a test metric name: test/f1_macro -> val/f1_macro."""
    return VAL + metric.split("/", 1)[1]


def scored_rows(summary: pd.DataFrame, metric: str = SCORE) -> pd.DataFrame:
    return summary[summary[mean_of(metric)].notna() & summary[mean_of(validation(metric))].notna()]


def chosen_on_validation(frame: pd.DataFrame, metric: str, by: list[str]) -> pd.DataFrame:
    """Per group ``by``: the row with the best validation mean (ties: the first in KEY order). The test
    score never takes part in the choice."""
    ordered = frame.sort_values(KEY, kind="stable").sort_values(
        mean_of(validation(metric)), ascending=False, kind="stable"
    )
    return ordered.groupby(by).head(1)


def _score_columns(frame: pd.DataFrame, metric: str) -> pd.DataFrame:
    return frame.rename(
        columns={
            mean_of(metric): "score",
            std_of(metric): "std",
            f"{metric}_ci_low": "ci_low",
            f"{metric}_ci_high": "ci_high",
            mean_of(validation(metric)): "val_score",
        }
    )


def leaderboard(summary: pd.DataFrame, metric: str = SCORE, ui_runs: str = "") -> pd.DataFrame:
    """Per task, ordered and ranked by the validation score of the final runs (best first); test scores
    are reported beside it. Combinations without a finished seed at the bottom, rank empty.
    ``model_run_ui``: the address of the run holding the model in the MLflow UI, where known."""
    frame = summary.copy()
    frame["model_run_ui"] = [
        f"{ui_runs}{r}" if ui_runs and isinstance(r, str) else "" for r in frame["model_run_id"]
    ]
    val = mean_of(validation(metric))
    frame["rank"] = frame.groupby("task")[val].rank(method="min", ascending=False)
    frame["unstable"] = frame.pop("unstable")  # beside rank, as the leaderboard's columns were
    frame["reference"] = frame["fusion"].map(is_reference)
    frame["_missing"] = frame[val].isna()
    frame["_order"] = -frame[val].fillna(-math.inf)
    frame = frame.sort_values(["task", "_missing", "_order", "depth", "modalities", "fusion"], kind="stable")
    return frame.drop(columns=["_missing", "_order"]).reset_index(drop=True)


BEST_COLUMNS = ["task", "depth", "modalities", "fusion"]


def task_answers(summary: pd.DataFrame, metric: str = SCORE, ui_runs: str = "") -> list[str]:
    """One line per task: the combination chosen on validation (reference models included: they are
    answers too) with its test score and 95 % interval, the run holding its model (linked into the UI
    with ``ui_runs``), and the others it ties with on validation (means closer than the larger of the
    two seed stds), which a rerun could put first."""
    frame = scored_rows(summary, metric)
    val, val_std = mean_of(validation(metric)), std_of(validation(metric))
    lines = []
    for task, rows in frame.groupby("task", sort=True):
        ordered = chosen_on_validation(rows, metric, ["task", "depth", "modalities", "fusion"])
        best = ordered.iloc[0]
        spread = ordered[val_std].fillna(0).clip(lower=best[val_std] if best[val_std] == best[val_std] else 0)
        tied = ordered.iloc[1:][(best[val] - ordered[val]).iloc[1:] <= spread.iloc[1:]]
        name = f"{best['fusion']} d{best['depth']} {best['modalities']}"
        line = (
            f"{task}: {name}, test {best[mean_of(metric)]:.3f} "
            f"{interval(best[f'{metric}_ci_low'], best[f'{metric}_ci_high'])}, "
            f"model in run {run_reference(best.get('model_run_id'), ui_runs)}"
        )
        if len(tied):
            others = ", ".join(f"{r.fusion} d{r.depth} {r.modalities}" for r in tied.head(3).itertuples())
            more = f" and {len(tied) - 3} more" if len(tied) > 3 else ""
            line += f"; a tie on validation with {others}{more}"
        lines.append(line)
    return lines


def best_per_task(summary: pd.DataFrame, metric: str = SCORE) -> pd.DataFrame:
    """``best.csv``: per task, the combination (reference models excluded) with the best validation
    score, with its test mean and 95 % interval."""
    scored = scored_rows(summary, metric)
    scored = scored[~scored["fusion"].map(is_reference)]
    name = metric.split("/", 1)[1]
    columns = [
        *BEST_COLUMNS,
        f"val_{name}_mean",
        f"test_{name}_mean",
        f"test_{name}_ci_low",
        f"test_{name}_ci_high",
        "unstable",
        "test_accuracy_mean",
        "bayes_accuracy",
        "share_of_ceiling",
        "gap_to_ceiling",
        "gap_ci_low",
        "gap_ci_high",
    ]
    if scored.empty:
        return pd.DataFrame(columns=columns)
    best = chosen_on_validation(scored, metric, ["task"])
    best = best.rename(
        columns={
            mean_of(validation(metric)): f"val_{name}_mean",
            mean_of(metric): f"test_{name}_mean",
            f"{metric}_ci_low": f"test_{name}_ci_low",
            f"{metric}_ci_high": f"test_{name}_ci_high",
        }
    )
    for column in (f"test_{name}_ci_low", f"test_{name}_ci_high"):
        if column not in best:
            best[column] = math.nan
    best = best.assign(
        test_accuracy_mean=best[mean_of(TEST_ACCURACY)],
        bayes_accuracy=best[mean_of(CEILING)],
        share_of_ceiling=best[mean_of(TEST_ACCURACY)] / best[mean_of(CEILING)],  # synthetic tasks only
    )
    for column in ("gap_to_ceiling", "gap_ci_low", "gap_ci_high"):
        if column not in best:
            best[column] = math.nan
    return best[columns].sort_values("task").reset_index(drop=True)


def fusion_depth_table(summary: pd.DataFrame, metric: str = SCORE) -> pd.DataFrame:
    """Per task x fusion x depth: the modality subset with the best validation score, its test score."""
    scored = scored_rows(summary, metric)
    columns = ["task", "fusion", "depth", "score", "std", "ci_low", "ci_high", "val_score", "modalities"]
    if scored.empty:
        return pd.DataFrame(columns=columns)
    best = _score_columns(chosen_on_validation(scored, metric, ["task", "fusion", "depth"]), metric)
    best = best.reindex(columns=columns)
    return best.sort_values(["task", "fusion", "depth"]).reset_index(drop=True)


def modality_ablation(summary: pd.DataFrame, metric: str = SCORE) -> pd.DataFrame:
    """Per task x modality subset: the fusion method and depth with the best validation score, its test
    score, and the gain in test score over the task's best single modality (chosen on validation)."""
    scored = scored_rows(summary, metric)
    scored = scored[~scored["fusion"].map(is_reference)]
    columns = [
        "task",
        "modalities",
        "n_modalities",
        "score",
        "std",
        "ci_low",
        "ci_high",
        "val_score",
        "fusion",
        "depth",
        "gain_over_best_single",
    ]
    if scored.empty:
        return pd.DataFrame(columns=columns)
    best = _score_columns(chosen_on_validation(scored, metric, ["task", "modalities"]), metric)
    best = best.reindex(columns=columns)
    single = best[best["n_modalities"] == 1]
    single = single.sort_values("val_score", ascending=False, kind="stable").groupby("task").head(1)
    best["gain_over_best_single"] = best["score"] - best["task"].map(single.set_index("task")["score"])
    return best[columns].sort_values(["task", "n_modalities", "modalities"]).reset_index(drop=True)


def pareto_front(summary: pd.DataFrame, metric: str = SCORE, cost: str = LATENCY_P50) -> pd.DataFrame:
    """All scored combinations with ``on_front``: no other combination of the task has at least as good a
    validation score and at least as low a latency, and is strictly better in one of the two. The
    front is chosen on validation; ``score`` is the test score shown for it."""
    val = mean_of(validation(metric))
    frame = summary[summary[val].notna() & summary[mean_of(metric)].notna() & summary[mean_of(cost)].notna()]
    frame = frame[[*KEY, val, mean_of(metric), mean_of(cost)]].rename(
        columns={val: "val_score", mean_of(metric): "score", mean_of(cost): "latency_ms"}
    )
    # Identical points cannot dominate each other, so decide on distinct (task, latency, score)
    # points: fastest first (ties: best first), a point is on the front iff it beats every point
    # before it. O(n log n) per task.
    distinct = frame[["task", "latency_ms", "val_score"]].drop_duplicates()
    distinct = distinct.sort_values(
        ["task", "latency_ms", "val_score"], ascending=[True, True, False], kind="stable"
    )
    before = distinct.groupby("task")["val_score"].transform(lambda v: v.cummax().shift(fill_value=-math.inf))
    distinct = distinct.assign(front=distinct["val_score"] > before)
    on_front = frame[["task", "latency_ms", "val_score"]].merge(distinct, how="left")["front"].to_numpy()
    frame = frame.assign(on_front=pd.Series(on_front, index=frame.index, dtype=bool))
    return frame.sort_values(["task", "latency_ms", "val_score"], kind="stable").reset_index(drop=True)


RANK_COLUMNS = [
    "group",
    "unit",
    "method",
    "average_rank",
    "units",
    "critical_difference",
    "mean_score",
    "test",
    "p_value",
]


def task_group(summary: pd.DataFrame) -> pd.Series:
    """Per summary row: "synthetic" where the task logged a Bayes ceiling (its generator knows it),
    "real" otherwise."""
    ceiling = mean_of(CEILING)
    synthetic = set(summary.loc[summary[ceiling].notna(), "task"]) if ceiling in summary.columns else set()
    return summary["task"].map(lambda task: "synthetic" if task in synthetic else "real")


def method_comparison(
    summary: pd.DataFrame,
    metric: str = SCORE,
    *,
    alpha: float = 0.05,
    rope: float = 0.01,
    baseline: str = "concat",
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, statistics.Omnibus]]:
    """(ranks, the declared family, omnibus per group) for the fusion methods, real and synthetic
    tasks apart, the data set (task) as the unit. See statistics.py."""
    methods = fusion_methods(summary)
    groups = task_group(summary)
    omnibus, significance, ranks = {}, [], []
    for group in statistics.GROUPS:
        rows = summary[groups == group]
        if rows.empty:
            continue
        blocks = statistics.block_scores(rows, metric, methods)
        blocks = blocks[[m for m in blocks.columns if blocks[m].notna().any()]]
        omni = statistics.omnibus(blocks, group, alpha)
        omnibus[group] = omni
        table = omni.ranks.assign(
            group=group,
            unit="task",
            units=omni.units,
            critical_difference=omni.critical_difference,
            test=omni.test or f"none: {omni.reason}",
            p_value=omni.p_value,
        )
        ranks.append(table.sort_values(["average_rank", "method"], kind="stable"))
        significance.append(statistics.baseline_family(blocks, group, baseline, alpha, rope))
    rank_table = (
        pd.concat(ranks, ignore_index=True).reindex(columns=RANK_COLUMNS)
        if ranks
        else pd.DataFrame(columns=RANK_COLUMNS)
    )
    family = [t for t in significance if len(t)]
    tests = (
        pd.concat(family, ignore_index=True)
        if family
        else pd.DataFrame(columns=statistics.SIGNIFICANCE_COLUMNS)
    )
    return rank_table, tests, omnibus


def summary_sentences(
    omnibus: dict[str, statistics.Omnibus],
    significance: pd.DataFrame,
    label: str,
    rope: float,
    alpha: float = 0.05,
    baseline: str = "concat",
) -> list[str]:
    """What the cross-task comparison concludes, in plain words: which test, on how many tasks, what it
    concludes and, beside every null, what the design could have detected."""
    if all(len(o.methods) < 2 for o in omnibus.values()):
        return ["Fewer than two fusion methods ran, so there is nothing to compare."]
    lines = [
        "Unit of comparison: the data set (task), as Demsar (2006) recommends, scored by the mean over "
        "its blocks (depth x modality subset) where the compared methods all ran, each block the mean over "
        "its final seeds and outer folds; seeds and folds are never counted as independent observations. "
        "Real and synthetic tasks are analysed apart. The declared family is every fusion method against "
        f"{baseline} (exact Wilcoxon signed-rank, Holm over that family only); the primary answer is the "
        f"Bayesian signed-rank test with a ±{rope:g} region of practical equivalence; other pairs are "
        "described by their average ranks only."
    ]
    for group, omni in omnibus.items():
        lines.append(statistics.omnibus_sentence(omni, label, alpha))
        rows = significance[significance["group"] == group] if len(significance) else significance
        if rows.empty:
            lines.append(f"No family over the {group} tasks: {baseline} did not run there.")
            continue
        answers = rows["answer"].value_counts()
        counts = ", ".join(f"{n} {a}" for a, n in answers.items())
        lines.append(
            f"Against {baseline} over the {group} tasks ({counts}): "
            + " ".join(f"{c}." for c in rows["conclusion"])
        )
    return lines


def unstable_combinations(summary: pd.DataFrame, metric: str = SCORE) -> pd.DataFrame:
    """Combinations whose final seeds disagree on the ranking score's validation counterpart (see
    ``combination_summary``), with that spread."""
    judged = validation(metric)
    flagged = summary[summary["unstable"] & summary[mean_of(metric)].notna()]
    return flagged[[*KEY, mean_of(judged), std_of(judged), f"{judged}_min"]].reset_index(drop=True)
