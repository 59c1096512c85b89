"""Tasks: register a factory with ``@TASKS.register(name)``; importing this package registers all."""

from benchmark.tasks import (  # noqa: F401  (registers the tasks)
    ad_csf,
    basic_motions,
    birds,
    caravan,
    cells,
    clothing,
    custom,
    election_tweets,
    grants,
    gse7390,
    hepatic,
    leaf_flavia,
    mfeat,
    movielens,
    nutrimouse,
    pd_speech,
    synthetic,
    tcga_brca,
    watch,
    yeast,
)
from benchmark.tasks.base import SPLITS, TASKS, Fold, ModalitySpec, Split, Task, build_task, task_parameters

__all__ = ["SPLITS", "TASKS", "Fold", "ModalitySpec", "Split", "Task", "build_task", "task_parameters"]
