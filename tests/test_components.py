"""Conformance tests every registered encoder, fusion method, task and reference model must pass."""

import pytest
import torch

from benchmark.encoders import ENCODERS, build_encoder, encoder_kinds
from benchmark.fusions import FUSIONS, UNIMODAL
from benchmark.model import build_model
from benchmark.references import REFERENCES
from benchmark.tasks import TASKS, ModalitySpec
from benchmark.training import seed_everything

SPECS = {
    "vector": ModalitySpec("v", "vector", (12,)),
    "image": ModalitySpec("i", "image", (1, 16, 16)),
    "sequence": ModalitySpec("s", "sequence", (20, 3)),
    "tokens": ModalitySpec("t", "tokens", (15,), vocab_size=50),
}


def _batch(spec: ModalitySpec, n: int = 6) -> torch.Tensor:
    if spec.kind == "tokens":
        x = torch.randint(1, spec.vocab_size, (n, *spec.shape))
        x[0] = 0  # an all-padding row (an empty text) must not produce NaN
        return x
    return torch.randn(n, *spec.shape)


ENCODER_CASES = [(name, kind) for name in ENCODERS.names() for kind in sorted(encoder_kinds(name))]


@pytest.mark.parametrize(("name", "kind"), ENCODER_CASES)
@pytest.mark.parametrize("depth", [1, 3])
def test_encoder_output_shape_gradients_and_determinism(name, kind, depth):
    spec = SPECS[kind]
    seed_everything(0)
    encoder = build_encoder(name, spec, depth=depth, width=32, dropout=0.0)
    x = _batch(spec)
    out = encoder(x)
    assert out.shape == (6, encoder.out_dim) == (6, 32)
    assert torch.isfinite(out).all()
    out.sum().backward()
    assert all(p.grad is not None for p in encoder.parameters() if p.requires_grad)
    seed_everything(0)
    again = build_encoder(name, spec, depth=depth, width=32, dropout=0.0)
    assert torch.equal(again(x), encoder(x))


def test_deeper_encoders_have_more_layers():
    shallow = build_encoder("cnn", SPECS["image"], depth=1, width=32, dropout=0.0)
    deep = build_encoder("cnn", SPECS["image"], depth=3, width=32, dropout=0.0)
    assert sum(p.numel() for p in deep.parameters()) > sum(p.numel() for p in shallow.parameters())


def test_encoder_rejects_a_kind_it_cannot_encode():
    with pytest.raises(ValueError, match="cannot encode"):
        build_encoder("mlp", SPECS["image"], depth=1, width=32, dropout=0.0)


MULTI_SPECS = {s.name: s for s in (SPECS["vector"], SPECS["image"], SPECS["sequence"])}


def _specs_for(fusion: str) -> dict[str, ModalitySpec]:
    if fusion == UNIMODAL:
        return {"v": SPECS["vector"]}
    return MULTI_SPECS


@pytest.mark.parametrize("fusion", FUSIONS.names())
def test_fusion_output_shape_gradients_reach_every_encoder_and_determinism(fusion):
    specs = _specs_for(fusion)
    inputs = {name: _batch(spec) for name, spec in specs.items()}
    seed_everything(1)
    model = build_model(specs, fusion=fusion, num_classes=5, depth=2, width=32, dropout=0.0)
    model.eval()  # BatchNorm in eval mode: outputs depend on the weights only
    out = model(inputs)
    assert out.logits.shape == (6, 5)
    assert torch.isfinite(out.logits).all()
    assert all(logits.shape == (6, 5) for logits in out.loss_logits)
    loss = sum(
        torch.nn.functional.cross_entropy(lg, torch.zeros(6, dtype=torch.long)) for lg in out.loss_logits
    )
    loss.backward()
    for name, encoder in model.encoders.items():
        grads = [p.grad for p in encoder.parameters()]
        assert all(g is not None for g in grads), f"{fusion}: no gradient reaches encoder {name}"
        assert any(g.abs().sum() > 0 for g in grads), f"{fusion}: zero gradient at encoder {name}"
    seed_everything(1)
    twin = build_model(specs, fusion=fusion, num_classes=5, depth=2, width=32, dropout=0.0).eval()
    assert torch.allclose(twin(inputs).logits, out.logits)
    # Fusion indexes modalities by name: the order of the input mapping must not matter.
    reordered = dict(reversed(list(inputs.items())))
    assert torch.allclose(model(reordered).logits, out.logits)


