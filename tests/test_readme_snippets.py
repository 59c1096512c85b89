"""The README's Extending snippets, run as written: each registers a component that then works where the
suite uses it (the registries are restored afterwards)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from benchmark.encoders.base import ENCODERS, build_encoder
from benchmark.fusions.base import FUSIONS
from benchmark.references.base import REFERENCES
from benchmark.tasks.base import TASKS, Fold, ModalitySpec, build_task
from tests.conftest import REPO


def snippet(heading: str) -> str:
    """The first Python block after the README's bold ``heading``."""
    readme = (REPO / "README.md").read_text()
    start = readme.index(f"**{heading}**")
    begin = readme.index("```python\n", start) + len("```python\n")
    return readme[begin : readme.index("\n```\n", begin) + 1]


@pytest.fixture(autouse=True)
def restored_registries(monkeypatch: pytest.MonkeyPatch) -> None:
    for registry in (TASKS, ENCODERS, FUSIONS, REFERENCES):
        monkeypatch.setattr(registry, "_entries", dict(registry._entries))
        monkeypatch.setattr(registry, "_metadata", dict(registry._metadata))


def test_the_task_snippet_builds_a_task_whose_folds_test_every_sample_once():
    exec(snippet("A task"), {})
    task = build_task("my-task", seed=0, n_samples=90)
    assert set(task.modalities) == {"audio", "meta"} and task.num_classes == 3
    assert sum(len(s) for s in task.splits.values()) == 90
    tested = [
        len(build_task("my-task", seed=0, fold=Fold(i, 3), n_samples=90).splits["test"]) for i in range(3)
    ]
    assert sum(tested) == 90
    train = task.splits["train"].inputs["meta"]
    assert train.mean(dim=0).abs().max() < 1e-5  # standardised with training statistics


def test_the_encoder_snippet_encodes_a_sequence_modality():
    exec(snippet("An encoder"), {})
    spec = ModalitySpec("audio", "sequence", (50, 2))
    encoder = build_encoder("gru", spec, depth=2, width=16, dropout=0.1)
    assert encoder(torch.randn(4, 50, 2)).shape == (4, encoder.out_dim) == (4, 16)


def test_the_fusion_snippet_fuses_and_trains():
    exec(snippet("A fusion method"), {})
    fusion = FUSIONS.get("sum")({"a": 8, "b": 5}, 3, width=16, dropout=0.0)
    logits = fusion({"a": torch.randn(4, 8), "b": torch.randn(4, 5)}).logits
    assert logits.shape == (4, 3)
    logits.sum().backward()
    assert all(p.grad is not None for p in fusion.parameters())


def test_the_reference_snippet_registers_a_tunable_classifier():
    exec(snippet("A reference model"), {})
    reference = REFERENCES.get("ref_svm")
    assert set(reference.hyperparameters) == {"C"} and reference.dense is False
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 60)
    features = rng.normal(size=(60, 4)) + labels[:, None]
    model = reference.build({"C": 1.0}, 0).fit(features, labels)
    assert (model.predict(features) == labels).mean() > 0.8
