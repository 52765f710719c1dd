"""Drawing token rows: column after column, a batch of rows at a time, on the model's device.

Memory is bounded by the batch (``BATCH_ROWS`` rows of hidden activations),
never by ``n``.  Each batch has its own seed spawned from the call's seed, so
the same model, seed, ``n`` and device give the same rows.  A condition adds
its log weights to its column's logits (``-inf`` excludes a token), which is
sampling from the conditional, not filtering.
"""

from __future__ import annotations

import numpy as np
import torch

from synthtab_db.models.argn.network import ArgnNetwork
from synthtab_db.models.argn.restriction import Restriction

BATCH_ROWS = 65_536
#: Rows per pass through the columns on a CPU: activations stay in cache (a GPU takes whole batches).
CPU_CHUNK_ROWS = 4_096


def batch_sizes(n: int, rows: int = BATCH_ROWS) -> list[int]:
    return [min(rows, n - start) for start in range(0, n, rows)]


def draw(logits: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """One token per row from softmax(logits), by inverting the cumulative distribution.

    ``u`` lies in (0, total], so a zero-probability token is never chosen.
    """
    cumulative = torch.softmax(logits, dim=-1).cumsum_(dim=-1)
    u = (1.0 - torch.rand(len(logits), 1, generator=generator, device=logits.device)) * cumulative[:, -1:]
    return torch.searchsorted(cumulative, u).squeeze(1).clamp_(max=logits.shape[1] - 1)


def _log_weights(restrictions: dict[int, Restriction], j: int, device: torch.device) -> torch.Tensor | None:
    if j not in restrictions:
        return None
    return torch.as_tensor(restrictions[j].log_weights, dtype=torch.float32, device=device)


class NetworkSampler:
    """The trained network, in a given generation order."""

    def __init__(self, network: ArgnNetwork, order: list[int], restrictions: dict[int, Restriction],
                 device: torch.device) -> None:
        self.network, self.order, self.device = network, order, device
        with torch.no_grad():
            self.constants, self.tables, self.offsets = network.projected()
        self.weights = {j: _log_weights(restrictions, j, device) for j in order}

    @torch.no_grad()
    def tokens(self, rows: int, generator: torch.Generator, given: torch.Tensor | None = None) -> torch.Tensor:
        """Token rows; ``given`` ([rows, k]) fixes the first k columns (the parent context)."""
        chunk = CPU_CHUNK_ROWS if self.device.type == "cpu" else rows
        starts = range(0, rows, chunk)
        return torch.cat([self._chunk(min(chunk, rows - s), generator, None if given is None else given[s:s + chunk])
                          for s in starts])

    def _chunk(self, rows: int, generator: torch.Generator, given: torch.Tensor | None = None) -> torch.Tensor:
        drawn = torch.zeros(rows, len(self.order), dtype=torch.long, device=self.device)
        k = 0 if given is None else given.shape[1]
        if k:
            drawn[:, :k] = given
        for position, j in enumerate(self.order):
            if j < k:
                continue
            before = self.order[:position]
            previous = drawn[:, before] + self.offsets[before] if before else None
            logits = self.network.step_logits(j, self.constants[j].expand(rows, -1), self.tables[j], previous)
            if self.weights[j] is not None:
                logits = logits + self.weights[j]
            drawn[:, j] = draw(logits, generator)
        return drawn


class PriorSampler:
    """Independent columns from their learned (or schema-drawn) marginals: the zero-row model."""

    def __init__(self, priors: list[np.ndarray], restrictions: dict[int, Restriction], device: torch.device) -> None:
        self.device = device
        with np.errstate(divide="ignore"):
            logs = [np.log(p) + (restrictions[j].log_weights if j in restrictions else 0.0)
                    for j, p in enumerate(priors)]
        self.logits = [torch.as_tensor(x, dtype=torch.float32, device=device) for x in logs]

    @torch.no_grad()
    def tokens(self, rows: int, generator: torch.Generator, given: torch.Tensor | None = None) -> torch.Tensor:
        """``given`` is ignored: a model that learned from no rows has no dependence on it."""
        columns = [draw(x.expand(rows, -1), generator) for x in self.logits]
        return torch.stack(columns, dim=1) if columns else torch.zeros(rows, 0, dtype=torch.long)
