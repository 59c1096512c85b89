"""Outer splits (``splits: K``): K independent tunings and final seeds per grid cell, each on its own
partition, recorded with their split and data lineage, and averaged by the report."""

from __future__ import annotations

import json

import numpy as np
import pytest

from benchmark.cli import main
from benchmark.report.collect import collect
from benchmark.report.tables import combination_summary
from benchmark.runner import prepare
from benchmark.studies import load_study
from benchmark.tasks.base import task_digest
from tests.conftest import tiny_overrides
from tests.store import Store

SPLIT_TASK = "tasks=[{name:synth-redundancy,n_modalities:2,n_samples:240,splits:2}]"
CELLS = 3  # img, vec, concat(img+vec)


@pytest.fixture(scope="module")
def split_store(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("splits")
    overrides = tiny_overrides(workdir, SPLIT_TASK, "grid.fusion=[concat]")
    assert main(["run", *overrides, "--no-progress"]) == 0
    return workdir


def test_each_split_is_its_own_partition():
    config = load_study("smoke", [SPLIT_TASK, "grid.fusion=[concat]"])
    prepared = prepare(config)
    first, second = prepared.tasks[("synth-redundancy", 0)], prepared.tasks[("synth-redundancy", 1)]
    assert task_digest(first) != task_digest(second)
    assert len(prepared.plan.combinations) == 2 * CELLS
    by_split = {c.split for c in prepared.plan.combinations}
    assert by_split == {0, 1}
    assert len({c.id for c in prepared.plan.combinations}) == 2 * CELLS
    assert len({c.cell_id for c in prepared.plan.combinations}) == CELLS
    again = prepare(config)  # deterministic
    assert task_digest(again.tasks[("synth-redundancy", 1)]) == task_digest(second)


def test_k_splits_give_k_tunings_and_the_report_averages_them(split_store):
    store = Store(split_store)
    parents = store.runs("combination")
    assert len(parents) == 2 * CELLS
    assert sorted(p.data.tags["benchmark.split"] for p in parents) == ["0"] * CELLS + ["1"] * CELLS
    assert len(store.studies()) == 2 * CELLS  # one Optuna study (own tuning) per cell and split
    for parent in parents:  # the data each parent used, in MLflow's dataset tracking
        inputs = parent.inputs.dataset_inputs
        assert len(inputs) == 1
        dataset = inputs[0].dataset
        assert json.loads(dataset.source)["type"] == "generated"
        context = {t.key: t.value for t in inputs[0].tags}["mlflow.data.context"]
        assert context == f"split {parent.data.tags['benchmark.split']} of 2"
    digests = {p.data.tags["benchmark.split"]: p.inputs.dataset_inputs[0].dataset.digest for p in parents}
    assert len(set(digests.values())) == 2

    runs = collect(f"sqlite:///{split_store / 'mlflow.db'}", "smoke", expected_seeds=2)
    summary = combination_summary(runs)
    assert len(summary) == CELLS and (summary["splits"] == 2).all() and (summary["state"] == "finished").all()
    seeds = runs.finished_seeds
    for _, row in summary.iterrows():
        mine = seeds[seeds["combination_id"] == row["combination_id"]]
        split_means = mine.groupby("split")["test/f1_macro"].mean()
        assert len(split_means) == 2
        assert np.isclose(row["test/f1_macro_mean"], split_means.mean())
