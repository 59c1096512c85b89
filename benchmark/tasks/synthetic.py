"""Synthetic multimodal tasks with known information structure (redundancy, uniqueness, synergy).

Every sample gets one discrete *code* per modality; a renderer turns codes into a vector, a
grayscale image or a multichannel sequence with Gaussian noise. How the label relates to the
codes decides which fusion methods can succeed:

- ``synth-redundancy``: every modality's code is the label; any single modality suffices.
- ``synth-uniqueness``: only the first modality's code is the label; the others are noise.
- ``synth-synergy``: each modality carries one random bit; the label is their parity (XOR),
  so no modality (nor any strict subset) says anything about the label alone.
- ``synth-mixed``: label = 4*r + 2*u + p with r redundant (in every modality), u unique to the
  first modality and p = b0 XOR b1, one bit in each of the first two modalities; 8 classes. The
  first modality alone reaches 50 %, the first two together 100 %.
"""

from __future__ import annotations

import math

import torch

from benchmark.tasks.base import TASKS, ModalitySpec, Split, Task, standardize

_KIND_CYCLE = ("vector", "image", "sequence")
_SHORT = {"vector": "vec", "image": "img", "sequence": "seq"}
VECTOR_DIM = 16
IMAGE_SIDE = 16
SEQ_LEN, SEQ_CHANNELS = 32, 3


