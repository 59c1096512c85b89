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
TRIAL_PROPOSAL = TAG + "proposal"  # of a trial: default | random | model (tuning/search.record_proposal)
TUNER = TAG + "tuner"  # of a combination: "default=1,random=1,model=2,pruned=0" over its budgeted trials

# ---- how it went ---------------------------------------------------------------------------------------
STATUS = TAG + "status"  # of a combination: finished | failed
FAIL_REASON, STOP_REASON, TRIAL_STATE = TAG + "fail_reason", TAG + "stop_reason", TAG + "trial_state"
GPU_MEMORY = TAG + "gpu_memory"  # why GPU memory was not measured, where it was not
WORKER, PID = TAG + "worker", TAG + "pid"

# ---- where it ran (every run) ----------------------------------------------------------------------------
ENVIRONMENT = (
    "device",
    "device_name",
    "threads",
    "version",
    "git_revision",
    "torch_version",
    "python_version",
    "host",
)


def environment_tag(name: str) -> str:
    """The tag of one of ``ENVIRONMENT``."""
    return TAG + name


# ---- metrics ------------------------------------------------------------------------------------------
# A score (a name in scores.REGISTRY) is logged as <split><score>; the built-in three are named here.
VAL, TEST = "val/", "test/"
TEST_ACCURACY, TEST_RECALL, TEST_F1 = TEST + "accuracy", TEST + "recall_macro", TEST + "f1_macro"
CEILING = "ceiling/bayes_accuracy"  # synthetic tasks: the Bayes-optimal test accuracy of the modality subset

ROBUST = "robust/"  # robustness metrics (robustness.py)
# + <modality>/<score>: scored with that modality's train-mean embedding standing in
MISSING = ROBUST + "missing/"
# + <modality>/<level>/<score>, and <modality>/retention: that modality corrupted (Gaussian noise; tokens replaced)
NOISE = ROBUST + "noise/"
NOISE_RETENTION = ROBUST + "noise_retention"  # mean retention over modalities

# What a run cost and how training went (experiment.Measurement)
PARAMETERS = "model/parameters"
# the fusion head alone (what combines the encoders' embeddings and classifies): capacity beside a score
FUSION_PARAMETERS = "model/fusion_parameters"
EPOCHS, BEST_EPOCH = "train/epochs", "train/best_epoch"
TIME = "time/"  # + <category>_s: the session's wall time by category (timing.CATEGORIES)
TRAIN_SECONDS, EVAL_SECONDS = TIME + "train_s", TIME + "eval_s"
EPOCH_LOSS, EPOCH_VAL = "epoch/train_loss", "epoch/val_"  # a trial's history per epoch (+ tuning metric)

# The memory one final run adds (metrics.RunMemory): above what the process held when the run started.
MEMORY = "memory/"
CPU_MEMORY_MB = MEMORY + "cpu_added_mb"
GPU_MEMORY_MB, GPU_RESERVED_MB = MEMORY + "gpu_added_mb", MEMORY + "gpu_reserved_added_mb"

# ---- artifacts, saved models and the latency pass (latency.py) ------------------------------------------
PREDICTIONS = "predictions.npz"  # artifact of every final-seed run: test labels and predictions
MODEL = "model"  # artifact folder of a saved MLflow model (the first ``latency.seeds`` final seeds)
PREDICTOR = "predictor"  # beside it, for a task built from a table: a pyfunc model scoring raw rows
MODEL_FLAVOR = TAG + "model_flavor"  # pytorch | sklearn: which mlflow.<flavor>.load_model loads it
LATENCY = "latency/"
LATENCY_P50, LATENCY_P95 = LATENCY + "p50_ms", LATENCY + "p95_ms"  # one sample at a time
LATENCY_BATCH_P50, LATENCY_BATCH_P95 = LATENCY + "batch_p50_ms", LATENCY + "batch_p95_ms"  # one eval batch
LATENCY_PER_SAMPLE = LATENCY + "batch_ms_per_sample"  # the batch's median over its samples
LATENCY_LOAD = LATENCY + "load_1m"  # the host's 1-minute load average when the latency was measured
OTHER_BUSY = LATENCY + "other_busy_cores"  # cores other processes kept busy while a model was timed

# ---- a combination's own metrics: its final seeds aggregated -------------------------------------------
AGGREGATED = (VAL, TEST, ROBUST, LATENCY, MEMORY, "model/", TIME, "train/", "ceiling/")  # these prefixes
FINAL_SEEDS = "final/seeds"  # how many final seeds the aggregate is over
BEST_VAL = "tuning/best_val_"  # + tuning metric: the best trial's validation score
MEAN, STD = "_mean", "_std"  # suffixes: <metric>_mean, <metric>_std (also the report's summary columns)


def mean_of(metric: str) -> str:
    """The combination's mean of ``metric`` over its final seeds."""
    return metric + MEAN


def std_of(metric: str) -> str:
    return metric + STD
