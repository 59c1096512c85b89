"""MLflow, in two modules: ``writer`` (the Tracker the engine records through) and ``reader`` (what the
report reads back). The only package that imports mlflow.
"""

import logging

import mlflow  # noqa: F401 - imported first: it configures its loggers on import, which we then quiet

# Its INFO lines (schema creation, migrations) would
# interleave with the progress bar.
for noisy in ("mlflow", "alembic"):
    logging.getLogger(noisy).setLevel(logging.WARNING)
# It logs the traceback of every database error before raising it; the raised error is handled (a full
# disk is one line, disk_space.py) or shown by whoever meets it, so the log would only repeat it.
logging.getLogger("mlflow.store.db.utils").setLevel(logging.CRITICAL)
# Saving a model warns that pickles execute code when loaded (we load only our own runs' models) and
# that a "+cpu"/"+cu130" local version differs from the pinned requirement.
for noisy in ("mlflow.pytorch", "mlflow.sklearn", "mlflow.utils.requirements_utils", "mlflow.models.model"):
    logging.getLogger(noisy).setLevel(logging.ERROR)
