import pytest
import torch

from benchmark.tasks import SPLITS, TASKS, build_task
from benchmark.tasks.synthetic import _make_codes

SYNTHETIC = [name for name in TASKS.names() if name.startswith("synth-")]


@pytest.mark.parametrize("name", SYNTHETIC)
def test_synthetic_tasks_are_deterministic_and_well_formed(name):
    a = build_task(name, seed=3, n_samples=300)
    b = build_task(name, seed=3, n_samples=300)
    c = build_task(name, seed=4, n_samples=300)
    assert set(a.splits) == set(SPLITS)
    assert sum(len(a.splits[s]) for s in SPLITS) == 300
    kinds = {spec.kind for spec in a.modalities.values()}
    assert kinds <= {"vector", "image", "sequence"}
    for split in SPLITS:
        assert torch.equal(a.splits[split].labels, b.splits[split].labels)
        for m in a.modalities:
            assert torch.equal(a.splits[split].inputs[m], b.splits[split].inputs[m])
            assert a.splits[split].inputs[m].shape[1:] == a.modalities[m].shape
    assert not torch.equal(a.splits["train"].labels, c.splits["train"].labels)
    assert int(a.splits["train"].labels.max()) < a.num_classes


def test_every_modality_kind_is_exercised_with_three_modalities():
    task = build_task("synth-redundancy", n_samples=120, n_modalities=3)
    assert sorted(s.kind for s in task.modalities.values()) == ["image", "sequence", "vector"]
    assert len(build_task("synth-redundancy", n_samples=120, n_modalities=5).modalities) == 5


def test_standardization_uses_train_statistics_only():
    task = build_task("synth-uniqueness", n_samples=600)
    train = task.splits["train"].inputs["vec"]
    assert torch.allclose(train.mean(0), torch.zeros(train.shape[1]), atol=1e-4)
    assert torch.allclose(train.std(0), torch.ones(train.shape[1]), atol=1e-3)
    test = task.splits["test"].inputs["vec"]
    assert not torch.allclose(test.mean(0), torch.zeros(test.shape[1]), atol=1e-4)


def _mutual_information_bits(x: torch.Tensor, y: torch.Tensor) -> float:
    joint = torch.zeros(int(x.max()) + 1, int(y.max()) + 1)
    for a, b in zip(x.tolist(), y.tolist(), strict=True):
        joint[a, b] += 1
    joint /= joint.sum()
    px, py = joint.sum(1, keepdim=True), joint.sum(0, keepdim=True)
    mask = joint > 0
    return float((joint[mask] * (joint[mask] / (px @ py)[mask]).log2()).sum())


def test_information_structure_of_the_codes():
    g = torch.Generator().manual_seed(0)
    y, codes, _ = _make_codes("synergy", 20000, 2, 2, g)
    assert all(_mutual_information_bits(c, y) < 0.01 for c in codes)  # no single modality says anything
    assert torch.equal((codes[0] + codes[1]) % 2, y)  # together they say everything
    y, codes, _ = _make_codes("uniqueness", 20000, 3, 4, g)
    assert torch.equal(codes[0], y)
    assert all(_mutual_information_bits(c, y) < 0.01 for c in codes[1:])
    y, codes, _ = _make_codes("redundancy", 1000, 3, 4, g)
    assert all(torch.equal(c, y) for c in codes)


def test_bad_task_parameters_are_rejected():
    with pytest.raises(ValueError, match="no parameter 'colour'"):
        build_task("synth-synergy", colour=1)
    with pytest.raises(ValueError, match="n_modalities must be at least 2"):
        build_task("synth-synergy", n_modalities=1)


def test_synthetic_splits_are_stratified():
    for name in SYNTHETIC:
        task = build_task(name, n_samples=400)
        shares = [
            torch.bincount(task.splits[s].labels, minlength=task.num_classes) / len(task.splits[s])
            for s in SPLITS
        ]
        assert max(float((a - b).abs().max()) for a in shares for b in shares) < 0.03, name


