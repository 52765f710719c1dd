"""Per-row gradients with ``torch.func``, handed to opacus's ``DPOptimizer`` as ``grad_sample``.

``vmap(grad(row_loss))`` runs the loss on one row at a time (as a batch of one), so anything
the loss does (a gradient penalty, a parameter used outside a layer, dropout with a fresh mask
per row) is differentiated exactly.  It materialises one gradient per row, which is why the DP
defaults keep the networks narrow.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn
from torch.func import functional_call, grad, vmap


def set_grad_samples(module: nn.Module, row_loss: Callable[..., torch.Tensor], *rows: torch.Tensor) -> None:
    """``p.grad_sample`` of every trainable parameter of ``module``: the gradient of
    ``row_loss(call, *one_row_each)`` per row, where ``call(*inputs)`` runs ``module``."""
    named = {k: p for k, p in module.named_parameters() if p.requires_grad}
    params = {k: p.detach() for k, p in named.items()}

    def one(parameters: dict, *row: torch.Tensor) -> torch.Tensor:
        return row_loss(lambda *inputs: functional_call(module, parameters, inputs), *(r[None] for r in row)).sum()

    if not len(rows[0]):
        grads = {k: torch.zeros((0, *p.shape), dtype=p.dtype, device=p.device) for k, p in params.items()}
    else:
        grads = vmap(grad(one), in_dims=(None, *[0] * len(rows)), randomness="different")(params, *rows)
    for name, p in named.items():
        p.grad_sample = grads[name]
