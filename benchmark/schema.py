"""The names a study's records are written and read by, defined once: MLflow tags, run kinds, metric
names and artifacts. The runner and the tracker write them, the report reads them; renaming one here
renames it everywhere.
"""

from __future__ import annotations

TAG = "benchmark."  # every tag the suite writes starts with this

# ---- what a run is ------------------------------------------------------------------------------------
KIND = TAG + "kind"  # one of the run kinds below
COMBINATION_RUN, TRIAL_RUN, FINAL_RUN, SESSION_RUN = "combination", "trial", "final", "session"
PARENT = "mlflow.parentRunId"  # MLflow's own: a trial or final run under its combination

# ---- which grid cell ------------------------------------------------------------------------------------
TASK, DEPTH, MODALITIES, FUSION, SPLIT = (TAG + n for n in ("task", "depth", "modalities", "fusion", "split"))
COMBINATION_ID = TAG + "combination_id"
CELL_ID = (
    TAG + "cell_id"
)  # shared by the splits of one grid cell (equal to the combination id with one split)
STUDY, OPTUNA_STUDY = TAG + "study", TAG + "optuna_study"
OPTUNA_TRIAL = TAG + "optuna_trial"  # "<optuna study>/<trial number>" of a trial or final-seed run
TRIAL, SEED = TAG + "trial", TAG + "seed"

# ---- how it went ---------------------------------------------------------------------------------------
STATUS = TAG + "status"  # of a combination: finished | failed
FAIL_REASON, STOP_REASON, TRIAL_STATE = TAG + "fail_reason", TAG + "stop_reason", TAG + "trial_state"
GPU_MEMORY = TAG + "gpu_memory"  # why GPU memory was not measured, where it was not
WORKER, PID = TAG + "worker", TAG + "pid"

# ---- where it ran (every run) ----------------------------------------------------------------------------
ENVIRONMENT = ("device", "device_name", "threads", "version", "git_revision", "torch_version", "python_version",
               "host")  # fmt: skip


def environment_tag(name: str) -> str:
    """The tag of one of ``ENVIRONMENT``."""
    return TAG + name


# ---- metrics and artifacts ------------------------------------------------------------------------------
ROBUST = "robust/"  # robustness metrics (robustness.py)
MISSING = ROBUST + "missing/"
CEILING = "ceiling/bayes_accuracy"  # synthetic tasks: the Bayes-optimal test accuracy of the modality subset
PREDICTIONS = "predictions.npz"  # artifact of every final-seed run: test labels and predictions

# The memory one final run adds (metrics.RunMemory): above what the process held when the run started.
CPU_MEMORY_MB = "memory/cpu_added_mb"
GPU_MEMORY_MB, GPU_RESERVED_MB = "memory/gpu_added_mb", "memory/gpu_reserved_added_mb"

# ---- saved models and the latency pass (latency.py) ------------------------------------------------------
MODEL = "model"  # artifact folder of a saved MLflow model (the first ``latency.seeds`` final seeds)
MODEL_FLAVOR = TAG + "model_flavor"  # pytorch | sklearn: which mlflow.<flavor>.load_model loads it
LATENCY = "latency/"
LATENCY_LOAD = LATENCY + "load_1m"  # the host's 1-minute load average when the latency was measured
