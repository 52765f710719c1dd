"""TVAE's negative ELBO, per column kind.

Values (the tanh-scaled mode offsets) are Gaussian around tanh(output) with a
learned sigma per column; one-hot blocks (modes, categories, NULL flags) are
categorical (cross-entropy on their softmax).  ``loss_factor`` weighs the
reconstruction against the KL term, as in the TVAE paper's code.  The loss is
written per row (``row_negative_elbo``) because DP-SGD clips each row's gradient;
the plain fit minimises its mean.
"""

from __future__ import annotations

import torch

from synthtab_db.models.neural.layers import OutputLayout


def row_negative_elbo(
    layout: OutputLayout,
    x: torch.Tensor,
    raw: torch.Tensor,
    sigma: torch.Tensor,
    mean: torch.Tensor,
    log_var: torch.Tensor,
    loss_factor: float,
) -> torch.Tensor:
    """One negative ELBO per row (masks multiply rather than index, so ``vmap`` runs it)."""
    values = layout.value_mask.to(x.dtype)
    gaussian = ((x - torch.tanh(raw)) ** 2 / (2 * sigma**2) + torch.log(sigma)) @ values
    categorical = -(x * layout.log_softmax(raw)) @ (1.0 - values)
    kl = -0.5 * torch.sum(1 + log_var - mean**2 - log_var.exp(), dim=1)
    return loss_factor * (gaussian + categorical) + kl


def negative_elbo(*args, **kwargs) -> torch.Tensor:
    """The batch mean of ``row_negative_elbo`` (same arguments): what the plain fit minimises."""
    return row_negative_elbo(*args, **kwargs).mean()
