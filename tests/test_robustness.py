"""Robustness evaluation: the area summary, and what the numbers say on a task whose information is
known (synth-uniqueness: only the vector modality carries the label)."""

import pytest

from benchmark.cli import main
from benchmark.robustness import noise_area
from tests.conftest import tiny_overrides
from tests.store import Store


def test_noise_area_is_the_clean_accuracy_when_noise_does_nothing_and_falls_with_it():
    assert noise_area([0.5, 1.0, 2.0], [0.9, 0.9, 0.9], clean=0.9) == pytest.approx(0.9)
    # Trapezoids over [0, 0.5, 1, 2]: (0.5 * 1.7 + 0.5 * 1.5 + 1.0 * 1.3) / 2 / 2.
    assert noise_area([0.5, 1.0, 2.0], [0.8, 0.7, 0.6], clean=0.9) == pytest.approx(0.725)


def test_on_uniqueness_only_removing_the_informative_modality_drops_to_chance(tmp_path):
    overrides = tiny_overrides(
        tmp_path,
        "tasks=[{name:synth-uniqueness,noise:1.0}]",
        "grid.modalities=[[img,seq,vec]]",
        "grid.fusion=[concat,late_vote]",
        "train.max_epochs=12",
        "final.seeds=1",
        "robustness.noise=[1.0,4.0]",
    )
    assert main(["run", *overrides, "--no-progress"]) == 0
    final_runs = Store(tmp_path).runs("final")
    assert len(final_runs) == 2
    chance = 1 / 4  # synth-uniqueness has 4 classes
    for run in final_runs:
        m, fusion = run.data.metrics, run.data.tags["benchmark.fusion"]
        clean = m["test/accuracy"]
        assert clean >= 0.7, (fusion, clean)
        assert m["robust/missing/vec/accuracy"] <= chance + 0.12, (fusion, m)
        for other in ("img", "seq"):
            assert m[f"robust/missing/{other}/accuracy"] >= clean - 0.05, (fusion, other, m)
        # Noise on the informative modality costs accuracy, far more than on an uninformative one (which
        # can still cost a little: a model may lean on spurious image features, measured up to 0.10).
        assert m["robust/noise/vec/auc"] < clean - 0.05, (fusion, m)
        assert m["robust/noise/img/auc"] >= clean - 0.15, (fusion, m)
        assert m["robust/noise/img/auc"] > m["robust/noise/vec/auc"] + 0.1, (fusion, m)
        assert 0 < m["robust/noise_auc"] <= 1