def _raw_split_ceilings(structure: str, seed: int, n: int, noise: float, n_classes: int) -> dict[str, dict]:
    """The generator's steps (as make_synthetic takes them), then the Bayes accuracy on train and test."""
    from benchmark.tasks.base import split_tensors, stratified_split
    from benchmark.tasks.synthetic import _RENDERERS, KIND_NOISE, bayes_accuracies, modality_layout

    g = torch.Generator().manual_seed(seed)
    layout = modality_layout(3)
    labels, codes, n_codes = _make_codes(structure, n, 3, n_classes, g)
    inputs, prototypes = {}, {}
    for (name, kind), code, k in zip(layout, codes, n_codes, strict=True):
        inputs[name], prototypes[name] = _RENDERERS[kind](code, k, noise * KIND_NOISE[kind], g)
    splits = split_tensors(inputs, labels, stratified_split(labels, seed))
    return {
        part: bayes_accuracies(
            structure, splits[part].inputs, splits[part].labels, layout, n_codes, noise, prototypes, n_classes
        )
        for part in ("train", "test")
    }


def test_bayes_ceiling_matches_a_monte_carlo_estimate_and_bounds_a_trained_model():
    from sklearn.linear_model import LogisticRegression

    ceilings = _raw_split_ceilings("uniqueness", seed=0, n=3000, noise=1.0, n_classes=4)
    # the train split (1,800 fresh draws of the same generator) is a Monte Carlo estimate of the ceiling
    for subset in ("vec", "img+seq+vec", "img"):
        se = (0.25 / 600) ** 0.5
        assert abs(ceilings["test"][subset] - ceilings["train"][subset]) < 4 * se, subset
    assert ceilings["test"]["img+seq"] < 0.35  # only noise without the vector modality: chance (0.25)
    task = build_task("synth-uniqueness", n_samples=3000, spurious=0.0)  # the train split without a shortcut
    assert task.bayes_accuracy == ceilings["test"]  # what the task carries is this computation
    train, test = task.splits["train"], task.splits["test"]
    model = LogisticRegression(max_iter=2000).fit(train.inputs["vec"].numpy(), train.labels.numpy())
    trained = float(
        (torch.as_tensor(model.predict(test.inputs["vec"].numpy())) == test.labels).float().mean()
    )
    assert trained <= task.bayes_accuracy["vec"] + 0.03  # no model beats the ceiling beyond noise
    synergy = build_task("synth-synergy", n_samples=1000)
    assert (
        synergy.bayes_accuracy["img+vec"] > 0.9
        and max(synergy.bayes_accuracy[m] for m in ("img", "vec")) < 0.6
    )


def test_defaults_leave_room_to_separate_methods():
    """Calibrated so that no modality alone is at its ceiling and the joint ceiling is below 1 (issue 22:
    the image alone was at 0.998 and every method tied there)."""
    alone = build_task("synth-redundancy", n_samples=3000).bayes_accuracy
    assert all(0.6 < alone[m] < 0.85 for m in ("img", "seq", "vec")), alone
    assert alone["img+seq+vec"] > max(alone[m] for m in ("img", "seq", "vec")) + 0.1, alone
    assert 0.9 < alone["img+seq+vec"] < 0.99, alone
    for name, joint in (("synth-synergy", "img+vec"), ("synth-mixed", "img+seq+vec")):
        ceilings = build_task(name, n_samples=3000).bayes_accuracy
        assert 0.85 < ceilings[joint] < 0.99, (name, ceilings)
    unique = build_task("synth-uniqueness", n_samples=3000).bayes_accuracy
    assert 0.6 < unique["vec"] < 0.85 and unique["img+seq"] < 0.35, unique


def test_the_uniqueness_shortcut_holds_on_train_only():
    from benchmark.tasks.synthetic import _plant_shortcut

    g = torch.Generator().manual_seed(0)
    y, codes, _ = _make_codes("uniqueness", 20000, 3, 4, g)
    train = torch.arange(0, 12000)
    planted = _plant_shortcut(y, codes, train, 0.3, g)
    assert torch.equal(planted[0], codes[0])  # the informative modality is untouched
    for code in planted[1:]:
        assert _mutual_information_bits(code[train], y[train]) > 0.05  # a shortcut on train
        assert _mutual_information_bits(code[12000:], y[12000:]) < 0.01  # none elsewhere
        assert torch.equal(code[12000:], codes[1][12000:]) or torch.equal(code[12000:], codes[2][12000:])
