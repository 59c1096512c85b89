"""Scores as registered objects: one entry reaches every place a score is used."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import balanced_accuracy_score

from benchmark import scores
from benchmark.cli import main
from benchmark.report.uncertainty import bootstrap_interval, weighted_scores
from tests.conftest import REPO, tiny_overrides
from tests.store import Store


def _balanced_accuracy(confusion: np.ndarray) -> np.ndarray:
    """Mean recall over the classes present in the labels (scikit-learn's balanced_accuracy_score)."""
    support = confusion.sum(axis=2)
    recall = np.divide(
        np.diagonal(confusion, axis1=1, axis2=2), support, out=np.zeros_like(support), where=support > 0
    )
    present = (support > 0).sum(axis=1)
    return np.divide(recall.sum(axis=1), present, out=np.zeros(len(confusion)), where=present > 0)


BALANCED = scores.Score(
    "balanced_accuracy", "balanced accuracy", _balanced_accuracy, lambda shares: 1.0 / (shares > 0).sum()
)


@pytest.fixture
def balanced(monkeypatch: pytest.MonkeyPatch) -> scores.Score:
    """balanced accuracy registered for one test (the registry is left as it was)."""
    monkeypatch.setitem(scores.REGISTRY, BALANCED.name, BALANCED)
    return BALANCED


def test_a_registered_formula_is_what_the_engine_and_the_bootstrap_compute(balanced):
    rng = np.random.default_rng(0)
    labels = np.array([0] * 30 + [1] * 10 + [2] * 5)
    predictions = np.where(rng.random(len(labels)) < 0.7, labels, rng.integers(0, 4, len(labels)))
    engine = scores.classification_scores(
        labels, predictions, 4
    )  # class 3 never true: as scikit-learn skips it
    assert engine["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(labels, predictions))
    batched = weighted_scores(labels, predictions, np.ones((2, len(labels))), 4)
    assert set(batched) == set(scores.names())
    assert all(batched[name] == pytest.approx([engine[name]] * 2) for name in scores.names())
    perfect = bootstrap_interval([(labels, labels)], "balanced_accuracy", replicates=200)
    assert perfect == (1.0, 1.0)
    assert scores.chance_scores(labels, 4)["balanced_accuracy"] == pytest.approx(1 / 3)


def test_chance_levels_of_the_built_in_scores():
    labels = np.array([0] * 6 + [1] * 3 + [2])
    assert scores.chance_scores(labels, 3) == pytest.approx(
        {"accuracy": 0.6, "recall_macro": 1 / 3, "f1_macro": 1 / 3}
    )


def test_a_score_name_must_fit_in_a_metric_name():
    with pytest.raises(ValueError, match="letters, digits and _"):
        scores.register(scores.Score("f1/weighted", "x", _balanced_accuracy, lambda s: 0.0))
    assert "f1/weighted" not in scores.REGISTRY
    with pytest.raises(KeyError, match="registered scores: accuracy, recall_macro, f1_macro"):
        scores.get("auc")


def test_a_registered_score_reaches_the_leaderboard_the_robustness_table_and_the_intervals(
    balanced, tmp_path
):
    """One registry entry, nothing else: the run logs it (scores and robustness), tuning may rank by it,
    and the report's leaderboard, intervals and robustness table carry it."""
    overrides = tiny_overrides(
        tmp_path,
        "tasks=[{name:synth-redundancy,n_modalities:2,n_samples:240}]",
        "grid.fusion=[concat]",
        "tuning.metric=balanced_accuracy",
    )
    assert main(["run", *overrides, "--no-progress"]) == 0
    finals = Store(tmp_path).runs("final")
    fused = [r for r in finals if r.data.tags["benchmark.modalities"] == "img+vec"]
    assert fused and all("robust/missing/img/balanced_accuracy" in r.data.metrics for r in fused)
    assert all("robust/noise/vec/0.5/balanced_accuracy" in r.data.metrics for r in fused)
    assert all("test/balanced_accuracy" in r.data.metrics for r in finals)

    report = tmp_path / "reports" / "smoke"
    board = pd.read_csv(report / "leaderboard.csv")
    for column in (
        "test/balanced_accuracy_mean",
        "val/balanced_accuracy_mean",
        "test/balanced_accuracy_ci_low",
    ):
        assert board[column].notna().all(), column
    low, mean, high = (board[f"test/balanced_accuracy{s}"] for s in ("_ci_low", "_mean", "_ci_high"))
    assert ((low <= mean + 1e-9) & (mean <= high + 1e-9)).all()
    robustness = pd.read_csv(report / "robustness.csv")
    row = robustness[robustness["modalities"] == "img+vec"].iloc[0]
    means = fused[0].data.metrics, fused[1].data.metrics
    assert row["score"] == pytest.approx(np.mean([m["test/balanced_accuracy"] for m in means]), abs=1e-6)
    worst = min(np.mean([m[f"robust/missing/{x}/balanced_accuracy"] for m in means]) for x in ("img", "vec"))
    assert row["worst_missing"] == pytest.approx(worst, abs=1e-6)
    assert "test balanced accuracy" in (report / "README.md").read_text()


def test_the_readmes_score_snippet_registers_a_working_score(monkeypatch):
    """The README's Extending snippet, run as written (with the registry restored afterwards)."""
    readme = (REPO / "README.md").read_text()
    start = readme.index("**A score**")
    block = readme[
        readme.index("```python\n", start) + len("```python\n") : readme.index("```\n", start + 20)
    ]
    monkeypatch.setattr(scores, "REGISTRY", dict(scores.REGISTRY))
    exec(block, {"np": np, "Score": scores.Score, "register": scores.register})
    labels, predictions = np.array([0, 0, 0, 1, 2, 2]), np.array([0, 1, 0, 1, 2, 0])
    engine = scores.classification_scores(labels, predictions, 4)
    assert engine["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(labels, predictions))
    assert scores.chance_scores(labels, 4)["balanced_accuracy"] == pytest.approx(1 / 3)
