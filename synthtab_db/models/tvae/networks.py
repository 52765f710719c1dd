"""TVAE's encoder and decoder: plain MLPs (no BatchNorm, so opacus can wrap them)."""

from __future__ import annotations

import torch
from torch import nn

from synthtab_db.models.neural.layers import mlp


class Encoder(nn.Module):
    """Rows -> mean and log-variance of the latent Gaussian."""

    def __init__(self, width: int, hidden: int, latent: int) -> None:
        super().__init__()
        self.body = mlp([width, hidden, hidden])
        self.mean, self.log_var = nn.Linear(hidden, latent), nn.Linear(hidden, latent)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.body(x)
        return self.mean(h), self.log_var(h)


class Decoder(nn.Module):
    """Latent points -> raw outputs, plus a learned noise scale per output column."""

    def __init__(self, latent: int, hidden: int, width: int) -> None:
        super().__init__()
        self.body = nn.Sequential(mlp([latent, hidden, hidden]), nn.Linear(hidden, width))
        self.sigma = nn.Parameter(torch.full((width,), 0.1))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.body(z)
