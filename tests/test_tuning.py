"""Trial budget, failure reasons and the resume sweep, on a real Optuna journal file."""

import optuna
import pytest
from optuna.storages.journal import JournalFileBackend, JournalStorage
from optuna.trial import TrialState

from benchmark.config import TuningConfig
from benchmark.grid import Combination
from benchmark.params import ParamSpec
from benchmark.space import DEFAULT_SPACE, default_configuration
from benchmark.tuning.coordination import sweep_interrupted
from benchmark.tuning.search import (
    PROPOSAL,
    TrialOutcome,
    best_params,
    make_pruner,
    open_study,
    optimize,
    record_proposal,
    suggest,
    tuner_counts,
)
from benchmark.tuning.trials import budget_used

COMBO = Combination("t", 1, ("a", "b"), "concat")


@pytest.fixture
def storage(tmp_path):
    return JournalStorage(JournalFileBackend(str(tmp_path / "optuna.journal")))


def test_budget_is_exact_and_failures_with_a_reason_count(storage):
    config = TuningConfig(trials=5)
    study, _ = open_study(storage, COMBO, config, make_pruner(config, 20))
    outcomes = iter([TrialOutcome(value=0.5), TrialOutcome(fail_reason="oom"), TrialOutcome(pruned=True)])
    finished = list(optimize(study, 5, lambda trial: next(outcomes, TrialOutcome(value=0.7))))
    assert [t.state for t in finished] == [
        TrialState.COMPLETE,
        TrialState.FAIL,
        TrialState.PRUNED,
        TrialState.COMPLETE,
        TrialState.COMPLETE,
    ]
    assert finished[1].user_attrs["fail_reason"] == "oom"
    assert budget_used(study) == 5
    assert list(optimize(study, 5, lambda trial: TrialOutcome(value=1.0))) == []  # nothing more to do


def test_the_shared_default_is_trial_0_then_random_then_the_model(storage):
    config = TuningConfig(trials=5)
    space = {**DEFAULT_SPACE, "lr": ParamSpec("float", 1e-4, 5e-4, log=True)}  # 1e-3 is out of range
    default = default_configuration(space)
    assert default == {
        "lr": 5e-4,
        "weight_decay": 1e-4,
        "width": 64,
        "dropout": 0.1,
    }  # clipped; fixed left out
    study, _ = open_study(storage, COMBO, config, make_pruner(config, 20), default=default)

    def objective(trial):
        record_proposal(study, trial, config)
        suggest(trial, space)
        return TrialOutcome(value=0.5 + 0.01 * trial.number)

    trials = list(optimize(study, 5, objective))
    assert {k: trials[0].params[k] for k in default} == pytest.approx(default)
    # TPE waits for 2 finished trials (the default among them), then its model proposes
    assert [t.user_attrs[PROPOSAL] for t in trials] == ["default", "random", "model", "model", "model"]
    assert tuner_counts(study) == {"default": 1, "random": 1, "model": 3, "pruned": 0}


def test_non_finite_scores_fail_instead_of_completing(storage):
    config = TuningConfig(trials=1)
    study, _ = open_study(storage, COMBO, config, make_pruner(config, 20))
    (trial,) = optimize(study, 1, lambda t: TrialOutcome(value=float("inf")))
    assert trial.state == TrialState.FAIL and trial.user_attrs["fail_reason"] == "non_finite_score"


def test_an_interrupted_trial_is_closed_and_does_not_use_budget(storage):
    config = TuningConfig(trials=2)
    study, _ = open_study(storage, COMBO, config, make_pruner(config, 20))

    def interrupted(trial):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        list(optimize(study, 2, interrupted))
    (trial,) = study.trials
    assert trial.state == TrialState.FAIL and trial.user_attrs["fail_reason"] == "interrupted"
    assert budget_used(study) == 0
    assert len(list(optimize(study, 2, lambda t: TrialOutcome(value=0.1)))) == 2


def test_sweep_closes_trials_a_killed_worker_left_running(storage):
    config = TuningConfig(trials=2)
    study, _ = open_study(storage, COMBO, config, make_pruner(config, 20))
    study.ask()  # a worker asked for a trial, then died
    assert budget_used(study) == 1
    assert len(sweep_interrupted(storage)) == 1
    reloaded = optuna.load_study(study_name=COMBO.study_name, storage=storage)
    assert reloaded.trials[0].state == TrialState.FAIL
    assert budget_used(reloaded) == 0


