"""Bag-of-n-grams encoder for token modalities (the fastText recipe, Joulin et al. 2017): the mean of
word embeddings and of hashed word-bigram embeddings, then ``depth - 1`` hidden layers.

Order inside a text matters little for review sentiment; what a convolution over a short window buys,
bigrams mostly buy too, at a fraction of the cost.

Initialisation (as fastText's): word vectors start small (uniform in +-1/width), not N(0, 1), so the
first steps move them rather than fight them; bigram vectors start at zero, so a bucket that no
training text filled stays zero (Adam gives a never-seen row no update) and adds nothing at test, where
N(0, 1) rows added a random vector per unseen bigram to the mean.
"""

from __future__ import annotations

import torch
from torch import nn

from benchmark.encoders.base import register_encoder
from benchmark.tasks.base import ModalitySpec

PAD_TOKEN = 0
BIGRAM_BUCKETS = 2**15  # hashed bigram ids share this many embeddings (collisions are rare enough)
_HASH_PRIME = 1_000_003


class BagOfNgramsEncoder(nn.Module):
    def __init__(self, spec: ModalitySpec, *, depth: int, width: int, dropout: float) -> None:
        super().__init__()
        if not spec.vocab_size:
            raise ValueError(f"token modality {spec.name!r} needs a vocab_size")
        self.vocab_size = spec.vocab_size
        # ids: 0 padding, [1, vocab) words, [vocab, vocab + buckets) bigrams; the mean skips padding
        self.embed = nn.EmbeddingBag(
            spec.vocab_size + BIGRAM_BUCKETS, width, mode="mean", padding_idx=PAD_TOKEN
        )
        with torch.no_grad():
            self.embed.weight.uniform_(-1.0 / width, 1.0 / width)
            self.embed.weight[PAD_TOKEN].zero_()
            self.embed.weight[spec.vocab_size :].zero_()
        layers: list[nn.Module] = [nn.Dropout(dropout)]
        for _ in range(depth - 1):
            layers += [nn.Linear(width, width), nn.GELU(), nn.Dropout(dropout)]
        self.net = nn.Sequential(*layers)
        self.out_dim = width

    def ngram_ids(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T) word ids -> (B, 2T - 1) word and hashed-bigram ids, padding where either word is."""
        left, right = x[:, :-1], x[:, 1:]
        hashed = (left * _HASH_PRIME + right) % BIGRAM_BUCKETS + self.vocab_size
        bigrams = torch.where((left != PAD_TOKEN) & (right != PAD_TOKEN), hashed, PAD_TOKEN)
        return torch.cat([x, bigrams], dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, T) token ids -> (B, width)
        return self.net(self.embed(self.ngram_ids(x)))  # an empty text pools to zeros


@register_encoder("bag", kinds={"tokens"}, default_for={"tokens"})
def bag(spec: ModalitySpec, *, depth: int, width: int, dropout: float) -> nn.Module:
    return BagOfNgramsEncoder(spec, depth=depth, width=width, dropout=dropout)
