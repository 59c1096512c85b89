"""Early-fused features for the reference models, fitted on the train split only.

Per modality (names sorted, never by position): vectors and images are flattened and standardised
with train statistics; sequences become MiniRocket features (Dempster et al., 2021: about 10,000
proportions of positive values of random dilated convolutions, shift-invariant, from the maintained
``aeon`` library; fitted on the train series), then standardised the same way, so the floor on a
sequence modality is the time-series literature's strong one rather than a linear model on raw,
time-aligned values; token modalities become TF-IDF over word 1-2-grams of their token ids
(vocabulary and idf from train rows only), reduced by a truncated SVD fitted on train when the model
needs dense input. The blocks are concatenated side by side.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch

from benchmark.tasks import ModalitySpec
from benchmark.tasks.text import PAD

SVD_COMPONENTS = 100  # dense view of a token modality (gradient boosting cannot take sparse TF-IDF)
MINIROCKET_MIN_LENGTH = 9  # MiniRocket's kernels have length 9; a shorter series is flattened instead
# The dense view is for tree models, whose every node scans every feature (feature subsampling does not
# cut the histograms): gradient boosting on MiniRocket's default 10,000 features took 5 minutes per fit
# on synth-mixed (600 rows, 8 classes), so trees get 840 features (10 per MiniRocket base kernel and
# dilation set), the sparse view (logistic regression) the full 10,000.
DENSE_MINIROCKET_FEATURES = 840


class SequenceFeatures:
    """MiniRocket on (N, T, C) series (aeon takes (N, C, T)), one thread: workers run side by side."""

    def __init__(self, seed: int, n_features: int = 10_000) -> None:
        from aeon.transformations.collection.convolution_based import MiniRocket

        self.transform_ = MiniRocket(n_kernels=n_features, random_state=seed, n_jobs=1)

    @staticmethod
    def applies(x: torch.Tensor) -> bool:
        return x.ndim == 3 and x.shape[1] >= MINIROCKET_MIN_LENGTH

    @staticmethod
    def _series(x: torch.Tensor) -> np.ndarray:
        return x.transpose(1, 2).double().cpu().numpy()

    def fit(self, x: torch.Tensor) -> SequenceFeatures:
        with _torch_threads_kept():
            self.transform_.fit(self._series(x))
        return self

    def __call__(self, x: torch.Tensor) -> np.ndarray:
        with _torch_threads_kept():
            return np.asarray(self.transform_.transform(self._series(x)), dtype=np.float64)


@contextmanager
def _torch_threads_kept() -> Iterator[None]:
    """MiniRocket runs on numba, whose OpenMP threading layer shares torch's libgomp: setting its own
    thread count back after a call (to every core) set torch's too. A worker of one thread then trained
    on every core, two workers oversubscribed two cores, and a study with a series modality and a
    reference model ran several times slower from its first reference fit on. Torch's count is put back."""
    threads = torch.get_num_threads()
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def token_documents(ids: torch.Tensor) -> list[str]:
    """(N, T) token ids -> one whitespace-joined document per row, padding dropped."""
    rows = ids.cpu().numpy()
    return [" ".join(str(t) for t in row[row != PAD]) for row in rows]


@dataclass
class FeatureBuilder:
    """``fit(train inputs)`` then ``transform(inputs)`` -> (N, F) features."""

    specs: dict[str, ModalitySpec]
    dense: bool
    seed: int = 0  # of the truncated SVD; fixed, so the features depend on the train split alone

    def fit(self, inputs: dict[str, torch.Tensor]) -> FeatureBuilder:
        from sklearn.decomposition import TruncatedSVD
        from sklearn.feature_extraction.text import TfidfVectorizer

        self._fitted: dict[str, Any] = {}
        for name in sorted(self.specs):
            if self.specs[name].kind == "tokens":
                vectorizer = TfidfVectorizer(
                    token_pattern=r"\S+", ngram_range=(1, 2), min_df=2, sublinear_tf=True
                )
                matrix = vectorizer.fit_transform(token_documents(inputs[name]))
                svd = None
                if self.dense:
                    components = min(SVD_COMPONENTS, matrix.shape[1] - 1)
                    svd = TruncatedSVD(components, random_state=self.seed).fit(matrix)
                self._fitted[name] = (vectorizer, svd)
            else:
                sequence = None
                if self.specs[name].kind == "sequence" and SequenceFeatures.applies(inputs[name]):
                    features = DENSE_MINIROCKET_FEATURES if self.dense else 10_000
                    sequence = SequenceFeatures(self.seed, features).fit(inputs[name])
                flat = self._dense(inputs[name], sequence)
                mean, std = flat.mean(axis=0), flat.std(axis=0)
                self._fitted[name] = (mean, np.where(std > 0, std, 1.0), sequence)
        return self

    @staticmethod
    def _dense(x: torch.Tensor, sequence: SequenceFeatures | None) -> np.ndarray:
        return sequence(x) if sequence is not None else x.reshape(len(x), -1).double().cpu().numpy()

    def transform(self, inputs: dict[str, torch.Tensor]) -> np.ndarray | sp.csr_matrix:
        blocks = []
        for name in sorted(self.specs):
            if self.specs[name].kind == "tokens":
                vectorizer, svd = self._fitted[name]
                matrix = vectorizer.transform(token_documents(inputs[name]))
                blocks.append(svd.transform(matrix) if svd is not None else matrix)
            else:
                mean, std, sequence = self._fitted[name]
                blocks.append((self._dense(inputs[name], sequence) - mean) / std)
        if any(sp.issparse(b) for b in blocks):
            return sp.hstack([sp.csr_matrix(b) for b in blocks], format="csr")
        return np.hstack(blocks)
