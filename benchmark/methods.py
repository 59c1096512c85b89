"""Network or reference model: the one place a grid cell's method kind is decided. A reference model's
name starts with ``ref_`` (register_reference checks); everything else is a network (encoders and a
fusion method, or one encoder alone). Torch-free and imports nothing of the suite, so the grid, the
report and config validation can ask; trainers.py turns the answer into how the method is tuned and
trained.
"""

from __future__ import annotations

REFERENCE_PREFIX = "ref_"  # every reference model's name starts with it (register_reference checks)
REFERENCE_DEPTH = 0  # the depth a reference model's combinations carry: encoder depth does not apply


def is_reference(name: str) -> bool:
    """By name, so a report recognises reference rows of a store even without their registration."""
    return name.startswith(REFERENCE_PREFIX)


def uses_depth(name: str) -> bool:
    """Whether encoder depth applies: a network runs at every depth of the grid, a reference model once
    per (task, modality subset) at ``REFERENCE_DEPTH``."""
    return not is_reference(name)
