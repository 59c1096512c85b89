"""Text to token ids: a lower-case word tokenizer and a vocabulary built from the train split only."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence

import torch

PAD, UNKNOWN = 0, 1
_WORD = re.compile(r"[a-z0-9']+")


def tokenize(text: str | None) -> list[str]:
    """Missing text (None / NaN) is an empty token list, never dropped."""
    if not isinstance(text, str):
        return []
    return _WORD.findall(text.lower())


def build_vocabulary(
    token_lists: Iterable[Sequence[str]], max_size: int, min_count: int = 2
) -> dict[str, int]:
    """Most frequent tokens first (ties alphabetical, so it is deterministic); ids 0 and 1 are reserved."""
    counts = Counter(token for tokens in token_lists for token in tokens)
    ranked = sorted((t for t, c in counts.items() if c >= min_count), key=lambda t: (-counts[t], t))
    return {token: i + 2 for i, token in enumerate(ranked[: max_size - 2])}


def encode(token_lists: Sequence[Sequence[str]], vocabulary: dict[str, int], max_len: int) -> torch.Tensor:
    """(N, max_len) int64 ids: truncated, padded with 0, unknown words as 1."""
    ids = torch.full((len(token_lists), max_len), PAD, dtype=torch.long)
    for row, tokens in enumerate(token_lists):
        encoded = [vocabulary.get(t, UNKNOWN) for t in tokens[:max_len]]
        if encoded:
            ids[row, : len(encoded)] = torch.tensor(encoded)
    return ids
