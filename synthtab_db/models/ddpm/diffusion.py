"""Mixed-type diffusion: Gaussian on the VALUE columns, multinomial on each one-hot block.

Forward (TabDDPM): a value becomes ``sqrt(ab) x0 + sqrt(1 - ab) eps``; a category keeps its
state with probability ``ab`` and is otherwise uniform over its block's K states
(Hoogeboom et al.'s multinomial diffusion).  The denoiser predicts the noise of the values
and the clean category's logits (x0-parameterisation); the loss per row is the values' mean
squared error plus the blocks' mean cross-entropy of the clean state, a surrogate for the
multinomial KL bound that needs no posterior in training and has the same minimiser.

Sampling strides from T to 0 in ``sample_steps`` jumps (t -> s): values by DDIM (eta 0),
categories from the exact multinomial posterior q(x_s | x_t, x0) averaged over the predicted
x0, which any stride allows because the forward process composes:
``q(x_t | x_s) = a x_s + (1 - a) / K`` with ``a = ab_t / ab_s``.
"""

from __future__ import annotations

import numpy as np
import torch

from synthtab_db.models.neural.columns import VALUE, Span
from synthtab_db.models.neural.layers import OutputLayout, gumbel_noise

_TINY = 1e-30
_SCORE_LIMIT = 6.0  # x0 estimates of normal scores are clipped here (the transforms' grid ends near 3.3)


class MixedDiffusion:
    """The forward process, the per-row loss and the strided sampler for one encoder layout."""

    def __init__(self, spans: list[Span], alpha_bar: np.ndarray, device: torch.device) -> None:
        self.layout = OutputLayout(spans, device)
        self.values = self.layout.value_mask
        self.states = torch.tensor([float(s.width) for s in spans for _ in range(s.width)], device=device)
        self.alpha_bar = torch.as_tensor(alpha_bar, dtype=torch.float32, device=device)
        self.steps = len(alpha_bar) - 1
        self.value_count = max(1, sum(1 for s in spans if s.kind == VALUE))
        self.block_count = max(1, sum(1 for s in spans if s.kind != VALUE))
        self.device = device

    # -- training ------------------------------------------------------------------
    def draw_noise(self, n: int, generator: torch.Generator | None) -> tuple[torch.Tensor, ...]:
        """Steps (1..T), Gaussian noise and Gumbel noise for ``n`` rows."""
        width = self.values.numel()
        t = torch.randint(1, self.steps + 1, (n,), generator=generator, device=self.device)
        eps = torch.randn(n, width, generator=generator, device=self.device)
        return t, eps, gumbel_noise((n, width), generator, self.device)

    def corrupt(self, x0: torch.Tensor, t: torch.Tensor, eps: torch.Tensor, gumbel: torch.Tensor) -> torch.Tensor:
        """x_t given x0 (no parameters involved, so DP's per-row gradients need not see it)."""
        ab = self.alpha_bar[t][:, None]
        gauss = ab.sqrt() * x0 + (1 - ab).sqrt() * eps
        kept = ab * x0 + (1 - ab) / self.states
        return torch.where(self.values, gauss, self._one_hot(kept.clamp_min(_TINY).log() + gumbel))

    def row_loss(self, output: torch.Tensor, x0: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        """Per row: values' mean squared noise error + blocks' mean cross-entropy of x0."""
        values = self.values.to(output.dtype)
        squared = ((output - eps) ** 2) @ values / self.value_count
        cross = -(x0 * self.layout.log_softmax(output)) @ (1.0 - values) / self.block_count
        return squared + cross

    # -- sampling ------------------------------------------------------------------
    def start(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """x_T: standard normal values, uniform categories."""
        width = self.values.numel()
        gauss = torch.randn(n, width, generator=generator, device=self.device)
        uniform = gumbel_noise((n, width), generator, self.device)
        return torch.where(self.values, gauss, self._one_hot(uniform))

    def step(self, x: torch.Tensor, output: torch.Tensor, t: int, s: int, generator: torch.Generator) -> torch.Tensor:
        """x_s from x_t and the denoiser's output at t."""
        ab_t, ab_s = self.alpha_bar[t], self.alpha_bar[s]
        x0 = ((x - (1 - ab_t).sqrt() * output) / ab_t.sqrt()).clamp(-_SCORE_LIMIT, _SCORE_LIMIT)
        gauss = ab_s.sqrt() * x0 + (1 - ab_s).sqrt() * output
        a = ab_t / ab_s
        likelihood = (a * x + (1 - a) / self.states).clamp_min(_TINY).log()
        prior = (ab_s * self.layout.log_softmax(output).exp() + (1 - ab_s) / self.states).clamp_min(_TINY).log()
        draw = self._one_hot(likelihood + prior + gumbel_noise(x.shape, generator, self.device))
        return torch.where(self.values, gauss, draw)

    def _one_hot(self, scores: torch.Tensor) -> torch.Tensor:
        """1 at each block's highest score, 0 elsewhere (value columns, alone, come out 1)."""
        index = self.layout.segment.expand(scores.shape[0], -1)
        top = scores.new_full((scores.shape[0], self.layout.count), -torch.inf).scatter_reduce(1, index, scores, "amax")
        return (scores >= top.gather(1, index)).to(scores.dtype)
