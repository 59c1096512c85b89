"""Classical reference models (``ref_*``): the floor a neural fusion must clear, on the same split.

Importing this package registers them all.
"""

from benchmark.references import gbdt, logreg  # noqa: F401  (registration side effects)
from benchmark.references.base import (
    REFERENCE_PREFIX,
    REFERENCES,
    Reference,
    is_reference,
    register_reference,
)

__all__ = ["REFERENCES", "REFERENCE_PREFIX", "Reference", "is_reference", "register_reference"]
