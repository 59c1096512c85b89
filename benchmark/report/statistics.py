"""Comparing fusion methods the way a reviewer expects (Demsar 2006; Benavoli et al. 2017).

The unit of comparison is never a seed. A *block* is (task, depth, modality subset) and its score is
the mean over the combination's final seeds; a *task* scores a method by the mean over the task's
blocks where every compared method ran. Seeds of one combination share one tuning: they are repeats,
not independent observations, so they are averaged before any test.

All tests come from maintained libraries:
- omnibus: ``autorank`` (Friedman + Nemenyi, or repeated-measures ANOVA + Tukey HSD, chosen from the
  data's normality and homoscedasticity), on the units where all methods ran;
- pairwise: the Wilcoxon signed-rank test (``scipy.stats.wilcoxon``) on the units where both methods
  ran, Holm-adjusted over the pairs of one unit (``statsmodels``), beside the Bayesian signed-rank
  test with a region of practical equivalence (``baycomp``), which can say "equivalent" with evidence.
"""

from __future__ import annotations

import contextlib
import io
import math
import warnings
from dataclasses import dataclass, replace
from itertools import combinations

import numpy as np
import pandas as pd

from benchmark.schema import mean_of

UNITS = ("task", "block")
BLOCK = ["task", "depth", "modalities"]
# Scores are rounded to this before ranking and testing: differences below it (3e-7 between two
# runs of the same model) are floating-point noise, far below one test sample of any split here.
RESOLUTION = 4
MIN_OMNIBUS_UNITS = 5  # autorank needs five units (rows) at least
BAYES_SAMPLES = 5000  # posterior samples of the Bayesian signed-rank test (seeded: reports are reproducible);
# a probability near the 0.95 threshold is then known to about ±0.003, and a 10,000-run report stays fast


@dataclass(frozen=True)
class Omnibus:
    """The omnibus test over the units where every method ran."""

    unit: str
    methods: tuple[str, ...]
    units: int  # how many units (tasks or blocks) entered the test
    test: str  # "friedman", "anova", "" when too few units or methods
    p_value: float
    posthoc: str  # "nemenyi", "tukeyhsd", ""
    critical_difference: float  # in average ranks (Nemenyi); NaN otherwise
    ranks: pd.DataFrame  # method, average_rank, mean_score (on those units)
    result: object | None  # autorank's RankResult, for the diagram
    reason: str = ""  # why no test ran


def block_scores(summary: pd.DataFrame, metric: str, methods: list[str]) -> pd.DataFrame:
    """Wide frame: one row per block (task, depth, modalities), one column per method, the seed mean of
    ``metric`` (NaN where the method did not run or finished no seed)."""
    rows = summary[summary["fusion"].isin(methods) & summary[mean_of(metric)].notna()]
    wide = rows.pivot_table(index=BLOCK, columns="fusion", values=mean_of(metric), aggfunc="first")
    wide = wide.reindex(columns=sorted(methods)).round(RESOLUTION)
    wide.columns.name = None
    return wide.sort_index()


def unit_scores(blocks: pd.DataFrame, unit: str, methods: list[str]) -> pd.DataFrame:
    """Scores of ``methods`` per unit, using only blocks where all of them ran: per block as they are,
    per task the mean over those blocks (the data set as the unit, Demsar 2006)."""
    complete = blocks[methods].dropna()
    if unit == "block" or complete.empty:
        return complete
    return complete.groupby(level="task").mean().round(RESOLUTION)


def _average_ranks(scores: pd.DataFrame) -> pd.DataFrame:
    ranks = scores.rank(axis=1, ascending=False, method="average").mean()
    return pd.DataFrame(
        {"method": ranks.index, "average_rank": ranks.to_numpy(), "mean_score": scores.mean().to_numpy()}
    )


def omnibus(blocks: pd.DataFrame, unit: str, alpha: float) -> Omnibus:
    """autorank on the units where all methods ran; average ranks always (1 = best)."""
    methods = [m for m in blocks.columns if blocks[m].notna().any()]
    scores = unit_scores(blocks, unit, methods)
    ranks = (
        _average_ranks(scores)
        if len(scores)
        else pd.DataFrame(columns=["method", "average_rank", "mean_score"])
    )
    empty = Omnibus(unit, tuple(methods), len(scores), "", math.nan, "", math.nan, ranks, None)
    if len(methods) < 2:
        return replace(empty, reason="fewer than two methods")
    if len(scores) < MIN_OMNIBUS_UNITS:
        return replace(
            empty,
            reason=f"only {len(scores)} {unit}s where all methods ran; autorank needs {MIN_OMNIBUS_UNITS}",
        )
    if (scores.nunique(axis=1) == 1).all():
        return replace(empty, reason="every method scores the same on every unit")
    from autorank import autorank  # imported here: it pulls in its plotting stack

    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        result = autorank(scores, alpha=alpha, order="descending", verbose=False)
    return Omnibus(
        unit=unit,
        methods=tuple(methods),
        units=len(scores),
        test=str(result.omnibus),
        p_value=float(result.pvalue),
        posthoc=str(result.posthoc or ""),
        critical_difference=float(result.cd) if result.cd is not None else math.nan,
        ranks=ranks,
        result=result,
    )