def test_search_space_and_best_params(storage):
    space = dict(
        DEFAULT_SPACE,
        width=ParamSpec("fixed", choices=(48,)),
        dropout=ParamSpec("categorical", choices=(0.0, 0.2)),
    )
    config = TuningConfig(trials=6, space=space)
    study, _ = open_study(storage, COMBO, config, make_pruner(config, 20))
    assert best_params(study, space) is None
    seen = []

    def objective(trial):
        params = suggest(trial, space)
        seen.append(params)
        return TrialOutcome(value=-abs(params["lr"] - 1e-3))

    list(optimize(study, 6, objective))
    assert all(p["width"] == 48 and p["dropout"] in (0.0, 0.2) and 1e-4 <= p["lr"] <= 1e-2 for p in seen)
    best = best_params(study, space)
    assert best["width"] == 48 and best["lr"] == min(seen, key=lambda p: abs(p["lr"] - 1e-3))["lr"]


def test_same_seed_same_trials_and_study_names_are_readable(tmp_path):
    def sampled(path):
        config = TuningConfig(trials=3, seed=11)
        study, _ = open_study(
            JournalStorage(JournalFileBackend(str(path))), COMBO, config, make_pruner(config, 20)
        )
        list(optimize(study, 3, lambda t: TrialOutcome(value=suggest(t, DEFAULT_SPACE)["lr"])))
        return [t.params for t in study.trials], study.study_name

    first, name = sampled(tmp_path / "a.journal")
    assert sampled(tmp_path / "b.journal")[0] == first
    assert name.startswith("t/d1/a+b/concat#")


def test_a_combination_tunes_the_same_in_any_worker_and_two_combinations_differ(tmp_path):
    """The sampler's seed comes from the study seed and the combination, not the worker running it:
    which worker takes a combination (the schedule, the worker count) does not change its results."""
    config = TuningConfig(trials=3, seed=11, sampler="random")
    other = Combination("t", 1, ("a", "b"), "gated")

    def proposals(combination: Combination, name: str) -> list[dict]:
        storage = JournalStorage(JournalFileBackend(str(tmp_path / f"{name}.journal")))
        study, _ = open_study(storage, combination, config, make_pruner(config, 20))
        list(optimize(study, 3, lambda t: TrialOutcome(value=suggest(t, DEFAULT_SPACE)["lr"])))
        return [t.params for t in study.trials]

    assert proposals(COMBO, "worker0") == proposals(COMBO, "worker1")
    assert proposals(other, "other") != proposals(COMBO, "again")


@pytest.mark.parametrize("pruner", ["median", "successive_halving", "hyperband"])
def test_every_pruner_stops_losing_trials_on_epochs_and_keeps_the_exact_budget(storage, pruner):
    """Epochs are the resource: a trial reports one score per epoch through ``pruning_callback``; the
    clearly worse ones are stopped early, and pruned trials count against the budget like any other."""
    from benchmark.tuning.search import pruning_callback

    config = TuningConfig(trials=12, pruner=pruner, sampler="random")
    study, _ = open_study(storage, COMBO, config, make_pruner(config, 27))
    epochs_run = []

    def objective(trial):
        quality = suggest(trial, DEFAULT_SPACE)["dropout"]  # a made-up score curve per configuration
        report = pruning_callback(trial)
        for epoch in range(1, 28):
            if report(epoch, quality * (1 - 0.5**epoch)):
                epochs_run.append(epoch)
                return TrialOutcome(pruned=True)
        epochs_run.append(27)
        return TrialOutcome(value=quality)

    finished = list(optimize(study, 12, objective))
    assert len(finished) == 12 and budget_used(study) == 12
    pruned = [t for t in finished if t.state == TrialState.PRUNED]
    assert pruned, f"{pruner} pruned nothing"
    assert sum(epochs_run) < 12 * 27  # fewer epochs than without pruning
    best = max((t for t in finished if t.state == TrialState.COMPLETE), key=lambda t: t.value)
    assert best.params["dropout"] == max(t.params["dropout"] for t in finished)  # the best is never pruned
    assert list(optimize(study, 12, objective)) == []


def test_an_unknown_pruner_is_a_one_line_error_naming_the_choices():
    from benchmark.errors import ConfigError
    from benchmark.studies import load_study

    with pytest.raises(
        ConfigError, match="tuning.pruner must be one of median, successive_halving, hyperband, none"
    ):
        load_study("smoke", ["tuning.pruner=asha"])
