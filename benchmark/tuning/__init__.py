"""Optuna, in three modules: ``search`` (storage, studies, sampler, pruner, the trial budget; the only
``suggest_*`` caller), ``coordination`` (workers sharing one storage: elections, heartbeats, the
final-seed queue, dead trials) and ``trials`` (trial states and the Optuna internals both need).
"""

import warnings

import optuna

optuna.logging.set_verbosity(optuna.logging.WARNING)
# Heartbeats are marked experimental; the warning would print on every start of a shared study.
warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
# We drive trials with ask/tell and record heartbeats ourselves (coordination.heartbeat).
warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed to be used with Study.optimize")
