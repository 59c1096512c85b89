"""The suite can tell fusion methods apart: on two-modality synergy (label = XOR of one bit per
modality) late voting stays near chance while the methods that can model an interaction (concat,
attention, gated, tensor, low-rank) learn it."""

import pytest

from benchmark.cli import main
from tests.conftest import tiny_overrides
from tests.store import Store


@pytest.mark.slow
def test_synergy_separates_late_voting_from_joint_fusion(tmp_path):
    overrides = [
        *tiny_overrides(tmp_path),
        # noise 0.2 of the calibrated per-kind noise (image std 0.96, vector 0.52): a Bayes ceiling of 1.0
        # that these tiny budgets can reach, so the test is about what each fusion can represent
        "tasks=[{name:synth-synergy,n_modalities:2,n_samples:2000,noise:0.2}]",
        "grid.modalities=[[img,vec]]",
        "grid.fusion=[concat,attention,late_vote,gated,tensor,low_rank]",
        "tuning.trials=4",
        "final.seeds=3",
        "train.max_epochs=30",
        "train.patience=6",
    ]
    assert main(["run", *overrides, "--no-progress"]) == 0
    accuracy = {
        p.data.tags["benchmark.fusion"]: p.data.metrics["test/accuracy_mean"]
        for p in Store(tmp_path).runs("combination")
    }
    for joint in ("concat", "attention", "gated", "tensor", "low_rank"):
        assert accuracy[joint] >= 0.9, accuracy
    assert 0.4 <= accuracy["late_vote"] <= 0.65, accuracy
