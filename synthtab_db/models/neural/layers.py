"""Network pieces both torch models share: the output block and the BatchNorm ban.

No BatchNorm anywhere: opacus (DP-SGD, for ``epsilon`` in WITH) refuses it,
because it mixes the rows of a batch; LayerNorm normalises each row alone.
"""

from __future__ import annotations

from typing import Iterable

import torch
from torch import nn

from synthtab_db.models.neural.columns import VALUE, Span

_TINY = 1e-10


class OutputLayout:
    """Which output columns are tanh values and which belong to each softmax block.

    Every span is a *segment*; softmax per segment is done for all blocks at
    once with scatter operations, so a step costs the same few kernels whether
    the table has 3 categorical columns or 300.
    """

    def __init__(self, spans: list[Span], device: torch.device) -> None:
        self.spans, self.count = spans, len(spans)
        width = sum(s.width for s in spans)
        self.segment = torch.tensor(
            [i for i, s in enumerate(spans) for _ in range(s.width)], dtype=torch.long, device=device
        )
        self.value_mask = torch.zeros(width, dtype=torch.bool, device=device)
        self.value_mask[[s.start for s in spans if s.kind == VALUE]] = True

    def log_softmax(self, x: torch.Tensor) -> torch.Tensor:
        """Log-softmax within each segment (value columns, alone in theirs, come out 0)."""
        index = self.segment.expand(x.shape[0], -1)
        with torch.no_grad():  # a per-segment shift only stabilises; softmax does not depend on it
            top = x.new_full((x.shape[0], self.count), -torch.inf).scatter_reduce(1, index, x, "amax")
        shifted = x - top.gather(1, index)
        total = x.new_zeros((x.shape[0], self.count)).scatter_add(1, index, shifted.exp())
        return shifted - total.log().gather(1, index)

    def activate(self, raw: torch.Tensor, tau: float) -> torch.Tensor:
        """Training output (differentiable): tanh on values, gumbel-softmax on every block."""
        soft = self.log_softmax((raw + gumbel_noise(raw.shape, None, raw.device)) / tau).exp()
        return torch.where(self.value_mask, torch.tanh(raw), soft)

    def sample(self, values: torch.Tensor, logits: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Sampling output: ``values`` where the value columns are, logits + Gumbel noise elsewhere.

        The decoder takes each block's argmax, which is then a draw from its
        softmax (the Gumbel-max trick): one noise tensor for the whole matrix.
        """
        return torch.where(self.value_mask, values, logits + gumbel_noise(logits.shape, generator, logits.device))


def gumbel_noise(
    shape: torch.Size | tuple[int, ...], generator: torch.Generator | None, device: torch.device
) -> torch.Tensor:
    u = torch.rand(shape, generator=generator, device=device)
    return -torch.log(-torch.log(u + _TINY) + _TINY)


def mlp(sizes: Iterable[int], norm: bool = False) -> nn.Sequential:
    """Linear -> [LayerNorm] -> ReLU for each consecutive pair of sizes."""
    sizes = list(sizes)
    layers: list[nn.Module] = []
    for a, b in zip(sizes, sizes[1:]):
        layers += [nn.Linear(a, b)] + ([nn.LayerNorm(b)] if norm else []) + [nn.ReLU()]
    return nn.Sequential(*layers)


def batch_norm_modules(*networks: nn.Module) -> list[str]:
    """Names of BatchNorm modules (there must be none: opacus refuses them)."""
    return [
        name
        for net in networks
        for name, module in net.named_modules()
        if isinstance(module, nn.modules.batchnorm._BatchNorm)
    ]
