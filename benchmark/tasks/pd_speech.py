"""Parkinson's disease from sustained-vowel speech (``pd-speech``; Sakar et al., 2019).

252 subjects (the three recordings of each subject averaged, so no subject is in two parts); label
``class``: PD (188) or control (64). The modalities are the six feature families the authors computed
with different signal-processing methods and evaluated separately and together (like mfeat's views, they
come from one signal):
- ``baseline``: jitter, shimmer, pitch-period entropy, DFA, RPDE, harmonicity, pulses, and gender;
- ``time_freq``: intensity, formants f1-f4 and their bandwidths b1-b4 (11);
- ``vocal_fold``: glottal quotient, GNE, VFER and IMF features (22);
- ``mfcc``: mean and standard deviation of MFCCs, deltas and delta-deltas (84);
- ``wavelet``: wavelet energies, entropies and coefficients (182);
- ``tqwt``: tunable-Q wavelet features (432).
Left out: the row names.
"""

from __future__ import annotations

import pandas as pd

from benchmark.tasks.base import TASKS, Task
from benchmark.tasks.custom import build_table_task
from benchmark.tasks.rdata import read_member_table
from benchmark.tasks.tabular import require_columns

LABEL = "class"
TIME_FREQ = ("minIntensity", "maxIntensity", "meanIntensity", "f1", "f2", "f3", "f4", "b1", "b2", "b3", "b4")
PREFIXES = {
    "tqwt": ("tqwt_",),
    "wavelet": ("Ea", "Ed_", "Ed2_", "det_", "app_"),
    "mfcc": ("mean_", "std_"),
    "vocal_fold": ("GQ_", "GNE_", "VFER_", "IMF_"),
}


def family_of(column: str) -> str:
    if column in TIME_FREQ:
        return "time_freq"
    for family, prefixes in PREFIXES.items():
        if column.startswith(prefixes):
            return family
    return "baseline"


def pd_speech_modalities(frame: pd.DataFrame) -> dict[str, dict[str, list[str]]]:
    families: dict[str, list[str]] = {
        f: [] for f in ("baseline", "time_freq", "vocal_fold", "mfcc", "wavelet", "tqwt")
    }
    for column in frame.columns:
        if column != LABEL:
            families[family_of(column)].append(column)
    return {name: {"numeric": columns} for name, columns in families.items()}


def build_pd_speech(frame: pd.DataFrame, *, seed: int) -> Task:
    require_columns(frame, (LABEL, *TIME_FREQ), "pd-speech")
    return build_table_task(frame, LABEL, pd_speech_modalities(frame), seed, "pd-speech")


@TASKS.register("pd-speech")
def pd_speech(*, seed: int = 0, data_dir: str | None = None) -> Task:
    return build_pd_speech(read_member_table("pd-speech", data_dir), seed=seed)
