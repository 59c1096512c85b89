"""Early-fused features for the reference models, fitted on the train split only.

Per modality (names sorted, never by position): vectors, images and sequences are flattened and
standardised with train statistics; token modalities become TF-IDF over word 1-2-grams of their
token ids (vocabulary and idf from train rows only), reduced by a truncated SVD fitted on train when
the model needs dense input. The blocks are concatenated side by side.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch

from benchmark.tasks import ModalitySpec
from benchmark.tasks.text import PAD

SVD_COMPONENTS = 100  # dense view of a token modality (gradient boosting cannot take sparse TF-IDF)


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
                flat = inputs[name].reshape(len(inputs[name]), -1).double().cpu().numpy()
                mean, std = flat.mean(axis=0), flat.std(axis=0)
                self._fitted[name] = (mean, np.where(std > 0, std, 1.0))
        return self

    def transform(self, inputs: dict[str, torch.Tensor]) -> np.ndarray | sp.csr_matrix:
        blocks = []
        for name in sorted(self.specs):
            if self.specs[name].kind == "tokens":
                vectorizer, svd = self._fitted[name]
                matrix = vectorizer.transform(token_documents(inputs[name]))
                blocks.append(svd.transform(matrix) if svd is not None else matrix)
            else:
                mean, std = self._fitted[name]
                flat = inputs[name].reshape(len(inputs[name]), -1).double().cpu().numpy()
                blocks.append((flat - mean) / std)
        if any(sp.issparse(b) for b in blocks):
            return sp.hstack([sp.csr_matrix(b) for b in blocks], format="csr")
        return np.hstack(blocks)
