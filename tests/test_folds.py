"""Outer folds test every sample exactly once; grouped folds never share a group."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from benchmark.tasks.base import Fold, outer_fold, outer_parts


def _parts(labels: torch.Tensor, folds: int, groups: np.ndarray | None = None) -> list[dict]:
    out = []
    for index in range(folds):
        with outer_fold(Fold(index, folds)):
            out.append(outer_parts(labels, seed=0, groups=groups))
    return out


@pytest.mark.parametrize("folds", [3, 5])
def test_stratified_folds_are_disjoint_and_cover_every_sample_once(folds):
    labels = torch.tensor([c for c in range(5) for _ in range(8)])  # nutrimouse: 5 diets x 8 mice
    tested = []
    for parts in _parts(labels, folds):
        train, val, test = (set(parts[name].tolist()) for name in ("train", "val", "test"))
        assert not (train & val or train & test or val & test)
        assert train | val | test == set(range(40))
        counts = np.bincount(labels[parts["test"]].numpy(), minlength=5)
        assert counts.max() - counts.min() <= 1 + (8 % folds > 0)  # stratified
        tested += sorted(test)
    assert sorted(tested) == list(range(40))


def test_grouped_folds_never_share_a_group():
    groups = np.repeat(np.arange(10), 14)  # watch: 10 subjects, 14 recordings each
    labels = torch.zeros(140, dtype=torch.long)
    tested = []
    for parts in _parts(labels, 5, groups):
        seen = {name: set(groups[parts[name].numpy()]) for name in ("train", "val", "test")}
        assert not (seen["train"] & seen["val"] or seen["train"] & seen["test"] or seen["val"] & seen["test"])
        assert len(seen["test"]) == 2 and seen["val"] and seen["train"]
        tested += parts["test"].tolist()
    assert sorted(tested) == list(range(140))
    with pytest.raises(ValueError, match="grouped folds need at least"):
        _parts(labels[:28], 3, groups[:28])  # 2 subjects cannot make 3 folds


def test_one_fold_is_the_single_holdout_as_before():
    from benchmark.tasks.base import stratified_split

    labels = torch.tensor([0, 1] * 50)
    (parts,) = _parts(labels, 1)
    expected = stratified_split(labels, 0)
    assert all(torch.equal(parts[k], expected[k]) for k in expected)
