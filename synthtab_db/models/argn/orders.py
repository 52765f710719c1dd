"""Which columns come before which: one fixed order, plus random prefixes for conditioning.

Generation uses the table's own column order (any order factorises the joint
exactly; a fixed one lets every conditional be learned from all the data, and
keeps generation reproducible and explainable).  Conditional sampling moves
the conditioned columns to the front and keeps the rest in the fixed order,
so training shows the network exactly those orders: in a share of the rows
(``PREFIX_RATE``) a random subset of columns, of uniformly random size and in
random order, is moved to the front.  A fully shuffled order per batch would
also allow that, but spreads the network over C! orders it never generates in
and costs quality on the default path.
"""

from __future__ import annotations

import numpy as np
import torch

#: Share of training rows whose order starts with a random subset of columns.
PREFIX_RATE = 0.5


def fixed_order(columns: int) -> list[int]:
    return list(range(columns))


def generation_order(fixed: list[int], first: list[int]) -> list[int]:
    """Conditioned columns first (as given), then the rest in the fixed order."""
    return list(first) + [j for j in fixed if j not in first]


def order_keys(order: list[int], device: torch.device) -> torch.Tensor:
    """Key per column = its position in ``order`` (smaller key = generated earlier)."""
    keys = np.empty(len(order), dtype=np.float32)
    keys[np.asarray(order, dtype=np.int64)] = np.arange(len(order), dtype=np.float32)
    return torch.from_numpy(keys).to(device)


def training_keys(rows: int, fixed: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Per-row keys: the fixed order, or a random subset (keys in [-1, 0), random order) moved first.

    The subset is ``r < q`` for per-column uniforms ``r`` and a per-row uniform
    ``q``: its size is uniform on 0..C, and ``r`` itself orders it.
    """
    device = fixed.device
    r = torch.rand(rows, fixed.numel(), generator=generator, device=device)
    q = torch.rand(rows, 1, generator=generator, device=device)
    q = q * (torch.rand(rows, 1, generator=generator, device=device) < PREFIX_RATE)
    return torch.where(r < q, r - 1.0, fixed.expand(rows, -1))
