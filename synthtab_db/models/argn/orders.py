"""Which columns come before which: one fixed order, plus random prefixes for conditioning.

Generation uses the table's own column order (any order factorises the joint
exactly; a fixed one lets every conditional be learned from all the data, and
keeps generation reproducible and explainable).  Conditional sampling moves
the conditioned columns to the front and keeps the rest in the fixed order,
so training shows the network exactly those orders: in a share of the rows
(``PREFIX_RATE``) a random subset of columns, in random order, is moved to the
front.  Subsets are mostly small (a WHERE names a column or two): on Adult,
80% prefix rows with sizes skewed small brought a rare condition's effect on
earlier columns from TVD 0.21 to 0.12 of the real conditional (native_country
= 'Mexico' -> education), at an unconditional accuracy within noise (0.970 vs
0.973).  A fully shuffled order per batch would also allow conditioning, but
spreads the network over C! orders it never generates in.
"""

from __future__ import annotations

import numpy as np
import torch

#: Share of training rows whose order starts with a random subset of columns.
PREFIX_RATE = 0.8
#: Subset sizes skew small: a column joins with probability q ** SIZE_SKEW, q uniform per row.
SIZE_SKEW = 2.0


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

    The subset is ``r < q`` for per-column uniforms ``r`` and a per-row
    ``q = u ** SIZE_SKEW``: its expected size is C / (1 + SIZE_SKEW), and ``r``
    itself orders it.
    """
    device = fixed.device
    r = torch.rand(rows, fixed.numel(), generator=generator, device=device)
    q = torch.rand(rows, 1, generator=generator, device=device) ** SIZE_SKEW
    q = q * (torch.rand(rows, 1, generator=generator, device=device) < PREFIX_RATE)
    return torch.where(r < q, r - 1.0, fixed.expand(rows, -1))
