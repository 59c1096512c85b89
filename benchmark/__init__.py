"""Multimodal fusion benchmark: grid x Optuna tuning x multi-seed retraining, tracked in MLflow."""

__version__ = "0.1.0"
