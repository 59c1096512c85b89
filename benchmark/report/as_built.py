"""The interaction profile on synthetic tasks, held against what the generator built.

A synthetic task's entries have a built counterpart (``interactions._Built``): its sign says whether
the generator put that kind of information there. The measured entry agrees when its 95 % interval
says the same: above 0 where something was built, reaching the practical zero band where nothing was.
Where it does not, the entry measures the models, not the task, and the findings say which way.
"""

from __future__ import annotations

import math

import pandas as pd

# |entry| at most this much is "nothing": the profile's practical zero (in score units; one test sample
# in 50 on a small task), for the built values and for the measured intervals alike.
ZERO_BAND = 0.02
POSITIVE, ZERO, NEGATIVE, UNKNOWN = "+", "0", "-", ""
AS_BUILT, NOT_AS_BUILT = "as built", "not as built"

# Entry -> (why a measured entry lies above what was built, why below).
_WHY = {
    "alone": (
        "above what the modality carries (test sampling)",
        "the unimodal network does not reach what its modality carries",
    ),
    "drop_one_loss": (
        "the fusion without this modality falls short of what the rest carry",
        "the fusion on the full set does not use what only this modality adds",
    ),
    "redundancy": (
        "the additive model falls short of what its modalities carry together",
        "the additive model gains more than the unimodal networks (they fall short)",
    ),
    "synergy": (
        "the additive model falls short of its ceiling (a shortcut or its training): this measures that "
        "shortfall, not an interaction",
        "no interaction-capable fusion captured the interaction the generator built",
    ),
}


def built_sign(value: float) -> str:
    if math.isnan(value):
        return UNKNOWN
    if abs(value) <= ZERO_BAND:
        return ZERO
    return POSITIVE if value > 0 else NEGATIVE


def verdict(sign: str, value: float, low: float, high: float) -> str:
    """Whether a measured entry (value, 95 % interval; NaN bounds: the value alone) agrees with the
    built ``sign``; "" where nothing was built to compare with or nothing was measured."""
    if sign == UNKNOWN or math.isnan(value):
        return ""
    low, high = (value, value) if math.isnan(low) else (low, high)
    agrees = {
        POSITIVE: low > 0,
        NEGATIVE: high < 0,
        ZERO: low <= ZERO_BAND and high >= -ZERO_BAND,
    }[sign]
    return AS_BUILT if agrees else NOT_AS_BUILT


def _direction(row) -> int:
    """+1 where the measured entry lies above what was built, -1 below."""
    if row.built_sign == POSITIVE:
        return -1
    if row.built_sign == NEGATIVE:
        return 1
    return 1 if row.value > 0 else -1


def _built_text(row) -> str:
    return "> 0" if math.isnan(row.built) else f"{row.built:+.3f}"


def as_built_lines(profile: pd.DataFrame) -> list[str]:
    """One findings line per synthetic task: how many entries agree with what its generator built,
    and each one that does not, with which way it errs and what that means."""
    checked = profile[profile["as_built"].isin([AS_BUILT, NOT_AS_BUILT])]
    lines = []
    for task, rows in checked.groupby("task", sort=True):
        off = rows[rows["as_built"] == NOT_AS_BUILT]
        line = f"Profile against what {task}'s generator built: {len(rows) - len(off)} of {len(rows)} entries as built"
        misses = []
        for row in off.itertuples():
            above, below = _WHY[row.entry]
            name = row.entry.replace("_", "-") + (f" {row.modality}" if row.modality else "")
            bracket = "" if math.isnan(row.ci_low) else f" [{row.ci_low:+.3f}, {row.ci_high:+.3f}]"
            misses.append(
                f"{name} {row.value:+.3f}{bracket} where the generator built "
                f"{_built_text(row)}: {above if _direction(row) > 0 else below}"
            )
        lines.append(line + ("; " + "; ".join(misses) if misses else "") + ".")
    return lines