def modality_layout(n_modalities: int) -> list[tuple[str, str]]:
    """Names and kinds: vec, img, seq, vec2, img2, seq2, ..."""
    if n_modalities < 2:
        raise ValueError(f"n_modalities must be at least 2, got {n_modalities}")
    layout = []
    for i in range(n_modalities):
        kind = _KIND_CYCLE[i % 3]
        suffix = "" if i < 3 else str(i // 3 + 1)
        layout.append((_SHORT[kind] + suffix, kind))
    return layout


def _render_vector(codes: torch.Tensor, n_codes: int, noise: float, g: torch.Generator) -> torch.Tensor:
    prototypes = torch.randn(n_codes, VECTOR_DIM, generator=g)  # (K, F), fixed per modality
    x = prototypes[codes]  # (N, F)
    return x + noise * torch.randn(x.shape, generator=g)


def _render_image(codes: torch.Tensor, n_codes: int, noise: float, g: torch.Generator) -> torch.Tensor:
    # Gratings: the code picks orientation (4 angles) and spatial frequency; the phase is random per
    # sample so the class lives in texture, not in any fixed pixel.
    n = codes.shape[0]
    angle = math.pi * (codes % 4).float() / 4  # (N,)
    freq = 0.15 + 0.12 * (codes // 4).float()  # cycles per pixel
    phase = 2 * math.pi * torch.rand(n, generator=g)
    v, u = torch.meshgrid(torch.arange(IMAGE_SIDE).float(), torch.arange(IMAGE_SIDE).float(), indexing="ij")
    proj = u[None] * torch.cos(angle)[:, None, None] + v[None] * torch.sin(angle)[:, None, None]  # (N, H, W)
    img = torch.cos(2 * math.pi * freq[:, None, None] * proj + phase[:, None, None])
    img = img + noise * torch.randn(img.shape, generator=g)
    return img.unsqueeze(1)  # (N, 1, H, W)


def _render_sequence(codes: torch.Tensor, n_codes: int, noise: float, g: torch.Generator) -> torch.Tensor:
    # Sinusoids whose frequency is set by the code; random phase per sample, fixed lag per channel.
    n = codes.shape[0]
    cycles = 2.0 + 1.5 * codes.float()  # cycles per sequence
    phase = 2 * math.pi * torch.rand(n, generator=g)
    t = torch.arange(SEQ_LEN).float() / SEQ_LEN
    lags = torch.arange(SEQ_CHANNELS).float() * (math.pi / 3)
    arg = 2 * math.pi * cycles[:, None, None] * t[None, :, None] + phase[:, None, None] + lags[None, None, :]
    seq = torch.sin(arg)  # (N, T, C)
    return seq + noise * torch.randn(seq.shape, generator=g)


_RENDERERS = {"vector": _render_vector, "image": _render_image, "sequence": _render_sequence}
_SHAPES = {"vector": (VECTOR_DIM,), "image": (1, IMAGE_SIDE, IMAGE_SIDE), "sequence": (SEQ_LEN, SEQ_CHANNELS)}


def _bits(n: int, g: torch.Generator) -> torch.Tensor:
    return torch.randint(0, 2, (n,), generator=g)


def _make_codes(structure: str, n: int, n_modalities: int, n_classes: int, g: torch.Generator):
    """Returns (labels (N,), codes per modality [(N,)], number of codes per modality)."""
    if structure == "redundancy":
        y = torch.randint(0, n_classes, (n,), generator=g)
        return y, [y] * n_modalities, [n_classes] * n_modalities
    if structure == "uniqueness":
        y = torch.randint(0, n_classes, (n,), generator=g)
        others = [torch.randint(0, n_classes, (n,), generator=g) for _ in range(n_modalities - 1)]
        return y, [y, *others], [n_classes] * n_modalities
    if structure == "synergy":
        bits = [_bits(n, g) for _ in range(n_modalities)]
        y = torch.stack(bits).sum(0) % 2
        return y, bits, [2] * n_modalities
    if structure == "mixed":
        r, u, b0, b1 = _bits(n, g), _bits(n, g), _bits(n, g), _bits(n, g)
        y = 4 * r + 2 * u + (b0 ^ b1)
        codes = [4 * r + 2 * u + b0, 2 * r + b1] + [r] * (n_modalities - 2)
        return y, codes, [8, 4] + [2] * (n_modalities - 2)
    raise ValueError(f"unknown structure {structure!r}")


def make_synthetic(
    structure: str, *, seed: int, n_samples: int, n_modalities: int, noise: float, n_classes: int
) -> Task:
    if n_samples < 30:
        raise ValueError(f"n_samples must be at least 30, got {n_samples}")
    if noise < 0:
        raise ValueError(f"noise must be non-negative, got {noise}")
    g = torch.Generator().manual_seed(seed)
    layout = modality_layout(n_modalities)
    labels, codes, n_codes = _make_codes(structure, n_samples, n_modalities, n_classes, g)
    inputs = {
        name: _RENDERERS[kind](code, k, noise, g)
        for (name, kind), code, k in zip(layout, codes, n_codes, strict=True)
    }
    specs = {name: ModalitySpec(name, kind, _SHAPES[kind]) for name, kind in layout}  # type: ignore[arg-type]
    # Samples are i.i.d., so a seeded permutation sliced 60/20/20 is a stratified split in expectation.
    order = torch.randperm(n_samples, generator=g)
    n_train, n_val = int(0.6 * n_samples), int(0.2 * n_samples)
    parts = {
        "train": order[:n_train],
        "val": order[n_train : n_train + n_val],
        "test": order[n_train + n_val :],
    }
    splits = {
        split: Split({name: x[idx].contiguous() for name, x in inputs.items()}, labels[idx].long())
        for split, idx in parts.items()
    }
    standardize(splits, specs)
    num_classes = {"synergy": 2, "mixed": 8}.get(structure, n_classes)
    return Task(name=f"synth-{structure}", modalities=specs, splits=splits, num_classes=num_classes)


@TASKS.register("synth-redundancy")
def synth_redundancy(*, seed: int = 0, n_samples: int = 2000, n_modalities: int = 3, noise: float = 2.0,
                     n_classes: int = 4) -> Task:  # fmt: skip
    return make_synthetic("redundancy", seed=seed, n_samples=n_samples, n_modalities=n_modalities, noise=noise,
                          n_classes=n_classes)  # fmt: skip


@TASKS.register("synth-uniqueness")
def synth_uniqueness(*, seed: int = 0, n_samples: int = 2000, n_modalities: int = 3, noise: float = 2.0,
                     n_classes: int = 4) -> Task:  # fmt: skip
    return make_synthetic("uniqueness", seed=seed, n_samples=n_samples, n_modalities=n_modalities, noise=noise,
                          n_classes=n_classes)  # fmt: skip


@TASKS.register("synth-synergy")
def synth_synergy(*, seed: int = 0, n_samples: int = 2000, n_modalities: int = 2, noise: float = 0.5) -> Task:
    return make_synthetic("synergy", seed=seed, n_samples=n_samples, n_modalities=n_modalities, noise=noise,
                          n_classes=2)  # fmt: skip


@TASKS.register("synth-mixed")
def synth_mixed(*, seed: int = 0, n_samples: int = 2000, n_modalities: int = 3, noise: float = 0.5) -> Task:
    return make_synthetic("mixed", seed=seed, n_samples=n_samples, n_modalities=n_modalities, noise=noise,
                          n_classes=8)  # fmt: skip
