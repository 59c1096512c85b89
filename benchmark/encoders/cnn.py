"""CNN encoder for image modalities (C x H x W): two paths side by side, then a projection.

- **Layout**: ``depth`` conv blocks, average pooled to a 4 x 4 grid. The grid keeps where things are: a
  global pool after one convolution throws away the layout that tells a 1 from a 7 (mfeat digits: 0.61
  with a global pool, see the README).
- **Texture energy**: the energy of learned filters of ``TEXTURE_KERNEL`` pixels, summed over every
  position of the image, log-scaled. A class that lives in texture at a random position or phase (the
  synthetic tasks' gratings) averages to zero in any fixed pixel, and under noise small convolutions
  do not see it: on ``synth-redundancy``'s image alone (Bayes accuracy 0.73 on fold 0) the layout path
  scores 0.22 macro F1, chance; with this path 0.66 (fold 0; 0.72 and 0.72 on folds 1 and 2), in about
  the same time (``bench/image_encoder.py``). It is computed in the Fourier domain: by Parseval, the
  summed squared responses of a linear convolution are the image's power spectrum weighted by each
  filter's, so a filter as large as the image costs no more than a small one. The energies are taken
  relative to the median power over the image's frequencies (its noise floor), so noise that raises every
  band alike moves them little; relative to the total power they lost 0.05 macro F1 on
  ``synth-redundancy``'s image (3 folds, 2 seeds: 0.624 against 0.672 for the median).
"""

from __future__ import annotations

import torch
from torch import nn

from benchmark.encoders.base import conv_channels, register_encoder
from benchmark.tasks.base import ModalitySpec

GRID = 4  # the pooled map is GRID x GRID (smaller maps are upsampled by the adaptive pool)
# The texture filters' side in pixels. On synth-redundancy's 16 x 16 images (fold 0, 2 seeds, test macro
# F1): 9 -> 0.57, 15 -> 0.63, 21 -> 0.66, 31 -> 0.67 (and slower).
TEXTURE_KERNEL = 21


class TextureEnergy(nn.Module):
    """(B, C, H, W) -> (B, channels): log of each learned filter's squared response summed over the full
    linear convolution with the image (zero padded), batch-normalised."""

    def __init__(self, in_channels: int, channels: int, height: int, width: int, kernel: int) -> None:
        super().__init__()
        self.size = (height + kernel - 1, width + kernel - 1)  # the full linear convolution: no wrap-around
        # initialised as a convolution of that size would be (uniform in +-1/sqrt(fan in))
        self.filters = nn.Parameter(nn.Conv2d(in_channels, channels, kernel, bias=False).weight.detach())
        # rfft2 keeps half the columns: each stands for itself and its mirror, except the zero frequency
        # column (and the Nyquist one, for an even size)
        columns = torch.full((self.size[1] // 2 + 1,), 2.0)
        columns[0] = 1.0
        if self.size[1] % 2 == 0:
            columns[-1] = 1.0
        self.register_buffer("columns", columns / (self.size[0] * self.size[1] * height * width))
        self.norm = nn.BatchNorm1d(channels)

    def spectrum_and_energy(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(the image's power spectrum (B, C, H', W'//2+1), each filter's mean squared response (B, K))."""
        power = torch.fft.rfft2(x, s=self.size).abs().square()
        response = torch.fft.rfft2(self.filters, s=self.size).abs().square()  # (K, C, H', W'//2+1)
        return power, torch.einsum("bchw,kchw,w->bk", power, response, self.columns)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        power, energy = self.spectrum_and_energy(x)
        # Relative to the image's noise floor, the median power over its frequencies: which orientations
        # and frequencies stand out, not how strong or noisy the image is. The median ignores the few
        # frequencies a texture occupies; the total power did not and cost accuracy (bench/image_encoder.py).
        floor = power.flatten(1).median(dim=1).values[:, None]
        return self.norm(torch.log(energy + 1e-6) - torch.log(floor + 1e-6))


class CNNEncoder(nn.Module):
    """``texture=False``: the layout path alone (the encoder before the texture path; for comparison)."""

    def __init__(
        self, shape: tuple[int, ...], *, depth: int, width: int, dropout: float, texture: bool = True
    ) -> None:
        super().__init__()
        in_channels, height, widthpx = shape
        channels = conv_channels(width)
        blocks: list[nn.Module] = []
        side = min(height, widthpx)
        for i in range(depth):
            blocks += [
                nn.Conv2d(in_channels if i == 0 else channels, channels, kernel_size=3, padding=1),
                nn.BatchNorm2d(channels),
                nn.ReLU(),
            ]
            if side >= 8:  # downsample while the map is large enough to keep a 4x4 grid
                blocks.append(nn.MaxPool2d(2))
                side //= 2
        # Channels-last: the same numbers, and on CPU a third less time per step (max pooling and batch
        # norm walk the channels contiguously; synth-mixed's image encoder 8.7 -> 6.0 ms a step)
        self.features = nn.Sequential(*blocks, nn.AdaptiveAvgPool2d(GRID)).to(
            memory_format=torch.channels_last
        )
        self.texture = (
            TextureEnergy(in_channels, channels, height, widthpx, TEXTURE_KERNEL) if texture else None
        )
        energies = channels if texture else 0
        self.head = nn.Sequential(
            nn.Linear(channels * GRID * GRID + energies, width), nn.GELU(), nn.Dropout(dropout)
        )
        self.out_dim = width

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, H, W) -> (B, width)
        grid = self.features(x.contiguous(memory_format=torch.channels_last))
        layout = grid.flatten(1)  # (B, channels * GRID * GRID)
        if self.texture is None:
            return self.head(layout)
        return self.head(torch.cat([layout, self.texture(x)], dim=1))


@register_encoder("cnn", kinds={"image"}, default_for={"image"})
def cnn(spec: ModalitySpec, *, depth: int, width: int, dropout: float) -> nn.Module:
    if len(spec.shape) != 3:
        raise ValueError(f"cnn expects (C, H, W) images, modality {spec.name!r} has shape {spec.shape}")
    return CNNEncoder(spec.shape, depth=depth, width=width, dropout=dropout)
