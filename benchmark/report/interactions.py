"""Which kind of task is this? An interaction profile from the grid's own results.

Per task, at its best depth (the depth of the best neural combination, chosen on validation), on the
ranking metric's test scores, where ``score(S)`` of a modality set S is the unimodal network's score for
one modality and, for two or more, the score of the fusion method chosen on validation on S:

- ``unimodal[m] = score({m})``, and its gain over chance ``g[m] = max(0, score({m}) - chance)``, where
  chance = 1 / classes (the macro F1, and the accuracy, of guessing by the class priors);
- ``unique[m] = score(F) - score(F minus m)`` for the full set F: what only m adds;
- ``redundancy = max(0, sum_m g[m] - g_add) / (|F| - 1)``, with ``g_add = max(0, late_vote(F) - chance)``
  the gain of the additive fusion on F: the unimodal gains counted twice when the modalities are combined
  without interactions, per additional modality. 0 when the gains add up; when every modality says the
  same thing, the gain of one modality (each further one repeats it);
- ``synergy = score(best interaction-capable fusion on F, chosen on validation) - late_vote(F)``: what
  modelling interactions adds over averaging the unimodal votes.

These are differences of scores of trained models, not information quantities: a principled
counterpart is the partial information decomposition of the task's modalities into redundant, unique
and synergistic information (Williams & Beer, 2010; estimated for multimodal benchmarks by Liang et
al., 2023, "Quantifying & Modeling Multimodal Interactions"). The profile says which kind of task a
user's is, in the units they care about.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from benchmark.references.base import is_reference
from benchmark.report.tables import _chosen_on_validation, _scored
from benchmark.schema import TEST_F1, mean_of

ADDITIVE = "late_vote"
COLUMNS = ["task", "depth", "chance", "full", "full_fusion", "full_score", "additive_score", "redundancy",
           "synergy", "unimodal", "unique"]  # fmt: skip


def _set_scores(rows: pd.DataFrame, metric: str) -> dict[str, tuple[str, float]]:
    """Modality set -> (method chosen on validation, its test score)."""
    best = _chosen_on_validation(rows, metric, ["modalities"])
    return {
        m: (f, s) for m, f, s in zip(best["modalities"], best["fusion"], best[mean_of(metric)], strict=True)
    }


def interaction_profile(
    summary: pd.DataFrame, classes: dict[str, int], metric: str = TEST_F1
) -> pd.DataFrame:
    """One row per task with at least two modalities (see the module docstring for the formulas).
    ``classes``: the number of classes per task (for chance)."""
    scored = _scored(summary, metric)
    scored = scored[~scored["fusion"].map(is_reference).astype(bool)]
    rows = []
    for task in sorted(scored["task"].unique()):
        of_task = scored[scored["task"] == task]
        if of_task["n_modalities"].max() < 2 or task not in classes:
            continue
        best = _chosen_on_validation(of_task, metric, ["task"]).iloc[0]
        at_depth = of_task[of_task["depth"] == best["depth"]]
        chance = 1.0 / classes[task]
        sets = _set_scores(at_depth, metric)
        full = max(sets, key=lambda m: (len(m.split("+")), m))
        members = full.split("+")
        unimodal = {m: sets[m][1] for m in members if m in sets}
        unique = {}
        for m in members:
            rest = "+".join(x for x in members if x != m)
            unique[m] = sets[full][1] - sets[rest][1] if rest in sets else math.nan
        on_full = at_depth[at_depth["modalities"] == full]
        additive = on_full.loc[on_full["fusion"] == ADDITIVE, mean_of(metric)]
        additive_score = float(additive.iloc[0]) if len(additive) else math.nan
        interacting = on_full[on_full["fusion"] != ADDITIVE]
        synergy = math.nan
        if len(interacting) and not math.isnan(additive_score):
            chosen = _chosen_on_validation(interacting, metric, ["task"]).iloc[0]
            synergy = float(chosen[mean_of(metric)]) - additive_score
        gains = [max(0.0, s - chance) for s in unimodal.values()]
        overlap = max(0.0, sum(gains) - max(0.0, additive_score - chance))
        redundancy = overlap / (len(members) - 1) if not math.isnan(additive_score) else math.nan
        rows.append({"task": task, "depth": int(best["depth"]), "chance": chance, "full": full,
                     "full_fusion": sets[full][0], "full_score": sets[full][1], "additive_score": additive_score,
                     "redundancy": redundancy, "synergy": synergy, "unimodal": unimodal, "unique": unique})  # fmt: skip
    return pd.DataFrame(rows, columns=COLUMNS)


def classes_per_task(
    seeds: pd.DataFrame, predictions: dict[str, tuple[np.ndarray, np.ndarray]]
) -> dict[str, int]:
    """The number of classes of each task, from the test labels its final runs logged."""
    counts: dict[str, int] = {}
    for task, run_id in zip(seeds["task"], seeds["run_id"], strict=True):
        if run_id in predictions:
            counts[task] = max(counts.get(task, 0), int(predictions[run_id][0].max()) + 1)
    return counts
