"""Tasks: register a factory with ``@TASKS.register(name)``; importing this package registers all."""

from benchmark.tasks import (  # noqa: F401  (registers the tasks)
    basic_motions,
    birds,
    clothing,
    custom,
    mfeat,
    movielens,
    nutrimouse,
    synthetic,
    watch,
)
from benchmark.tasks.base import SPLITS, TASKS, Fold, ModalitySpec, Split, Task, build_task, task_parameters

__all__ = ["SPLITS", "TASKS", "Fold", "ModalitySpec", "Split", "Task", "build_task", "task_parameters"]
