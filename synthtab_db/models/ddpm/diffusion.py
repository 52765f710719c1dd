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

The diffusion works on the matrix with its columns *sorted*, values first, blocks after
(``sort`` / ``unsort`` at the model's boundary), so each half is a slice, and categories are
drawn by inverse CDF within each block: no logarithm per cell, which made sampling 2x faster
than Gumbel-max on these CPUs.
"""

from __future__ import annotations

import numpy as np
import torch

from synthtab_db.models.neural.columns import CHOICE, VALUE, Span
from synthtab_db.models.neural.layers import OutputLayout

_SCORE_LIMIT = 3.5  # x0 estimates of normal scores are clipped here (the transforms' grids end near 3.3)
_LOGIT_LIMIT = 40.0  # sampling's softmax without a max shift: exp stays finite in float32


class MixedDiffusion:
    """The forward process, the per-row loss and the strided sampler for one encoder layout."""

    def __init__(self, spans: list[Span], alpha_bar: np.ndarray, device: torch.device,
                 prediction: str = "v") -> None:
        values = [s for s in spans if s.kind == VALUE]
        blocks = [s for s in spans if s.kind != VALUE]
        self.order = torch.tensor([s.start + i for s in values + blocks for i in range(s.width)], device=device)
        self.inverse = torch.argsort(self.order)
        self.values = len(values)
        self.blocks = _Blocks(blocks, device)
        self.alpha_bar = [float(a) for a in alpha_bar]
        self.steps = len(alpha_bar) - 1
        self.device = device
        self.target, self.estimates = TARGETS[prediction], ESTIMATES[prediction]

    def sort(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, self.order]

    def unsort(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, self.inverse]

    # -- training (sorted matrices) ----------------------------------------------------
    def draw_noise(self, n: int, generator: torch.Generator | None) -> tuple[torch.Tensor, ...]:
        """Steps (1..T), Gaussian noise for the values, uniforms for the blocks' draws."""
        t = torch.randint(1, self.steps + 1, (n,), generator=generator, device=self.device)
        eps = torch.randn(n, self.values, generator=generator, device=self.device)
        return t, eps, torch.rand(n, self.blocks.count, generator=generator, device=self.device)

    def corrupt(self, x0: torch.Tensor, t: torch.Tensor, eps: torch.Tensor, uniform: torch.Tensor) -> torch.Tensor:
        """x_t given x0 (no parameters involved, so DP's per-row gradients need not see it)."""
        ab = torch.as_tensor(self.alpha_bar, device=self.device)[t][:, None]
        gauss = ab.sqrt() * x0[:, : self.values] + (1 - ab).sqrt() * eps
        kept = ab * x0[:, self.values :] + (1 - ab) * self.blocks.inverse_states
        return torch.cat([gauss, self.blocks.draw(kept, uniform)], dim=1)

    def row_loss(self, output: torch.Tensor, x0: torch.Tensor, eps: torch.Tensor, t: torch.Tensor,
                 noisy: torch.Tensor) -> torch.Tensor:
        """Per row: values' mean squared error (of the ``prediction`` target) + blocks' mean
        cross-entropy of x0 under ``clean_logits``."""
        v, ab = self.values, torch.as_tensor(self.alpha_bar, device=self.device)[t][:, None]
        squared = ((output[:, :v] - self.target(x0[:, :v], eps, ab)) ** 2).sum(dim=1) / max(1, v)
        logits = self.clean_logits(output[:, v:], noisy[:, v:], ab)
        cross = -(x0[:, v:] * self.blocks.layout.log_softmax(logits)).sum(dim=1) / max(1, self.blocks.count)
        return squared + cross

    def clean_logits(self, output: torch.Tensor, noisy: torch.Tensor, ab) -> torch.Tensor:
        """The denoiser's block outputs plus log q(x_t | x0 = k): what x_t alone says of x0 is
        given, so the network learns only what the other columns add (at small t, x_t decides,
        which an undertrained network otherwise misses and the categories drift to uniform)."""
        return output + (ab * noisy + (1 - ab) * self.blocks.inverse_states).log()

    # -- sampling (sorted matrices) ----------------------------------------------------
    def start(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """x_T: standard normal values, uniform categories."""
        gauss = torch.randn(n, self.values, generator=generator, device=self.device)
        flat = torch.ones(n, self.blocks.width, device=self.device)
        return torch.cat([gauss, self.blocks.sample(flat, generator)], dim=1)

    def step(self, x: torch.Tensor, output: torch.Tensor, t: int, s: int, generator: torch.Generator) -> torch.Tensor:
        """x_s from x_t and the denoiser's output at t."""
        ab_t, ab_s, v = self.alpha_bar[t], self.alpha_bar[s], self.values
        x0, eps = self.estimates(x[:, :v], output[:, :v], ab_t)
        gauss = ab_s**0.5 * x0 + (1 - ab_s) ** 0.5 * eps
        return torch.cat([gauss, self._categories(x[:, v:], output[:, v:], ab_t / ab_s, ab_s, generator)], dim=1)

    def _categories(self, x: torch.Tensor, logits: torch.Tensor, a: float, ab_s: float,
                    generator: torch.Generator) -> torch.Tensor:
        """A draw from the sum over x0 = k of p(k | x_t) q(x_s | x_t, x0 = k).  With
        p(k | x_t) = softmax(logits)_k q(x_t | k) / Z (``clean_logits``), the q(x_t | k) cancels
        the posterior's normaliser and the sum is q(x_t | x_s) (ab_s softmax(logits) + (1 - ab_s) / K)
        up to a constant: the plug-in formula, exact here (TabDDPM's plugs in p(k | x_t) itself,
        which counts x_t twice and drifts categories toward uniform as steps are added)."""
        other = (1 - a) * self.blocks.inverse_states
        likelihood = x * a + other  # a x_t + (1 - a) / K
        prior = self.blocks.softmax(logits).mul_(ab_s).add_((1 - ab_s) * self.blocks.inverse_states)
        return self.blocks.sample(likelihood.mul_(prior), generator)


def _from_noise(x: torch.Tensor, eps: torch.Tensor, ab: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(x0, eps) when the denoiser predicts the noise (Ho et al.)."""
    return ((x - (1 - ab) ** 0.5 * eps) / ab**0.5).clamp_(-_SCORE_LIMIT, _SCORE_LIMIT), eps


def _from_clean(x: torch.Tensor, x0: torch.Tensor, ab: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(x0, eps) when the denoiser predicts the clean values."""
    x0 = x0.clamp(-_SCORE_LIMIT, _SCORE_LIMIT)
    return x0, (x - ab**0.5 * x0) / (1 - ab) ** 0.5


def _from_velocity(x: torch.Tensor, v: torch.Tensor, ab: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(x0, eps) when the denoiser predicts what x0 adds to its best linear guess sqrt(ab) x_t
    (Salimans & Ho's v, negated): the skip carries x_t at small t, the network the rest."""
    return _from_clean(x, ab**0.5 * x + (1 - ab) ** 0.5 * v, ab)


#: what the denoiser's value outputs are trained on (from x0, eps, alpha-bar), and how the
#: sampler reads them back
TARGETS = {"eps": lambda x0, eps, ab: eps, "x0": lambda x0, eps, ab: x0,
           "v": lambda x0, eps, ab: (1 - ab).sqrt() * x0 - ab.sqrt() * eps}
ESTIMATES = {"eps": _from_noise, "x0": _from_clean, "v": _from_velocity}


class _Blocks:
    """The one-hot blocks side by side: per-block sums, softmax and draws by inverse CDF."""

    def __init__(self, blocks: list[Span], device: torch.device) -> None:
        widths = [s.width for s in blocks]
        self.count, self.width = len(blocks), sum(widths)
        starts = np.concatenate([[0], np.cumsum(widths)]).astype(int)
        relative = [Span(int(a), w, CHOICE) for a, w in zip(starts[:-1], widths)]
        self.layout = OutputLayout(relative, device)
        self.segment = self.layout.segment
        self.offset = torch.tensor([i for w in widths for i in range(w)], dtype=torch.float32, device=device)
        self.last = torch.tensor(widths, dtype=torch.float32, device=device) - 1
        self.inverse_states = 1.0 / torch.tensor([float(w) for w in widths for _ in range(w)], device=device)

    def totals(self, x: torch.Tensor) -> torch.Tensor:
        """Per block sums (``index_add_`` and ``index_select`` measured faster here than a
        skinny matrix product with a membership matrix, or advanced indexing)."""
        return x.new_zeros((x.shape[0], self.count)).index_add_(1, self.segment, x)

    def spread(self, per_block: torch.Tensor) -> torch.Tensor:
        """Each block's number copied to its cells."""
        return per_block.index_select(1, self.segment)

    def softmax(self, logits: torch.Tensor) -> torch.Tensor:
        e = logits.clamp(-_LOGIT_LIMIT, _LOGIT_LIMIT).exp_()
        return e.div_(self.spread(self.totals(e)))

    def sample(self, weights: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        uniform = torch.rand(weights.shape[0], self.count, generator=generator, device=weights.device)
        return self.draw(weights, uniform)

    def draw(self, weights: torch.Tensor, uniform: torch.Tensor) -> torch.Tensor:
        """One-hot rows: in each block the state where ``uniform`` falls in its normalised CDF."""
        if not self.count:
            return weights
        shares = weights / self.spread(self.totals(weights))
        cumulative = shares.cumsum(dim=1)  # block b's CDF, shifted up by b
        target = uniform + torch.arange(self.count, device=weights.device)
        below = self.totals((cumulative <= self.spread(target)).to(weights.dtype))
        chosen = torch.minimum(below, self.last)
        return (self.offset == self.spread(chosen)).to(weights.dtype)
