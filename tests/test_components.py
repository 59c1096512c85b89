"""Conformance tests every registered encoder and fusion method must pass."""

import pytest
import torch

from benchmark.encoders import ENCODERS, build_encoder, encoder_kinds
from benchmark.fusions import FUSIONS, UNIMODAL
from benchmark.model import build_model
from benchmark.tasks import ModalitySpec
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
