"""Comparing fusion methods across tasks so that the answer can come out either way.

The unit of comparison is the data set (Demsar 2006): a task scores a method by the mean over the task's
blocks (depth x modality subset) where every compared method ran, each block the mean over its final
seeds and outer folds. Seeds and folds are never paired as independent observations. Real and
synthetic tasks are analysed apart: the generators are built so that particular methods fail, so they
are not a sample of tasks.

Per group of tasks:
- omnibus: the Friedman test with the Iman-Davenport F (nonparametric by design: scores are bounded and
  have ceilings), computed with scipy; autorank (forced nonparametric) draws the Nemenyi diagram;
- a family declared before the study runs: every fusion method against one baseline (``report.baseline``,
  default ``concat``), two-sided exact Wilcoxon signed-rank tests, Holm-adjusted over that family only;
  every other pair is descriptive (average ranks);
- the primary answer per method: baycomp's Bayesian signed-rank test on the same per-task differences
  with a region of practical equivalence ±rope: "better", "worse", "practically equivalent" or
  "undecided" at posterior probability 0.95;
- beside every null result, the minimum detectable effect: the uniform advantage that the family's first
  Holm step (alpha / m) detects with 80 % power at the observed noise, by simulation; infinite where the
  number of tasks cannot reach alpha / m at all (the smallest exact two-sided p with n tasks is 2 / 2^n).
"""

from __future__ import annotations

import contextlib
import io
import math
import warnings
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from benchmark.schema import mean_of

GROUPS = ("real", "synthetic")
BLOCK = ["task", "depth", "modalities"]
# Scores are rounded to this before ranking and testing: differences below it (3e-7 between two
# runs of the same model) are floating-point noise, far below one test sample of any split here.
RESOLUTION = 4
MIN_OMNIBUS_TASKS = 3  # Friedman over fewer tasks says nothing
MIN_DIAGRAM_TASKS = 5  # autorank needs five rows for its diagram
BAYES_SAMPLES = 5000  # posterior samples of the Bayesian signed-rank test (seeded: reports are reproducible);
# a probability near the 0.95 threshold is then known to about ±0.003, and a 10,000-run report stays fast
PROBABLE = 0.95  # a Bayesian posterior probability this high is stated as a finding
POWER = 0.8  # the minimum detectable effect is the uniform advantage detected this often
NOISELESS = 1e-9  # per-task noise below this is float rounding of equal differences
MDE_SIMULATIONS = 2000


@dataclass(frozen=True)
class Omnibus:
    """The omnibus test over the tasks of one group where every method ran."""

    group: str
    methods: tuple[str, ...]
    units: int  # how many tasks entered the test
    test: str  # "friedman", "" when too few tasks or methods
    statistic: float  # Friedman's chi-square
    p_value: float  # Iman-Davenport's F test of the same ranks (less conservative than chi-square)
    critical_difference: float  # Nemenyi's, in average ranks; NaN where no diagram
    ranks: pd.DataFrame  # method, average_rank, mean_score (on those tasks)
    result: object | None  # autorank's RankResult, for the diagram
    reason: str = ""  # why no test ran
    unit: str = "task"


def block_scores(summary: pd.DataFrame, metric: str, methods: list[str]) -> pd.DataFrame:
    """Wide frame: one row per block (task, depth, modalities), one column per method, the seed mean of
    ``metric`` (NaN where the method did not run or finished no seed)."""
    rows = summary[summary["fusion"].isin(methods) & summary[mean_of(metric)].notna()]
    wide = rows.pivot_table(index=BLOCK, columns="fusion", values=mean_of(metric), aggfunc="first")
    wide = wide.reindex(columns=sorted(methods)).round(RESOLUTION)
    wide.columns.name = None
    return wide.sort_index()


def task_scores(blocks: pd.DataFrame, methods: list[str]) -> pd.DataFrame:
    """Scores of ``methods`` per task: the mean over the task's blocks where all of them ran."""
    complete = blocks[methods].dropna()
    if complete.empty:
        return complete.droplevel(["depth", "modalities"]) if len(complete.index.names) > 1 else complete
    return complete.groupby(level="task").mean().round(RESOLUTION)


def average_ranks(scores: pd.DataFrame) -> pd.DataFrame:
    """method, average_rank (1 = best; tied scores share the mean rank), mean_score."""
    ranks = scores.rank(axis=1, ascending=False, method="average").mean()
    return pd.DataFrame(
        {"method": ranks.index, "average_rank": ranks.to_numpy(), "mean_score": scores.mean().to_numpy()}
    )


def iman_davenport(chi_square: float, tasks: int, methods: int) -> float:
    """p of the Iman-Davenport F statistic of a Friedman chi-square (Demsar 2006, eq. 3)."""
    from scipy.stats import f

    denominator = tasks * (methods - 1) - chi_square
    if denominator <= 0:  # every task ranks the methods the same way
        return 0.0
    statistic = (tasks - 1) * chi_square / denominator
    return float(f.sf(statistic, methods - 1, (methods - 1) * (tasks - 1)))


