"""Robustness evaluation: retention, token corruption, the train-mean stand-in of a missing modality,
and what the numbers say on a task whose information is known (synth-uniqueness: only the vector
modality carries the label)."""

import math

import numpy as np
import pytest
import torch

from benchmark.cli import main
from benchmark.model import build_model, use_train_mean_stand_ins
from benchmark.robustness import corrupt_tokens, retention, robustness_metrics, token_fraction
from benchmark.scores import chance_scores, classification_scores
from benchmark.tasks import ModalitySpec, Split
from benchmark.tasks.text import PAD
from tests.conftest import tiny_overrides
from tests.store import Store


def test_retention_is_one_when_noise_does_nothing_and_falls_with_it():
    assert retention([0.5, 1.0, 2.0], [0.9, 0.9, 0.9], clean=0.9) == pytest.approx(1.0)
    # Trapezoids over [0, 0.5, 1, 2]: (0.5 * 1.7 + 0.5 * 1.5 + 1.0 * 1.3) / 2 = 1.45, over 0.9 x 2.
    assert retention([0.5, 1.0, 2.0], [0.8, 0.7, 0.6], clean=0.9) == pytest.approx(1.45 / 1.8)


def test_retention_is_measured_above_chance():
    # a model that falls to chance at the first level keeps a quarter of its margin (the first trapezoid)
    assert retention([0.5, 1.0, 2.0], [0.25] * 3, clean=0.9, chance=0.25) == pytest.approx(0.125)
    # without the correction the same model would appear to keep about half of its score
    assert retention([0.5, 1.0, 2.0], [0.25] * 3, clean=0.9) > 0.3
    # a model at chance has nothing to retain (it used to score 1.0 here)
    assert math.isnan(retention([0.5, 1.0, 2.0], [0.25] * 3, clean=0.25, chance=0.25))


def test_chance_is_the_best_score_of_a_prediction_that_ignores_the_inputs():
    labels = np.array([0] * 6 + [1] * 3 + [2] * 1)
    chance = chance_scores(labels, num_classes=4)
    for k in range(4):  # no constant prediction beats it, and the majority class reaches it
        constant = classification_scores(labels, np.full(10, k), num_classes=4)
        for metric, floor in chance.items():
            assert constant[metric] <= floor + 1e-12
    majority = classification_scores(labels, np.zeros(10, dtype=int), num_classes=4)
    assert majority["accuracy"] == pytest.approx(chance["accuracy"])
    assert majority["recall_macro"] == pytest.approx(chance["recall_macro"])
    # macro F1: random guesses drawn from the priors reach 1/K, above any constant (0.18 here)
    rng = np.random.default_rng(0)
    many = rng.choice(4, size=20_000, p=[0.6, 0.3, 0.1, 0.0])
    by_priors = classification_scores(many, rng.permutation(many), num_classes=4)["f1_macro"]
    assert by_priors == pytest.approx(chance_scores(many, 4)["f1_macro"], abs=0.01)
    assert majority["f1_macro"] < chance["f1_macro"] - 0.05
    for q in rng.dirichlet(np.ones(4), size=20):  # no other guessing distribution does better
        guess = rng.choice(4, size=20_000, p=q)
        assert classification_scores(many, guess, num_classes=4)["f1_macro"] <= 0.25 + 0.01


def _two_modality_model(seed: int = 0):
    torch.manual_seed(seed)
    specs = {"a": ModalitySpec("a", "vector", (4,)), "w": ModalitySpec("w", "tokens", (6,), vocab_size=50)}
    model = build_model(specs, fusion="concat", num_classes=3, depth=1, width=8, dropout=0.0)
    g = torch.Generator().manual_seed(seed)
    words = torch.randint(2, 50, (64, 6), generator=g)
    words[:, 4:] = PAD
    inputs = {"a": torch.randn(64, 4, generator=g) + 3.0, "w": words}
    return model, Split(inputs, torch.randint(0, 3, (64,), generator=g))


def test_a_missing_modality_gets_its_train_mean_embedding_not_zeros():
    model, train = _two_modality_model()
    model.eval()
    with torch.no_grad():
        expected = model.encoders["a"](train.inputs["a"]).mean(dim=0)
    assert torch.count_nonzero(model.placeholders["a"]) == 0  # untrained: zeros
    use_train_mean_stand_ins(model, train.inputs, batch_size=16)  # batched: the same mean
    assert torch.allclose(model.placeholders["a"], expected, atol=1e-5)
    assert torch.count_nonzero(model.placeholders["a"]) > 0
    seen = {}
    model.fusion.register_forward_pre_hook(lambda module, args: seen.update(args[0]))
    present = {"a": torch.zeros(8, dtype=torch.bool), "w": torch.ones(8, dtype=torch.bool)}
    with torch.no_grad():
        model({name: x[:8] for name, x in train.inputs.items()}, present)
    assert torch.allclose(seen["a"], expected.expand(8, -1), atol=1e-5)  # the mean, never zeros


def test_token_corruption_replaces_the_requested_fraction_and_keeps_padding():
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(2, 1000, (400, 50), generator=g)
    ids[:, 40:] = PAD
    for level in (0.5, 1.0, 2.0):
        corrupted = corrupt_tokens(ids, token_fraction(level), 1000, torch.Generator().manual_seed(1))
        changed = (corrupted != ids)[:, :40].float().mean().item()
        assert changed == pytest.approx(level / (1 + level), abs=0.01)
        assert (
            (corrupted[:, 40:] == PAD).all() and (corrupted[:, :40] >= 2).all() and (corrupted < 1000).all()
        )


def test_retention_is_one_for_a_model_that_ignores_the_noised_modality():
    model, test = _two_modality_model()
    model.eval()
    with torch.no_grad():  # a model that ignores ``a``: its encoder's output does not depend on it
        for p in model.encoders["a"].parameters():
            p.zero_()
        # word vectors start small (uniform in +-1/width): an untrained model would predict one class
        # for every row, whose chance level is then 1; wide vectors make the text decide
        torch.nn.init.normal_(model.encoders["w"].embed.weight, std=1.0)
    kwargs = {
        "batch_size": 32,
        "num_classes": 3,
        "metric": "accuracy",
        "missing": False,
        "noise_levels": [0.5, 2.0],
        "vocab_sizes": {"w": 50},
    }
    with torch.no_grad():  # labelled by the model itself: clean accuracy 1, well above chance
        test = Split(test.inputs, model(test.inputs).logits.argmax(1))
        clean = 1.0
    out = robustness_metrics(model, test, clean_score=clean, **kwargs)
    assert out["robust/noise/a/retention"] == pytest.approx(1.0)
    assert out["robust/noise/w/retention"] != pytest.approx(1.0)  # the text it reads: corrupted, changed
    assert out["robust/noise_retention"] == pytest.approx((1.0 + out["robust/noise/w/retention"]) / 2)


def test_on_uniqueness_only_removing_the_informative_modality_drops_to_chance(tmp_path):
    overrides = tiny_overrides(
        tmp_path,
        "tasks=[{name:synth-uniqueness,noise:0.5,spurious:0.0}]",  # only vec informative, no shortcut
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
        # Noise on the informative modality costs score, far more than on an uninformative one (which
        # can still cost a little: a model may lean on spurious image features).
        assert m["robust/noise/vec/retention"] < 0.93, (fusion, m)
        assert m["robust/noise/img/retention"] >= 0.8, (fusion, m)
        assert m["robust/noise/img/retention"] > m["robust/noise/vec/retention"] + 0.1, (fusion, m)
        assert 0 < m["robust/noise_retention"] <= 1.05
