"""CTGAN under differential privacy: DP-SGD on the critic only.

Only the critic reads real rows; the generator learns from the critic's scores, so its
updates are post-processing of the DP critic and cost nothing.  What changes from the plain
fit, and why:

* **Poisson rows, their own conditions.**  Training-by-sampling picks real rows by category
  (log-frequency), which is neither Poisson sampling nor independent of the data.  Under DP
  the critic's real rows are a Poisson sample of units (``neural/private.py``), and each real
  row comes with a condition taken from itself (one of its discrete columns, chosen at random,
  and its own category there); its paired fake row is generated for that same condition.
  Removing a row removes exactly its own term.  The generator's conditions are drawn from the
  DP-released category frequencies.
* **pac = 1.**  PacGAN judges packs of rows; a pack's gradient mixes rows that would all shift
  to other packs when one is removed, so the privacy unit would no longer be a row.
* **The gradient penalty stays, per row.**  Each row's loss is critic(fake) - critic(real)
  plus the penalty at a point between the two, differentiated per row by ``torch.func``
  (a gradient of a gradient, which opacus's hooks cannot do); clipping bounds the whole term.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from synthtab_db.models.ctgan.networks import Critic

PENALTY = 10.0  # WGAN-GP's weight, as in the plain fit


class RowConditions:
    """Each real row's own condition: a random discrete column where it holds a category."""

    def __init__(self, codes: list[np.ndarray], widths: np.ndarray, device: torch.device) -> None:
        rows = codes[0].size if codes else 0
        self.codes = torch.from_numpy(np.stack(codes, axis=1) if codes else np.zeros((rows, 0), np.int64)).to(device)
        self.offsets = torch.tensor(np.concatenate([[0], np.cumsum(widths)[:-1]]), dtype=torch.long, device=device)
        self.width = int(widths.sum())

    def of(self, rows: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """One-hot conditions for ``rows`` (all zero where a row holds no category at all)."""
        cond = torch.zeros((rows.numel(), self.width), device=self.codes.device)
        if not self.width or not rows.numel():
            return cond
        codes = self.codes[rows]
        score = torch.rand(codes.shape, generator=generator, device=codes.device).masked_fill(codes < 0, -1.0)
        span = score.argmax(dim=1)
        category = codes.gather(1, span[:, None]).reshape(-1)
        held = torch.nonzero(category >= 0).reshape(-1)
        cond[held, self.offsets[span[held]] + category[held]] = 1.0
        return cond


def critic_row_loss(call: Callable[..., torch.Tensor], true: torch.Tensor, fake: torch.Tensor,
                    alpha: torch.Tensor) -> torch.Tensor:
    """One row's WGAN-GP critic loss (``call`` runs the critic; each input a batch of one)."""
    mixed = alpha * true + (1 - alpha) * fake
    slope = torch.func.grad(lambda x: call(x).sum())(mixed)
    penalty = PENALTY * (torch.sqrt((slope * slope).sum() + 1e-12) - 1.0) ** 2
    return call(fake).sum() - call(true).sum() + penalty


def critic_step(critic: Critic, optimizer, true: torch.Tensor, fake: torch.Tensor,
                generator: torch.Generator) -> None:
    """One DP-SGD step of the critic on real rows ``true`` and their paired fakes."""
    from synthtab_db.models.neural.per_sample import set_grad_samples

    alpha = torch.rand((true.shape[0], 1), generator=generator, device=true.device)
    critic.train()
    set_grad_samples(critic, critic_row_loss, true, fake, alpha)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
