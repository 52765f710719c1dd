"""CTGAN's generator and critic, without BatchNorm.

The generator stacks residual blocks (each output concatenated with its
input, as in the paper) normalised with LayerNorm instead of BatchNorm; the
critic is an MLP with LeakyReLU and dropout that judges ``pac`` rows at a
time (PacGAN), which punishes mode collapse.  Neither holds BatchNorm, so
opacus can wrap them for DP-SGD.
"""

from __future__ import annotations

import torch
from torch import nn


class Residual(nn.Module):
    """Linear -> LayerNorm -> ReLU, concatenated with the block's input."""

    def __init__(self, width_in: int, width_out: int) -> None:
        super().__init__()
        self.linear, self.norm = nn.Linear(width_in, width_out), nn.LayerNorm(width_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([torch.relu(self.norm(self.linear(x))), x], dim=1)


class Generator(nn.Module):
    def __init__(self, width_in: int, hidden: tuple[int, ...], width_out: int) -> None:
        super().__init__()
        blocks, width = [], width_in
        for size in hidden:
            blocks.append(Residual(width, size))
            width += size
        self.blocks, self.out = nn.Sequential(*blocks), nn.Linear(width, width_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.blocks(x))


class Critic(nn.Module):
    """Scores packs of ``pac`` rows (their features side by side)."""

    def __init__(self, width_in: int, hidden: tuple[int, ...], pac: int) -> None:
        super().__init__()
        self.pac, layers, width = pac, [], width_in * pac
        for size in hidden:
            layers += [nn.Linear(width, size), nn.LeakyReLU(0.2), nn.Dropout(0.5)]
            width = size
        self.net = nn.Sequential(*layers, nn.Linear(width, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.reshape(-1, x.shape[1] * self.pac))


def gradient_penalty(critic: Critic, real: torch.Tensor, fake: torch.Tensor, weight: float = 10.0) -> torch.Tensor:
    """WGAN-GP: unit gradient norm on points between real and fake packs (one mix per pack)."""
    packs, pac = real.shape[0] // critic.pac, critic.pac
    alpha = torch.rand(packs, 1, 1, device=real.device).expand(packs, pac, real.shape[1]).reshape(real.shape)
    mixed = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(mixed).sum(), mixed, create_graph=True)
    norms = grad.reshape(packs, -1).norm(2, dim=1)
    return weight * ((norms - 1.0) ** 2).mean()