@pytest.mark.parametrize("fusion", [f for f in FUSIONS.names() if f != UNIMODAL])
def test_multimodal_fusions_use_every_modality(fusion):
    seed_everything(2)
    model = build_model(MULTI_SPECS, fusion=fusion, num_classes=3, depth=1, width=32, dropout=0.0).eval()
    inputs = {name: _batch(spec) for name, spec in MULTI_SPECS.items()}
    base = model(inputs).logits
    for name in inputs:
        changed = dict(inputs, **{name: _batch(MULTI_SPECS[name])})
        assert not torch.allclose(model(changed).logits, base), f"{fusion} ignores modality {name}"


def test_late_vote_predicts_the_mean_of_member_probabilities():
    seed_everything(3)
    model = build_model(MULTI_SPECS, fusion="late_vote", num_classes=4, depth=1, width=32, dropout=0.0).eval()
    out = model({name: _batch(spec) for name, spec in MULTI_SPECS.items()})
    mean_probs = torch.stack([lg.softmax(1) for lg in out.loss_logits]).mean(0)
    assert len(out.loss_logits) == 3
    assert torch.allclose(out.logits.exp(), mean_probs, atol=1e-6)


def test_unsupported_modality_counts_are_reported():
    assert FUSIONS.get(UNIMODAL).unsupported_reason(2) is not None
    assert FUSIONS.get("concat").unsupported_reason(1) is not None
    assert FUSIONS.get("concat").unsupported_reason(3) is None


@pytest.mark.parametrize("fusion", [f for f in FUSIONS.names() if f != UNIMODAL])
def test_a_missing_modality_has_no_influence_and_all_present_changes_nothing(fusion):
    seed_everything(4)
    model = build_model(MULTI_SPECS, fusion=fusion, num_classes=3, depth=1, width=32, dropout=0.0).eval()
    inputs = {name: _batch(spec) for name, spec in MULTI_SPECS.items()}
    everyone = {name: torch.ones(6, dtype=torch.bool) for name in inputs}
    assert torch.allclose(model(inputs, everyone).logits, model(inputs).logits)
    for name in inputs:
        present = dict(everyone, **{name: torch.zeros(6, dtype=torch.bool)})
        hidden = model(inputs, present).logits
        assert torch.isfinite(hidden).all()
        assert not torch.allclose(hidden, model(inputs).logits), f"{fusion}: hiding {name} changes nothing"
        changed = dict(inputs, **{name: _batch(MULTI_SPECS[name])})
        assert torch.allclose(model(changed, present).logits, hidden), f"{fusion}: hidden {name} still read"


def test_tensor_fusion_refuses_more_than_three_modalities_and_low_rank_takes_its_rank():
    assert "at most 3" in FUSIONS.get("tensor").unsupported_reason(4)
    assert FUSIONS.get("low_rank").unsupported_reason(6) is None
    assert "rank" in FUSIONS.get("low_rank").hyperparameters
    small = build_model(
        MULTI_SPECS,
        fusion="low_rank",
        num_classes=3,
        depth=1,
        width=32,
        dropout=0.0,
        fusion_options={"rank": 2},
    )
    large = build_model(
        MULTI_SPECS,
        fusion="low_rank",
        num_classes=3,
        depth=1,
        width=32,
        dropout=0.0,
        fusion_options={"rank": 8},
    )
    assert sum(p.numel() for p in large.parameters()) > sum(p.numel() for p in small.parameters())


def test_modality_dropout_hides_at_the_asked_rate_and_never_everything():
    from benchmark.training import hide_modalities

    torch.manual_seed(0)
    batch = {name: torch.zeros(20_000, 3) for name in ("a", "b", "c")}
    present = hide_modalities(batch, 0.3)
    kept = torch.stack([present[n] for n in sorted(present)], dim=1)
    assert kept.any(dim=1).all()
    # P(hidden) = 0.3, less the rescued samples that would have lost all three (0.3^3 = 2.7 %).
    assert abs((~kept).float().mean().item() - (0.3 - 0.3**3 / 3)) < 0.01


