"""Which kind of task is this? An interaction profile from the grid's own results.

Per task, at its best depth (the depth of the best neural combination, chosen on validation), on the
ranking metric's test scores. ``score(S)`` of a modality set S is the unimodal network's score for one
modality and, for two or more, the score of the fusion method chosen on validation on S. F is the
task's full modality set; chance is the best score a prediction that ignores the inputs reaches on the test labels (macro F1: 1/K, by guessing the priors)
(scores.chance_scores), so a model at chance gains 0.

- ``alone[m] = score({m}) - chance``: what m alone adds over guessing;
- ``drop_one_loss[m] = score(F) - score(F without m)``: what is lost when m is dropped. It is not
  "what only m carries": it includes every synergy m takes part in (on an XOR task each bit's
  drop-one loss is the whole score);
- ``redundancy = (sum_m max(0, alone[m]) - max(0, additive(F) - chance)) / (|F| - 1)``: the unimodal
  gains counted twice by a jointly trained additive model (``additive``: summed per-modality logits,
  no interactions), per additional modality. 0 when the gains add up, one modality's gain when every
  modality says the same, below 0 when the additive model gains more than the modalities' gains add up;
- ``synergy = score(the interaction-capable fusion chosen on validation on F) - additive(F)``: what
  modelling interactions adds over the best model that cannot. Late voting does not model
  interactions either and is left out of that choice.

Every entry is computed over the same, complete modality sets: the alone entries and redundancy need
every single modality of F, the drop-one losses every set F without one modality, redundancy and
synergy the additive model on F; an entry whose sets did not all run is NaN, with what is missing.
Each entry carries a 95 % bootstrap interval: the cells it combines are resampled together on their
shared test samples (stratified by class, seeds redrawn, folds kept; uncertainty.joint_replicates).

On a synthetic task each entry also has what the generator built (``built``, from the Bayes ceilings
of the modality subsets, in accuracy: alone and drop-one exactly; redundancy and synergy where the
full set's Bayes rule is additive, else only synergy's sign; synthetic_structure), and ``as_built``
says whether the measured interval agrees with it (report/as_built.py).

These are differences of scores of trained models, not information quantities: a principled
counterpart is the partial information decomposition of the task's modalities into redundant, unique
and synergistic information (Williams & Beer, 2010; estimated for multimodal benchmarks by Liang et
al., 2023, "Quantifying & Modeling Multimodal Interactions"). The profile says which kind of task a
user's is, in the units they care about.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np
import pandas as pd

from benchmark.methods import is_reference
from benchmark.report.as_built import POSITIVE, UNKNOWN, built_sign, verdict
from benchmark.report.tables import chosen_on_validation, scored_rows
from benchmark.report.uncertainty import Runs, _percentiles, joint_replicates, runs_by_split
from benchmark.schema import CEILING, TEST_F1, mean_of
from benchmark.scores import chance_scores
from benchmark.synthetic_structure import ADDITIVE_BAYES_RULE, structure_of

ADDITIVE = "additive"  # the jointly trained additive reference
NON_INTERACTING = frozenset({ADDITIVE, "late_vote"})  # fusions that cannot model how modalities interact
ENTRIES = ("alone", "drop_one_loss", "redundancy", "synergy")
COLUMNS = [
    "task",
    "depth",
    "full",
    "full_fusion",
    "full_score",
    "additive_score",
    "chance",
    "entry",
    "modality",
    "value",
    "ci_low",
    "ci_high",
    "missing",
    "built",
    "built_sign",
    "as_built",
]


@dataclass(frozen=True)
class Cell:
    """One grid cell an entry reads: its fusion, test score (the summary's), id and Bayes ceiling
    (synthetic tasks; NaN on real data)."""

    fusion: str
    score: float
    combination_id: str
    ceiling: float = math.nan


def _chosen(rows: pd.DataFrame, metric: str) -> dict[str, Cell]:
    """Modality set -> the cell chosen on validation on it."""
    best = chosen_on_validation(rows, metric, ["modalities"])
    ceilings = best[mean_of(CEILING)] if mean_of(CEILING) in best else [math.nan] * len(best)
    return {
        m: Cell(f, float(s), c, float(b))
        for m, f, s, c, b in zip(
            best["modalities"],
            best["fusion"],
            best[mean_of(metric)],
            best["combination_id"],
            ceilings,
            strict=True,
        )
    }


def _without(members: list[str], dropped: str) -> str:
    return "+".join(m for m in members if m != dropped)


class _Entries:
    """Builds one task's entries: each a function of some cells' scores, with its joint interval."""

    def __init__(
        self, context: dict, cell_runs: Callable[[Cell], dict[int, Runs]], score: str, replicates: int
    ) -> None:
        self.context, self.cell_runs, self.score, self.replicates = context, cell_runs, score, replicates
        self.rows: list[dict] = []

    def add(
        self,
        entry: str,
        modality: str,
        cells: list[Cell | None],
        needs: list[str],
        value: Callable[[np.ndarray], np.ndarray],
        built: tuple[float, str] = (math.nan, UNKNOWN),
    ) -> None:
        """``value`` maps (R, J) scores of ``cells`` to (R,) entry values; a None cell is missing
        (``needs`` names what each cell is, for the reason). ``built``: what the generator built
        (value, sign), on synthetic tasks."""
        row = {
            **self.context,
            "entry": entry,
            "modality": modality,
            "value": math.nan,
            "ci_low": math.nan,
            "ci_high": math.nan,
            "missing": "",
            "built": built[0],
            "built_sign": built[1],
            "as_built": "",
        }
        absent = [need for cell, need in zip(cells, needs, strict=True) if cell is None]
        if absent:
            row["missing"] = "did not run: " + ", ".join(absent)
            self.rows.append(row)
            return
        present = [c for c in cells if c is not None]
        row["value"] = float(value(np.array([[c.score for c in present]]))[0])
        replicates = joint_replicates(
            [self.cell_runs(c) for c in present], self.score, replicates=self.replicates
        )
        if replicates is not None:
            row["ci_low"], row["ci_high"] = _percentiles(value(replicates), 0.95)
        row["as_built"] = verdict(row["built_sign"], row["value"], row["ci_low"], row["ci_high"])
        self.rows.append(row)


def _task_chance(cells: list[dict[int, Runs]], score: str, num_classes: int) -> float:
    """The best constant predictor's ``score`` on the task's test labels, the mean over its folds."""
    labels: dict[int, np.ndarray] = {}
    for by_fold in cells:
        for fold, runs in by_fold.items():
            if runs:
                labels.setdefault(fold, runs[0][0])
    if not labels:
        return math.nan
    return float(np.mean([chance_scores(y, num_classes)[score] for y in labels.values()]))


def interaction_profile(
    summary: pd.DataFrame,
    seeds: pd.DataFrame,
    predictions: dict[str, tuple[np.ndarray, np.ndarray]],
    metric: str = TEST_F1,
    replicates: int = 2000,
) -> pd.DataFrame:
    """One row per task with at least two modalities and entry (see the module docstring)."""
    scored = scored_rows(summary, metric)
    scored = scored[~scored["fusion"].map(is_reference).astype(bool)]
    classes = classes_per_task(seeds, predictions)
    rows: list[dict] = []
    for task in sorted(scored["task"].unique()):
        of_task = scored[scored["task"] == task]
        if of_task["n_modalities"].max() >= 2 and task in classes:
            runs_of = partial(_cell_runs, seeds, predictions)
            rows.extend(_task_entries(of_task, metric, classes[task], runs_of, replicates))
    return pd.DataFrame(rows, columns=COLUMNS)


def _cell_runs(
    seeds: pd.DataFrame, predictions: dict[str, tuple[np.ndarray, np.ndarray]], cell: Cell
) -> dict[int, Runs]:
    return runs_by_split(seeds, predictions, cell.combination_id)


def _task_entries(
    of_task: pd.DataFrame,
    metric: str,
    num_classes: int,
    runs_of: Callable[[Cell], dict[int, Runs]],
    replicates: int,
) -> list[dict]:
    """The entries of one task at its best depth."""
    score = metric.split("/", 1)[1]
    best = chosen_on_validation(of_task, metric, ["task"]).iloc[0]
    at_depth = of_task[of_task["depth"] == best["depth"]]
    sets = _chosen(at_depth, metric)
    full = max(sets, key=lambda m: (len(m.split("+")), m))
    members = full.split("+")
    on_full = at_depth[at_depth["modalities"] == full]
    additive = _chosen(on_full[on_full["fusion"] == ADDITIVE], metric).get(full)
    interacting = _chosen(on_full[~on_full["fusion"].isin(NON_INTERACTING)], metric).get(full)
    chance = _task_chance([runs_of(c) for c in sets.values()], score, num_classes)
    context = {
        "task": best["task"],
        "depth": int(best["depth"]),
        "full": full,
        "full_fusion": sets[full].fusion,
        "full_score": sets[full].score,
        "additive_score": additive.score if additive else math.nan,
        "chance": chance,
    }
    entries = _Entries(context, runs_of, score, replicates)
    built = _Built(str(best["task"]), sets, members, num_classes)
    singles = [sets.get(m) for m in members]
    for i, m in enumerate(members):
        entries.add("alone", m, singles, members, lambda s, i=i: s[:, i] - chance, built.alone(m))
    rests = [sets.get(_without(members, m)) for m in members]
    for i, m in enumerate(members):
        entries.add(
            "drop_one_loss",
            m,
            [sets[full], *rests],
            [full, *(_without(members, x) for x in members)],
            lambda s, i=i: s[:, 0] - s[:, 1 + i],
            built.drop_one_loss(m),
        )
    entries.add(
        "redundancy",
        "",
        [*singles, additive],
        [*members, f"{ADDITIVE} on {full}"],
        lambda s: _redundancy(s[:, :-1], s[:, -1], chance),
        built.redundancy(),
    )
    entries.add(
        "synergy",
        "",
        [interacting, additive],
        [f"an interaction-capable fusion on {full}", f"{ADDITIVE} on {full}"],
        lambda s: s[:, 0] - s[:, 1],
        built.synergy(),
    )
    return entries.rows


def _redundancy(singles: np.ndarray, additive: np.ndarray, chance: float) -> np.ndarray:
    """(R, M) unimodal scores and (R,) additive scores -> (R,) redundancy (module docstring)."""
    extra = singles.shape[1] - 1
    return (np.maximum(0, singles - chance).sum(axis=1) - np.maximum(0, additive - chance)) / extra


class _Built:
    """What a synthetic task's generator built, per entry, from the Bayes ceilings of its modality
    subsets (accuracy; chance 1/K, the generators' labels being uniform). (NaN, UNKNOWN) on real data."""

    def __init__(self, task: str, sets: dict[str, Cell], members: list[str], num_classes: int) -> None:
        self.structure = structure_of(task)
        self.ceiling = {m: c.ceiling for m, c in sets.items()}
        self.members, self.full, self.chance = members, "+".join(members), 1 / num_classes

    def _of(self, value: float) -> tuple[float, str]:
        if self.structure is None or math.isnan(value):
            return math.nan, UNKNOWN
        return value, built_sign(value)

    def _at(self, modalities: str) -> float:
        return self.ceiling.get(modalities, math.nan)

    def alone(self, m: str) -> tuple[float, str]:
        return self._of(self._at(m) - self.chance)

    def drop_one_loss(self, m: str) -> tuple[float, str]:
        return self._of(self._at(self.full) - self._at(_without(self.members, m)))

    def redundancy(self) -> tuple[float, str]:
        if self.structure is None or not ADDITIVE_BAYES_RULE[self.structure]:
            return math.nan, UNKNOWN  # the additive model's ceiling is not known
        singles = np.array([[self._at(m) for m in self.members]])
        return self._of(float(_redundancy(singles, np.array([self._at(self.full)]), self.chance)[0]))

    def synergy(self) -> tuple[float, str]:
        if self.structure is None:
            return math.nan, UNKNOWN
        if ADDITIVE_BAYES_RULE[self.structure]:
            return self._of(0.0)  # the additive model can reach the full set's ceiling
        return math.nan, POSITIVE  # above 0 by construction, by an amount the ceilings do not give


def entry_value(profile: pd.DataFrame, task: str, entry: str, modality: str = "") -> float:
    """One entry's value (NaN where absent): what tests and the findings read."""
    match = profile[(profile.task == task) & (profile.entry == entry) & (profile.modality == modality)]
    return float(match["value"].iloc[0]) if len(match) else math.nan


def classes_per_task(
    seeds: pd.DataFrame, predictions: dict[str, tuple[np.ndarray, np.ndarray]]
) -> dict[str, int]:
    """The number of classes of each task, from the test labels its final runs logged."""
    counts: dict[str, int] = {}
    for task, run_id in zip(seeds["task"], seeds["run_id"], strict=True):
        if run_id in predictions:
            counts[task] = max(counts.get(task, 0), int(predictions[run_id][0].max()) + 1)
    return counts
