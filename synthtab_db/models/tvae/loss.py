"""TVAE's negative ELBO, per column kind.

Values (the tanh-scaled mode offsets) are Gaussian around tanh(output) with a
learned sigma per column; one-hot blocks (modes, categories, NULL flags) are
categorical (cross-entropy on their softmax).  ``loss_factor`` weighs the
reconstruction against the KL term, as in the TVAE paper's code.
"""

from __future__ import annotations

import torch

from synthtab_db.models.neural.layers import OutputLayout


def negative_elbo(
    layout: OutputLayout,
    x: torch.Tensor,
    raw: torch.Tensor,
    sigma: torch.Tensor,
    mean: torch.Tensor,
    log_var: torch.Tensor,
    loss_factor: float,
) -> torch.Tensor:
    values, choices = layout.value_mask, ~layout.value_mask
    gaussian = ((x - torch.tanh(raw)) ** 2 / (2 * sigma**2))[:, values].sum() + torch.log(
        sigma[values]
    ).sum() * x.shape[0]
    categorical = -(x * layout.log_softmax(raw))[:, choices].sum()
    kl = -0.5 * torch.sum(1 + log_var - mean**2 - log_var.exp())
    return (loss_factor * (gaussian + categorical) + kl) / x.shape[0]
