"""CTGAN's conditional vector and training-by-sampling.

Each step picks, per row, one discrete column (a category column or a NULL
flag) uniformly and one of its categories with probability proportional to
log(1 + count), then a real row holding that category.  Rare categories are
thus seen often enough for the generator to learn them, and the generator is
told (by the one-hot condition) which category the discriminator will expect.
At sampling time categories are drawn by their real frequencies instead, so
the output keeps the real marginals.
"""

from __future__ import annotations

import numpy as np
import torch

from synthtab_db.models.neural.columns import Span


class ConditionalSampler:
    """Conditions and matching real rows, vectorised over a batch."""

    def __init__(self, spans: list[Span], codes: list[np.ndarray], rows: int) -> None:
        self.spans, self.rows = spans, rows
        self.widths = np.array([s.width for s in spans], dtype=np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(self.widths)[:-1]]).astype(np.int64)
        self.width = int(self.widths.sum())
        counts = [np.bincount(c[c >= 0], minlength=w).astype(np.float64) for c, w in zip(codes, self.widths)]
        self.train_cdf = _cdf_table([np.log1p(c) for c in counts], self.widths)
        self.frequencies = np.concatenate(counts) if counts else np.zeros(0)
        self.members, self.starts = _members(codes, self.widths)

    def train_batch(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """(one-hot conditions, a real row index per row holding its condition's category)."""
        column = rng.integers(len(self.spans), size=n)
        category = _draw(self.train_cdf[column], rng.random(n))
        counts = self.starts[column, category + 1] - self.starts[column, category]
        rows = self.members[self.starts[column, category] + (rng.random(n) * counts).astype(np.int64)]
        return self.one_hot(column, category), rows

    def one_hot(self, column: np.ndarray, category: np.ndarray) -> np.ndarray:
        cond = np.zeros((column.size, self.width), dtype=np.float32)
        cond[np.arange(column.size), self.offsets[column] + category] = 1.0
        return cond


class FrequencyConditions:
    """Conditions drawn by real frequencies, on the device, from a torch generator (for sampling)."""

    def __init__(self, widths: np.ndarray, frequencies: np.ndarray, device: torch.device) -> None:
        self.widths = widths
        self.offsets = torch.tensor(np.concatenate([[0], np.cumsum(widths)[:-1]]), dtype=torch.long, device=device)
        self.width = int(widths.sum())
        counts = np.split(frequencies, np.cumsum(widths)[:-1]) if widths.size else []
        self.cdf = torch.tensor(_cdf_table(counts, widths), dtype=torch.float64, device=device)

    def sample(self, n: int, noise: torch.Generator) -> torch.Tensor:
        device = self.cdf.device
        cond = torch.zeros((n, self.width), device=device)
        if not self.width:
            return cond
        column = torch.randint(len(self.widths), (n,), generator=noise, device=device)
        u = torch.rand(n, generator=noise, device=device, dtype=torch.float64)
        category = (u[:, None] >= self.cdf[column]).sum(dim=1).clamp_(max=self.cdf.shape[1] - 1)
        cond[torch.arange(n, device=device), self.offsets[column] + category] = 1.0
        return cond


def _cdf_table(weights: list[np.ndarray], widths: np.ndarray) -> np.ndarray:
    """Row j: the cumulative distribution of discrete column j, padded with 1s to the widest."""
    table = np.ones((len(weights), int(widths.max(initial=1))), dtype=np.float64)
    for j, w in enumerate(weights):
        total = w.sum()
        table[j, : w.size] = np.cumsum(w) / total if total > 0 else np.linspace(1 / w.size, 1.0, w.size)
    return table


def _draw(cdf_rows: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Inverse-CDF draw per row: the first category whose cumulative share exceeds u."""
    return np.minimum((u[:, None] >= cdf_rows).sum(axis=1), cdf_rows.shape[1] - 1)


def _members(codes: list[np.ndarray], widths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row indices grouped by (discrete column, category), and where each group starts.

    ``starts[j, k]`` .. ``starts[j, k + 1]`` index the rows of column j holding
    category k; all groups live in one flat array so a batch gathers at once.
    """
    starts = np.zeros((len(codes), int(widths.max(initial=1)) + 1), dtype=np.int64)
    members, base = [], 0
    for j, c in enumerate(codes):
        rows = np.flatnonzero(c >= 0)
        order = np.argsort(c[rows], kind="stable")
        members.append(rows[order])
        counts = np.bincount(c[rows], minlength=widths[j])
        starts[j, : widths[j] + 1] = base + np.concatenate([[0], np.cumsum(counts)])
        starts[j, widths[j] + 1 :] = starts[j, widths[j]]
        base += rows.size
    return (np.concatenate(members) if members else np.zeros(0, dtype=np.int64)), starts
