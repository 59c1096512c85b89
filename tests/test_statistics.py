"""The comparison a reviewer checks first: unit of comparison, selection on validation, intervals.

Every store here is a real MLflow store whose values the test chose, so the right answer is known.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from baycomp import SignedRankTest
from scipy.stats import wilcoxon
from sklearn.metrics import f1_score
from statsmodels.stats.multitest import multipletests

from benchmark.report import ReportSettings, generate_report, tables
from benchmark.report.collect import collect
from benchmark.report.statistics import BAYES_SAMPLES, block_scores
from benchmark.report.uncertainty import bootstrap_interval, weighted_scores
from tests.store import build_store

SEED_NOISE = (0.0, 0.01, -0.01)  # the same per-seed offsets for every combination


def _metrics(test: float, val: float | None = None) -> dict[str, float]:
    return {"test/f1_macro": test, "test/accuracy": test, "test/recall_macro": test,
            "val/f1_macro": test if val is None else val, "val/accuracy": test}  # fmt: skip


def _entry(task: str, modalities: tuple[str, ...], fusion: str, scores: list[float], **extra) -> dict:
    return {"task": task, "depth": 1, "modalities": modalities, "fusion": fusion,
            "seeds": [_metrics(s) for s in scores], **extra}  # fmt: skip


def _summary(tmp_path, entries: list[dict]) -> pd.DataFrame:
    uri = build_store(tmp_path, "stats", entries)
    return tables.combination_summary(collect(uri, "stats"))


def _pair(significance: pd.DataFrame, unit: str) -> pd.Series:
    rows = significance[significance.unit == unit]
    assert len(rows) == 1
    return rows.iloc[0]


def test_small_consistent_differences_are_equivalent_not_significant(tmp_path):
    """A beats B by 0.003 in every seed of 4 blocks and loses by 0.001 in a fifth: pairing seeds as if
    they were independent would call it significant; blocks and tasks do not, and the Bayesian test
    calls the methods practically equivalent with the default ±0.01 margin."""
    entries, seed_a, seed_b = [], [], []
    for i, delta in enumerate([0.003, 0.003, 0.003, 0.003, -0.001]):
        base = 0.70 + 0.04 * i
        b = [base + n for n in SEED_NOISE]
        a = [x + delta for x in b]
        entries += [_entry(f"task{i}", ("x", "y"), "A", a), _entry(f"task{i}", ("x", "y"), "B", b)]
        seed_a += a
        seed_b += b
    assert wilcoxon(seed_a, seed_b).pvalue < 0.01  # the pseudo-replicated answer (15 seed pairs)
    _, significance, _ = tables.method_comparison(_summary(tmp_path, entries))
    for unit in ("block", "task"):
        row = _pair(significance, unit)
        assert row["n"] == 5
        assert row["p_holm"] >= 0.05
        assert row["p_equivalent"] > 0.95
        assert row["conclusion"].startswith("practically equivalent")


def test_a_clear_difference_is_significant_at_both_units(tmp_path):
    """A better than B by 0.05 in each of 12 blocks over 6 tasks."""
    entries = []
    for task in range(6):
        for block, modalities in enumerate((("x", "y"), ("x", "z"))):
            b = [0.6 + 0.03 * task + 0.01 * block + n for n in SEED_NOISE]
            entries += [_entry(f"task{task}", modalities, "B", b),
                        _entry(f"task{task}", modalities, "A", [x + 0.05 for x in b])]  # fmt: skip
    ranks, significance, omnibus = tables.method_comparison(_summary(tmp_path, entries))
    assert _pair(significance, "block")["n"] == 12 and _pair(significance, "task")["n"] == 6
    for unit in ("block", "task"):
        row = _pair(significance, unit)
        assert row["p_holm"] < 0.05
        assert row["conclusion"].startswith("A better than B")
        assert row["p_a_better"] > 0.95
    assert omnibus["task"].units == 6 and omnibus["task"].p_value < 0.05
    best = ranks[ranks.unit == "task"].sort_values("average_rank").iloc[0]
    assert best["method"] == "A" and best["average_rank"] == pytest.approx(1.0)


def test_a_method_absent_from_some_blocks_is_compared_only_where_it_ran(tmp_path):
    entries = []
    for task in range(6):
        for modalities in (("x", "y"), ("x", "y", "z")):
            scores = {"A": 0.8, "B": 0.7, "C": 0.75}
            for fusion, value in scores.items():
                if fusion == "C" and len(modalities) == 3:  # C cannot run on three modalities
                    continue
                entries.append(
                    _entry(f"t{task}", modalities, fusion, [value + 0.01 * task + n for n in SEED_NOISE])
                )
    summary = _summary(tmp_path, entries)
    ranks, significance, omnibus = tables.method_comparison(summary)
    blocks = significance[significance.unit == "block"].set_index(["method_a", "method_b"])
    assert blocks.loc[("A", "B"), "n"] == 12
    assert blocks.loc[("A", "C"), "n"] == 6 and blocks.loc[("B", "C"), "n"] == 6
    assert omnibus["block"].units == 6  # all three ran on the two-modality blocks only
    block_ranks = ranks[ranks.unit == "block"].set_index("method")
    # ranked out of three on comparable blocks, never out of two on the blocks C misses
    assert block_ranks.loc["B", "average_rank"] == pytest.approx(3.0)
    assert block_ranks.loc["C", "average_rank"] == pytest.approx(2.0)


def test_statistics_equal_the_libraries_on_the_same_inputs(tmp_path):
    rng = np.random.default_rng(3)
    entries = []
    truth = {}
    for task in range(6):
        for fusion, shift in (("concat", 0.02), ("gated", 0.0), ("late_vote", -0.01)):
            score = float(np.round(0.7 + 0.02 * task + shift + rng.normal(0, 0.01), 4))
            truth[(task, fusion)] = score
            entries.append(_entry(f"t{task}", ("x", "y"), fusion, [score] * 3))
    summary = _summary(tmp_path, entries)
    _, significance, omnibus = tables.method_comparison(summary, alpha=0.05, rope=0.01)
    blocks = block_scores(summary, "test/f1_macro", ["concat", "gated", "late_vote"])
    rows = significance[significance.unit == "block"]
    expected_p = []
    for row in rows.itertuples():
        a, b = blocks[row.method_a].to_numpy(), blocks[row.method_b].to_numpy()
        reference = wilcoxon(a, b)
        assert row.statistic == pytest.approx(reference.statistic)
        assert row.p_value == pytest.approx(reference.pvalue)
        expected_p.append(reference.pvalue)
        probabilities = SignedRankTest.probs(a, b, 0.01, nsamples=BAYES_SAMPLES, random_state=0)
        assert (row.p_a_better, row.p_equivalent, row.p_b_better) == pytest.approx(probabilities)
    assert rows["p_holm"].tolist() == pytest.approx(multipletests(expected_p, method="holm")[1].tolist())
    from autorank import autorank

    reference = autorank(blocks.groupby(level="task").mean(), alpha=0.05, verbose=False)
    assert omnibus["task"].p_value == pytest.approx(reference.pvalue)
    assert omnibus["task"].test == reference.omnibus


def test_best_is_chosen_on_validation_not_test(tmp_path):
    entries = [
        {"task": "t", "depth": 1, "modalities": ("x", "y"), "fusion": "concat",
         "seeds": [_metrics(0.95, val=0.80)] * 3},  # highest test, lower validation
        {"task": "t", "depth": 2, "modalities": ("x", "y"), "fusion": "gated",
         "seeds": [_metrics(0.90, val=0.85)] * 3},
        {"task": "t", "depth": 1, "modalities": ("x",), "fusion": "none", "seeds": [_metrics(0.99, val=0.5)] * 3},
    ]  # fmt: skip
    summary = _summary(tmp_path, entries)
    best = tables.best_per_task(summary)
    assert best.loc[0, "fusion"] == "gated" and best.loc[0, "depth"] == 2
    assert best.loc[0, "test_f1_macro_mean"] == pytest.approx(0.90)
    assert list(best.columns[:8]) == ["task", "depth", "modalities", "fusion", "val_f1_macro_mean",
                                      "test_f1_macro_mean", "test_f1_macro_ci_low", "test_f1_macro_ci_high"]  # fmt: skip
    ablation = tables.modality_ablation(summary).set_index("modalities")
    assert ablation.loc["x+y", "fusion"] == "gated"
    assert ablation.loc["x+y", "gain_over_best_single"] == pytest.approx(0.90 - 0.99)
    board = tables.leaderboard(summary)
    assert board["fusion"].tolist() == ["gated", "concat", "none"]


def test_bootstrap_scores_match_scikit_learn_and_intervals_shrink_with_more_samples():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 4, 300)
    predictions = np.where(rng.random(300) < 0.7, labels, rng.integers(0, 4, 300))
    scores = weighted_scores(labels, predictions, np.ones((1, 300)), 4)
    assert scores["f1_macro"][0] == pytest.approx(f1_score(labels, predictions, average="macro"))

    def runs(n: int) -> list[tuple[np.ndarray, np.ndarray]]:
        y = rng.integers(0, 2, n)
        return [(y, np.where(rng.random(n) < 0.8, y, 1 - y)) for _ in range(3)]

    small, large = bootstrap_interval(runs(200), "f1_macro"), bootstrap_interval(runs(5000), "f1_macro")
    assert small[0] < 0.8 < small[1] and large[0] < 0.8 < large[1]
    assert large[1] - large[0] < (small[1] - small[0]) / 3  # ~ 1/sqrt(n)
    assert bootstrap_interval(runs(200), "f1_macro", seed=1) != small  # it resamples
    with pytest.raises(ValueError, match="same split"):
        bootstrap_interval(
            [(np.array([0, 1]), np.array([0, 1])), (np.array([1, 0]), np.array([0, 1]))], "f1_macro"
        )


def test_report_intervals_unstable_flags_and_files(tmp_path):
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 3, 400)

    def predicted(accuracy: float) -> tuple[np.ndarray, np.ndarray]:
        return labels, np.where(rng.random(400) < accuracy, labels, (labels + 1) % 3)

    stable = [predicted(0.8)] * 3
    shaky = [predicted(0.9), predicted(0.9), predicted(0.4)]
    entries = [
        {"task": "t", "depth": 1, "modalities": ("x", "y"), "fusion": "concat", "predictions": stable,
         "seeds": [_metrics(f1_score(*p, average="macro")) for p in stable]},
        {"task": "t", "depth": 1, "modalities": ("x", "y"), "fusion": "attention", "predictions": shaky,
         "seeds": [_metrics(f1_score(*p, average="macro")) for p in shaky]},
    ]  # fmt: skip
    uri = build_store(tmp_path, "ci", entries)
    out = generate_report(uri, "ci", tmp_path / "report", settings=ReportSettings(bootstrap=500)).directory
    best = pd.read_csv(out / "best.csv")
    assert best.loc[0, "fusion"] == "concat"
    low, high, mean = best.loc[0, ["test_f1_macro_ci_low", "test_f1_macro_ci_high", "test_f1_macro_mean"]]
    assert low < mean < high and 0.02 < high - low < 0.15
    board = pd.read_csv(out / "leaderboard.csv").set_index("fusion")
    assert bool(board.loc["attention", "unstable"]) and not bool(board.loc["concat", "unstable"])
    markdown = (out / "README.md").read_text()
    assert "attention ⚠ seeds disagree" in markdown and "t/d1/x+y/attention" in markdown
    tex = (out / "tables.tex").read_text()
    assert "\\toprule" in tex and "\\textbf{concat}" in tex and "\\textbf{attention}" not in tex
    significance = pd.read_csv(out / "significance.csv")
    assert list(significance.columns[:11]) == ["method_a", "method_b", "unit", "n", "statistic", "p_value",
                                               "p_a_better", "p_equivalent", "p_b_better", "p_holm", "conclusion"]  # fmt: skip
    ranks = pd.read_csv(out / "ranks.csv")
    assert {"unit", "method", "average_rank", "units", "critical_difference"} <= set(ranks.columns)


def test_neural_against_reference_is_a_paired_comparison_on_the_same_test_samples(tmp_path):
    rng = np.random.default_rng(2)
    labels = rng.integers(0, 2, 1000)

    def predicted(accuracy: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
        flip = np.random.default_rng(seed).random(1000) >= accuracy
        return labels, np.where(flip, 1 - labels, labels)

    def entry(fusion: str, depth: int, runs: list, val: float) -> dict:
        return {"task": "t", "depth": depth, "modalities": ("x", "y"), "fusion": fusion, "predictions": runs,
                "seeds": [_metrics(f1_score(*p, average="macro"), val=val) for p in runs]}  # fmt: skip

    same = [predicted(0.8, 7)] * 3
    entries = [entry("concat", 1, [predicted(0.9, s) for s in range(3)], 0.9),
               entry("gated", 1, same, 0.5), entry("ref_logreg", 0, same, 0.8)]  # fmt: skip
    uri = build_store(tmp_path, "versus", entries)
    runs = collect(uri, "versus")
    summary = tables.combination_summary(runs)
    versus = tables.neural_against_reference(summary, runs.seeds, runs.predictions)
    row = versus.iloc[0]
    assert row["neural"].startswith("concat") and row["reference"].startswith("ref_logreg")
    assert row["ci_low"] > 0 and row["conclusion"].startswith("the neural fusion beats the reference")
    # the same predictions on both sides: a difference of exactly 0, and an interval of width 0
    only_gated = summary[summary["fusion"] != "concat"]
    versus = tables.neural_against_reference(only_gated, runs.seeds, runs.predictions)
    assert versus.loc[0, "difference"] == 0 and versus.loc[0, "conclusion"].startswith(
        "practically equivalent"
    )
    assert "ref_logreg" not in tables.fusion_methods(summary)


def test_outer_splits_are_averaged_and_their_variation_widens_the_interval(tmp_path):
    rng = np.random.default_rng(3)

    def split_runs(accuracy: float, n: int = 400) -> list[tuple[np.ndarray, np.ndarray]]:
        labels = rng.integers(0, 2, n)  # every split has its own test samples
        return [(labels, np.where(rng.random(n) < accuracy, labels, 1 - labels)) for _ in range(2)]

    easy, hard = split_runs(0.9), split_runs(0.6)
    alone = bootstrap_interval(easy, "accuracy")
    both = bootstrap_interval([easy, hard], "accuracy")
    assert both[0] < 0.75 < both[1]
    assert both[1] - both[0] > 2 * (alone[1] - alone[0])  # the split-to-split variation is in it
    assert bootstrap_interval([easy], "accuracy") == alone  # one split: the single-split interval

    def entry(fusion: str, modalities: tuple, split: int, runs: list, val: float) -> dict:
        return {"task": "t", "depth": 1, "modalities": modalities, "fusion": fusion, "split": split,
                "predictions": runs, "seeds": [_metrics(f1_score(*p, average="macro"), val=val) for p in runs]}  # fmt: skip

    def better(runs: list, accuracy: float) -> list:  # the same test samples, more of them right
        return [(y, np.where(rng.random(len(y)) < accuracy, y, 1 - y)) for y, _ in runs]

    entries = [entry("none", ("x",), 0, easy, 0.8), entry("none", ("x",), 1, hard, 0.8),
               entry("concat", ("x", "y"), 0, better(easy, 0.97), 0.9),
               entry("concat", ("x", "y"), 1, better(hard, 0.8), 0.9)]  # fmt: skip
    runs = collect(build_store(tmp_path, "splits", entries), "splits")
    summary = tables.combination_summary(runs)
    assert len(summary) == 2 and (summary["splits"] == 2).all()
    single = summary[summary["fusion"] == "none"].iloc[0]
    split_means = [np.mean([f1_score(*p, average="macro") for p in r]) for r in (easy, hard)]
    assert single["test/f1_macro_mean"] == pytest.approx(np.mean(split_means))
    gain = tables.fusion_against_single(summary, runs.seeds, runs.predictions)
    assert gain.loc[0, "conclusion"].startswith("fusion beats the single modality")
    assert gain.loc[0, "single"] == "x, depth 1" and gain.loc[0, "fusion"].startswith("concat")
