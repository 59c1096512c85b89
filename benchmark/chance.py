"""The floor a score is measured from: the best score a prediction that ignores the inputs can reach.
numpy only, so the report (which never imports torch) and the robustness pass share one definition."""

from __future__ import annotations

import numpy as np


def chance_scores(y_true: np.ndarray, num_classes: int) -> dict[str, float]:
    """The best expected score of a predictor that ignores its inputs (a constant, or a random draw
    from any class distribution q), on these labels. Accuracy is sum_c q_c p_c, highest for the
    majority class (its share); macro recall is 1 / num_classes for every q. For macro F1 class c has
    precision p_c and recall q_c, F1_c = 2 p_c q_c / (p_c + q_c), concave in q with its maximum at
    q = p (guessing by the priors), where macro F1 = sum_c p_c / num_classes = 1 / num_classes; a
    constant reaches only 2 p_max / (1 + p_max) / num_classes (0.33 against 0.5 on two balanced classes),
    so a model that has learned nothing would otherwise appear to beat chance."""
    counts = np.bincount(np.asarray(y_true, dtype=np.int64), minlength=num_classes)
    share = float(counts.max() / max(1, counts.sum()))
    return {
        "accuracy": share,
        "recall_macro": 1.0 / num_classes,
        "f1_macro": 1.0 / num_classes,
    }
