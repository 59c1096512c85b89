"""Trial states and the Optuna internals the suite needs, in one place.

A trial fails with a reason (``user_attrs["fail_reason"]``): ``non_finite_loss`` / ``oom`` / an error are
real outcomes of a configuration and use budget; ``interrupted`` (the worker was stopped or killed) and
``over_budget`` (asked after the budget filled) do not, and are redone or dropped.
"""

from __future__ import annotations

from typing import Any

import optuna
from optuna.storages._heartbeat import BaseHeartbeat, is_heartbeat_enabled  # not re-exported
from optuna.trial import FrozenTrial, TrialState

FAIL_ATTR = "fail_reason"
INTERRUPTED = "interrupted"
OVER_BUDGET = "over_budget"
NOT_COUNTED = (INTERRUPTED, OVER_BUDGET)


def uses_budget(trial: FrozenTrial) -> bool:
    if trial.state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING):
        return True
    return trial.state == TrialState.FAIL and trial.user_attrs.get(FAIL_ATTR) not in (None, *NOT_COUNTED)


def budget_used(study: optuna.Study) -> int:
    """Trials that count against ``tuning.trials``: finished ones, real failures, and ones running now."""
    return sum(uses_budget(t) for t in study.get_trials(deepcopy=False))


# ---- Optuna internals, in one place ---------------------------------------------------------------------
# The public API has no way to (a) close a trial of another, dead process (``Study.tell`` only takes
# trials of this process's ``ask``), (b) read a study attribute without loading every trial
# (``Study.user_attrs`` does), (c) record a heartbeat for a trial we run outside ``Study.optimize``, or
# (d) read the fixed parameters an enqueued trial was created with before ``suggest`` is called. Those
# four need the storage and the internal ids; every use goes through these functions.


def storage_of(study: optuna.Study) -> optuna.storages.BaseStorage:
    return study._storage


def heartbeat_storage(study: optuna.Study) -> BaseHeartbeat | None:
    """The study's storage if it records heartbeats. Optuna wraps an RDBStorage in a caching layer
    (``_CachedStorage``), so the test is for the heartbeat interface, never for RDBStorage itself."""
    storage = storage_of(study)
    return storage if isinstance(storage, BaseHeartbeat) and is_heartbeat_enabled(storage) else None


def trial_id(trial: optuna.Trial | FrozenTrial) -> int:
    return trial._trial_id


def study_attr(study: optuna.Study, key: str) -> Any:
    return storage_of(study).get_study_user_attrs(study._study_id).get(key)


def close_as_interrupted(storage: optuna.storages.BaseStorage, trial: FrozenTrial) -> None:
    storage.set_trial_user_attr(trial_id(trial), FAIL_ATTR, INTERRUPTED)
    storage.set_trial_state_values(trial_id(trial), state=TrialState.FAIL)


def fail_trial(study: optuna.Study, trial: optuna.Trial, reason: str) -> FrozenTrial:
    trial.set_user_attr(FAIL_ATTR, reason)
    return study.tell(trial, state=TrialState.FAIL)
