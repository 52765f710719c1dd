"""The denoiser: an MLP over the noisy row plus a sinusoidal timestep embedding (TabDDPM's).

It outputs one number per matrix column: the predicted noise for a VALUE column (Gaussian
diffusion), the logits of the clean category for a CHOICE block (multinomial diffusion with
x0-parameterisation).  No BatchNorm, so DP-SGD can differentiate each row alone.
"""

from __future__ import annotations

import math

import torch
from torch import nn


def timestep_embedding(t: torch.Tensor, width: int) -> torch.Tensor:
    """sin / cos of the step at geometric frequencies (``t`` in steps, any float)."""
    half = max(1, width // 2)
    frequencies = torch.exp(-math.log(10_000.0) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    angles = t.float()[:, None] * frequencies[None]
    return torch.cat([torch.cos(angles), torch.sin(angles)], dim=1)


class Denoiser(nn.Module):
    """(noisy rows, steps) -> noise estimates for values, clean-category logits for blocks."""

    def __init__(self, width: int, hidden: int, layers: int, embedding: int) -> None:
        super().__init__()
        self.embedding = embedding
        self.time = nn.Sequential(nn.Linear(2 * max(1, embedding // 2), hidden), nn.SiLU(), nn.Linear(hidden, hidden))
        self.project = nn.Linear(width, hidden)
        body: list[nn.Module] = []
        for _ in range(layers):
            body += [nn.Linear(hidden, hidden), nn.SiLU()]
        self.body = nn.Sequential(*body)
        self.out = nn.Linear(hidden, width)

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        h = self.project(x) + self.time(timestep_embedding(t, self.embedding))
        return self.out(self.body(h))