# ---- every registered task ---------------------------------------------------------------------------
def _own_data_arguments(name: str, folder) -> dict | None:
    """Arguments for a bring-your-own-data task (a small generated file), None for the others."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(3), 20)
    if name == "table":
        frame = pd.DataFrame(
            {
                "y": labels,
                "a": rng.normal(size=60) + labels,
                "b": rng.choice(["u", "v"], 60),
                "note": [f"word{k} other" for k in labels],
            }
        )
        frame.to_csv(folder / "t.csv", index=False)
        modalities = {"x": {"numeric": ["a"], "categorical": ["b"]}, "words": {"text": ["note"]}}
        return {"path": str(folder / "t.csv"), "target": "y", "modalities": modalities}
    if name == "arrays":
        np.savez(folder / "d.npz", label=labels, v=rng.normal(size=(60, 4)), s=rng.normal(size=(60, 8, 2)))
        return {"path": str(folder / "d.npz"), "target": "label"}
    return None


@pytest.mark.parametrize("name", TASKS.names())
def test_every_registered_task_is_well_formed(name, tmp_path):
    """Shapes as declared, dtypes by kind, token ids inside the vocabulary, labels in range with every class
    in train, and three disjoint, non-empty parts. A public data set runs where its cache is present (the
    slow tests fetch it); the generators at a small size; your-data tasks from a generated file."""
    from benchmark.data import SOURCES, is_cached
    from benchmark.tasks import build_task, task_parameters

    arguments = _own_data_arguments(name, tmp_path)
    if arguments is None and name in SOURCES:
        if not is_cached(name, None):
            pytest.skip(f"{name}: data not fetched here (python -m benchmark data fetch {name})")
        arguments = {}
    elif arguments is None:
        arguments = {"n_samples": 150} if "n_samples" in task_parameters(name) else {}
    task = build_task(name, seed=0, **arguments)
    assert set(task.splits) == {"train", "val", "test"} and all(len(s) for s in task.splits.values())
    for part in task.splits.values():
        assert part.labels.dtype == torch.int64
        assert int(part.labels.min()) >= 0 and int(part.labels.max()) < task.num_classes
        for modality, spec in task.modalities.items():
            x = part.inputs[modality]
            assert tuple(x.shape[1:]) == spec.shape and len(x) == len(part.labels), (modality, x.shape)
            if spec.kind == "tokens":
                assert not x.is_floating_point() and int(x.min()) >= 0 and int(x.max()) < spec.vocab_size
            else:
                assert x.is_floating_point() and torch.isfinite(x).all(), modality
    assert set(task.splits["train"].labels.tolist()) == set(range(task.num_classes))


# ---- every registered reference model ----------------------------------------------------------------
@pytest.mark.parametrize("name", REFERENCES.names())
def test_every_reference_model_fits_scores_and_its_saved_pipeline_reproduces_its_predictions(name):
    """On a generated task with an image and a vector modality: one final fit through the
    method protocol gives validation and test scores of every registered score, predictions that the saved
    pipeline reproduces, and the same result for the same seed."""
    import numpy as np

    from benchmark import scores
    from benchmark.experiment import RunSettings
    from benchmark.grid import Combination
    from benchmark.methods import REFERENCE_DEPTH
    from benchmark.studies import load_study
    from benchmark.tasks import build_task
    from benchmark.trainers import method_of

    task = build_task("synth-mixed", seed=0, n_samples=240)
    # image and vector: a sequence's MiniRocket features (about 10,000) make gradient boosting take minutes
    combination = Combination("synth-mixed", REFERENCE_DEPTH, ("img", "vec"), name)
    config = load_study("smoke", ["tasks=[synth-mixed]"])
    method = method_of(name)
    space = method.search_space(config.tuning.space)
    params = {
        k: s.choices[0]
        if s.kind in ("categorical", "fixed")
        else (s.low * s.high) ** 0.5
        if s.log
        else (s.low + s.high) / 2
        for k, s in space.items()
    }
    params = {k: int(round(v)) if space[k].kind == "int" else v for k, v in params.items()}
    runs = [
        method.train(
            task,
            combination,
            method.settings(params),
            RunSettings.of(config),
            device=torch.device("cpu"),
            seed=3,
            final=True,
        )
        for _ in range(2)
    ]
    first, second = runs
    assert set(first.val) == set(first.test) == set(scores.names())
    assert all(0.0 <= v <= 1.0 for v in (*first.val.values(), *first.test.values()))
    labels, predicted = first.test_predictions
    assert len(labels) == len(task.splits["test"])
    assert np.array_equal(first.model.predict(task.splits["test"].inputs), predicted)
    assert first.test == second.test and np.array_equal(predicted, second.test_predictions[1])