def omnibus(blocks: pd.DataFrame, group: str, alpha: float) -> Omnibus:
    """Friedman + Iman-Davenport on the tasks where all methods ran; average ranks always."""
    from scipy.stats import friedmanchisquare

    methods = [m for m in blocks.columns if blocks[m].notna().any()]
    scores = task_scores(blocks, methods) if methods else pd.DataFrame()
    ranks = (
        average_ranks(scores)
        if len(scores)
        else pd.DataFrame(columns=["method", "average_rank", "mean_score"])
    )
    empty = Omnibus(group, tuple(methods), len(scores), "", math.nan, math.nan, math.nan, ranks, None)
    if len(methods) < 3:
        return replace(empty, reason=f"{len(methods)} method(s): the family below is the whole comparison")
    if len(scores) < MIN_OMNIBUS_TASKS:
        return replace(empty, reason=f"only {len(scores)} task(s) where all methods ran")
    if (scores.nunique(axis=1) == 1).all():
        return replace(empty, reason="every method scores the same on every task")
    chi_square = float(friedmanchisquare(*(scores[m].to_numpy() for m in methods)).statistic)
    result, cd = None, math.nan
    if len(scores) >= MIN_DIAGRAM_TASKS:
        from autorank import autorank  # imported here: it pulls in its plotting stack

        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            result = autorank(scores, alpha=alpha, order="descending", force_mode="nonparametric")
        cd = float(result.cd) if result.cd is not None else math.nan
    return replace(
        empty,
        test="friedman",
        statistic=chi_square,
        p_value=iman_davenport(chi_square, len(scores), len(methods)),
        critical_difference=cd,
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


def smallest_exact_p(n: int) -> float:
    """The smallest two-sided p an exact Wilcoxon signed-rank test can give on n untied differences."""
    return min(1.0, 2.0 / 2**n)


def detection_power(
    delta: float, n: int, sd: float, level: float, *, simulations: int = MDE_SIMULATIONS, seed: int = 0
) -> float:
    """How often a two-sided Wilcoxon test at ``level`` finds a positive difference when each of ``n``
    tasks' differences is ``delta`` plus normal noise of ``sd``."""
    from scipy.stats import wilcoxon

    if sd < NOISELESS:  # every difference equals delta: the exact test's verdict is the same each time
        # (and scipy's tie handling on float-jittered equal differences took minutes on 2,000 rows)
        return float(delta > 0 and smallest_exact_p(n) < level)
    differences = delta + sd * np.random.default_rng(seed).standard_normal((simulations, n))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p = wilcoxon(differences, axis=1).pvalue
    return float(np.mean((p < level) & (differences.mean(axis=1) > 0)))


def minimum_detectable_effect(
    n: int,
    sd: float,
    level: float,
    *,
    power: float = POWER,
    simulations: int = MDE_SIMULATIONS,
    largest: float = 1.0,
    seed: int = 0,
) -> float:
    """The smallest uniform advantage detected with ``power`` by the Wilcoxon test at ``level`` over
    ``n`` tasks with per-task noise ``sd`` (bisection on common random numbers, to 0.001); ``inf``
    where no advantage up to ``largest`` (a score difference cannot exceed 1) reaches that power."""
    if n < 2 or not np.isfinite(sd):
        return math.nan
    if smallest_exact_p(n) >= level:
        return math.inf

    def enough(delta: float) -> bool:
        return detection_power(delta, n, sd, level, simulations=simulations, seed=seed) >= power

    if not enough(largest):
        return math.inf
    low, high = 0.0, largest
    while high - low > 0.001:
        middle = (low + high) / 2
        low, high = (low, middle) if enough(middle) else (middle, high)
    return high


def answer(p_better: float, p_equivalent: float, p_worse: float) -> str:
    """The primary answer from the Bayesian test's posterior."""
    if p_better >= PROBABLE:
        return "better"
    if p_worse >= PROBABLE:
        return "worse"
    if p_equivalent >= PROBABLE:
        return "practically equivalent"
    return "undecided"


SIGNIFICANCE_COLUMNS = [
    "method_a",
    "method_b",
    "unit",
    "n",
    "statistic",
    "p_value",
    "p_a_better",
    "p_equivalent",
    "p_b_better",
    "p_holm",
    "conclusion",
    "group",
    "mean_difference",
    "sd_difference",
    "mde",
    "answer",
]


def baseline_family(
    blocks: pd.DataFrame, group: str, baseline: str, alpha: float, rope: float
) -> pd.DataFrame:
    """Every method against ``baseline`` on the tasks where both ran: Wilcoxon (Holm over this family),
    the Bayesian answer and, beside a null, the minimum detectable effect."""
    from scipy.stats import wilcoxon
    from statsmodels.stats.multitest import multipletests

    others = [m for m in blocks.columns if m != baseline and blocks[m].notna().any()]
    if baseline not in blocks.columns or not blocks[baseline].notna().any():
        return pd.DataFrame(columns=SIGNIFICANCE_COLUMNS)
    rows = []
    for method in others:
        scores = task_scores(blocks, [method, baseline])
        x, y = scores[method].to_numpy(), scores[baseline].to_numpy()
        diff = x - y
        row = {
            "method_a": method,
            "method_b": baseline,
            "unit": "task",
            "n": len(diff),
            "group": group,
            "mean_difference": float(diff.mean()) if len(diff) else math.nan,
            "sd_difference": float(diff.std(ddof=1)) if len(diff) > 1 else math.nan,
            "statistic": math.nan,
            "p_value": math.nan,
            "p_a_better": math.nan,
            "p_equivalent": math.nan,
            "p_b_better": math.nan,
        }
        if len(diff) >= 2 and np.any(diff != 0):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                test = wilcoxon(x, y)
            row["statistic"], row["p_value"] = float(test.statistic), float(test.pvalue)
        if len(diff) >= 2:
            row["p_a_better"], row["p_equivalent"], row["p_b_better"] = bayesian_signed_rank(x, y, rope)
        rows.append(row)
    table = pd.DataFrame(rows, columns=SIGNIFICANCE_COLUMNS)
    tested = table["p_value"].notna()
    table["p_holm"] = math.nan
    if tested.any():
        table.loc[tested, "p_holm"] = multipletests(table.loc[tested, "p_value"], method="holm")[1]
    first_step = alpha / max(1, len(table))
    table["mde"] = [
        minimum_detectable_effect(int(n), sd, first_step) if n >= 2 else math.nan
        for n, sd in zip(table["n"], table["sd_difference"], strict=True)
    ]
    table["answer"] = [
        answer(a, e, b) if not math.isnan(e) else "not compared"
        for a, e, b in zip(table["p_a_better"], table["p_equivalent"], table["p_b_better"], strict=True)
    ]
    table["conclusion"] = [conclusion(row, alpha, rope, first_step) for row in table.itertuples()]
    return table[SIGNIFICANCE_COLUMNS]


def detectable(mde: float, n: int, level: float) -> str:
    """What the design could have found, beside a null result."""
    if math.isnan(mde):
        return "power not computed"
    if math.isinf(mde):
        if smallest_exact_p(n) >= level:
            return (
                f"this design cannot detect any effect: with {n} tasks the smallest exact p is "
                f"{smallest_exact_p(n):.3g}, above the family's first Holm level {level:.3g}"
            )
        return "no uniform advantage up to 1.0 would be detected at this noise"
    return f"the smallest uniform advantage this design detects with 80 % power is {mde:.3f}"


def conclusion(row, alpha: float, rope: float, first_step: float) -> str:  # itertuples row
    """One sentence: the Bayesian answer first, then the frequentist test and, beside a null, its power."""
    tasks = f"{row.n} tasks"
    if row.n < 2:
        return f"not compared ({tasks} where both ran)"
    a, b = row.method_a, row.method_b
    bayes = {
        "better": f"{a} better than {b} (P = {row.p_a_better:.2f} that it is by more than {rope:g})",
        "worse": f"{b} better than {a} (P = {row.p_b_better:.2f} that it is by more than {rope:g})",
        "practically equivalent": f"{a} and {b} practically equivalent (P(|difference| < {rope:g}) = {row.p_equivalent:.2f})",
        "undecided": f"{a} vs {b} undecided (P(better) {row.p_a_better:.2f}, P(equivalent) {row.p_equivalent:.2f}, P(worse) {row.p_b_better:.2f})",
    }[row.answer]
    if not math.isnan(row.p_holm) and row.p_holm < alpha:
        return f"{bayes}; Wilcoxon significant (Holm p = {row.p_holm:.3g}, {tasks})"
    p = "identical scores" if math.isnan(row.p_holm) else f"Holm p = {row.p_holm:.3g}"
    return f"{bayes}; no significant difference ({p}, {tasks}): {detectable(row.mde, row.n, first_step)}"


def tied_best(ranks: pd.DataFrame) -> tuple[list[str], float]:
    """The methods sharing the best average rank (ties are ties: never broken by name)."""
    best = float(ranks["average_rank"].min())
    names = sorted(ranks.loc[np.isclose(ranks["average_rank"], best), "method"])
    return names, best


def omnibus_sentence(omni: Omnibus, metric_label: str, alpha: float) -> str:
    where = f"{omni.group} tasks"
    if not omni.test:
        text = f"Over the {where}: no omnibus test ({omni.reason})."
    else:
        text = (
            f"Over the {omni.units} {where} where all {len(omni.methods)} methods ran, the Friedman test "
            f"(Iman-Davenport F) gives p = {omni.p_value:.3g}"
        )
        if omni.p_value < alpha:
            text += f": the methods differ on {metric_label}"
        else:
            text += f": no significant difference between the methods on {metric_label}"
        if not math.isnan(omni.critical_difference):
            text += f" (Nemenyi critical difference {omni.critical_difference:.2f} ranks)"
        text += "."
    if len(omni.ranks):
        names, best = tied_best(omni.ranks)
        if len(names) == 1:
            text += f" Best average rank: {names[0]} ({best:.2f})."
        else:
            text += f" Best average rank: a tie between {', '.join(names)} ({best:.2f})."
    return text
