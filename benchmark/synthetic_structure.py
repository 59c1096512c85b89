"""What each synthetic generator builds, in the interaction profile's terms.

Torch-free, so the report can read it without importing the generators (``tasks/synthetic.py``
builds the data; this module states what that data holds).

The Bayes ceiling of every modality subset, logged with each run, gives the built ``alone`` and
``drop_one_loss`` entries exactly. ``redundancy`` and ``synergy`` also need the best accuracy a model
without interactions (summed per-modality scores) can reach on the full set, which the subset ceilings
do not give. The generator's design does, for two structures:

- redundancy, uniqueness: the modalities are independent given the label (on test, uniqueness's
  distractors are independent of everything), so the Bayes rule is a sum of per-modality
  log-likelihoods: the additive model can reach the full set's ceiling and the built synergy is 0;
- synergy, mixed: the label holds the parity of bits in different modalities, which no sum of
  per-modality scores computes (a sum reaches at most 3 of the 4 bit pairs: not chance, but below
  the Bayes rule): the built synergy is above 0, by an amount the ceilings do not give.
"""

from __future__ import annotations

# Structure -> whether its full-set Bayes rule is additive in the modalities.
ADDITIVE_BAYES_RULE = {"redundancy": True, "uniqueness": True, "synergy": False, "mixed": False}
PREFIX = "synth-"


def structure_of(task: str) -> str | None:
    """The generator structure of a synthetic task's name ("synth-mixed" -> "mixed"), else None."""
    structure = task.removeprefix(PREFIX)
    return structure if task.startswith(PREFIX) and structure in ADDITIVE_BAYES_RULE else None