def bayesian_signed_rank(a: np.ndarray, b: np.ndarray, rope: float) -> tuple[float, float, float]:
    """(P(a better), P(practically equivalent), P(b better)) from baycomp's Bayesian signed-rank test
    with the region of practical equivalence [-rope, rope]."""
    from baycomp import SignedRankTest

    # baycomp's differences are y - x: its "left" region is x better.
    left, equivalent, right = SignedRankTest.probs(
        np.asarray(a, float), np.asarray(b, float), rope, nsamples=BAYES_SAMPLES, random_state=0
    )
    return float(left), float(equivalent), float(right)


def pairwise(blocks: pd.DataFrame, unit: str, alpha: float, rope: float) -> pd.DataFrame:
    """Every pair of methods on the units where both ran: Wilcoxon signed-rank (Holm over the pairs of
    this unit) and the Bayesian signed-rank test with a ±``rope`` equivalence region."""
    from scipy.stats import wilcoxon
    from statsmodels.stats.multitest import multipletests

    rows = []
    for a, b in combinations(list(blocks.columns), 2):
        scores = unit_scores(blocks, unit, [a, b])
        x, y = scores[a].to_numpy(), scores[b].to_numpy()
        diff = x - y
        row = {"method_a": a, "method_b": b, "unit": unit, "n": len(diff),
               "mean_difference": float(diff.mean()) if len(diff) else math.nan,
               "statistic": math.nan, "p_value": math.nan,
               "p_a_better": math.nan, "p_equivalent": math.nan, "p_b_better": math.nan}  # fmt: skip
        if len(diff) >= 2 and np.any(diff != 0):
            test = wilcoxon(x, y)
            row["statistic"], row["p_value"] = float(test.statistic), float(test.pvalue)
        if len(diff) >= 2:
            row["p_a_better"], row["p_equivalent"], row["p_b_better"] = bayesian_signed_rank(x, y, rope)
        rows.append(row)
    table = pd.DataFrame(rows, columns=SIGNIFICANCE_COLUMNS[:-2] + ["mean_difference"])
    tested = table["p_value"].notna()
    table["p_holm"] = math.nan
    if tested.any():
        table.loc[tested, "p_holm"] = multipletests(table.loc[tested, "p_value"], method="holm")[1]
    table["conclusion"] = [conclusion(row, alpha, rope) for row in table.itertuples()]
    return table[[*SIGNIFICANCE_COLUMNS, "mean_difference"]]


SIGNIFICANCE_COLUMNS = [
    "method_a", "method_b", "unit", "n", "statistic", "p_value", "p_a_better", "p_equivalent",
    "p_b_better", "p_holm", "conclusion",
]  # fmt: skip
PROBABLE = 0.95  # a Bayesian posterior probability this high is stated as a finding


def conclusion(row, alpha: float, rope: float) -> str:  # noqa: ANN001 - a pandas itertuples row
    """One sentence: a win when the Holm-adjusted Wilcoxon test says so, "practically equivalent" when
    the Bayesian test puts the difference inside ±rope with high probability, otherwise no difference."""
    units = f"{row.n} {row.unit}s"
    if row.n < 2:
        return f"not compared ({units} where both ran)"
    equivalent = row.p_equivalent >= PROBABLE
    if not math.isnan(row.p_holm) and row.p_holm < alpha:
        winner, loser = (
            (row.method_a, row.method_b) if row.mean_difference > 0 else (row.method_b, row.method_a)
        )
        text = f"{winner} better than {loser} (Holm p = {row.p_holm:.3g}, {units})"
        if equivalent:
            text += f", but by less than ±{rope:g} (P(equivalent) = {row.p_equivalent:.2f})"
        return text
    if equivalent:
        return f"practically equivalent: P(|difference| < {rope:g}) = {row.p_equivalent:.2f} ({units})"
    p = "identical scores" if math.isnan(row.p_holm) else f"Holm p = {row.p_holm:.3g}"
    for method, probability in ((row.method_a, row.p_a_better), (row.method_b, row.p_b_better)):
        if probability >= PROBABLE:
            return f"no significant difference ({p}, {units}); Bayesian P({method} better by > {rope:g}) = {probability:.2f}"
    return f"no significant difference ({p}, {units}); undecided (P(equivalent) = {row.p_equivalent:.2f})"


def omnibus_sentence(omni: Omnibus, metric_label: str) -> str:
    if not omni.test:
        return f"Over {omni.unit}s: no omnibus test ({omni.reason})."
    names = {"friedman": "Friedman test", "anova": "repeated-measures ANOVA", "wilcoxon": "Wilcoxon signed-rank test",
             "ttest": "paired t-test"}  # fmt: skip
    test = names.get(omni.test, omni.test)
    best = omni.ranks.sort_values(["average_rank", "method"]).iloc[0]
    text = (
        f"Over {omni.units} {omni.unit}s where all {len(omni.methods)} methods ran, autorank chose the "
        f"{test}: p = {omni.p_value:.3g}"
    )
    if omni.p_value < omni.result.alpha:  # type: ignore[union-attr]
        text += f", so the methods differ on {metric_label}"
        if omni.posthoc == "nemenyi":
            text += f" (Nemenyi critical difference {omni.critical_difference:.2f} ranks)"
        elif omni.posthoc:
            text += f" (post-hoc: {omni.posthoc})"
    else:
        text += f", no significant difference between the methods on {metric_label}"
    return text + f"; best average rank: {best['method']} ({best['average_rank']:.2f})."
