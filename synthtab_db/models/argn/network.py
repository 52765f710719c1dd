"""The network: per-column embeddings, one hidden layer per column, a softmax head per column.

Column j's logits are a function of the columns generated before it: their
token embeddings are concatenated (a column not yet generated contributes a
learned "unknown" vector instead), projected by column j's own first layer,
passed through a ReLU (and, in training, 10% dropout: on Adult it improved
both the validation loss and mostlyai-qa accuracy, 0.969 -> 0.973), and
mapped to column j's vocabulary.  Which columns count as "before" is an
input (per-row order keys), so one network serves the fixed generation order
and every order that puts conditioned columns first.

The first layer is linear in the embeddings, so at sampling time it is
precomputed per (head, column, token): a head's hidden pre-activation is one
``embedding_bag`` sum over the tokens already drawn.  That keeps the sampling
cost at about hidden_dim x (vocabulary) multiply-adds per row, which is what
lets a CPU sample well over 100,000 rows a second.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn


def embedding_size(vocabulary: int, largest: int) -> int:
    """Embedding width grows slowly with the vocabulary (fastai's rule), capped."""
    return int(min(largest, max(2, round(1.6 * vocabulary**0.56))))


class ArgnNetwork(nn.Module):
    """Autoregressive conditionals p(column j | columns before j), all columns at once."""

    def __init__(self, vocabulary: list[int], embedding_dim: int, hidden_dim: int, dropout: float = 0.1,
                 context: int = 0) -> None:
        super().__init__()
        self.config: dict[str, Any] = {"vocabulary": list(vocabulary), "embedding_dim": embedding_dim,
                                       "hidden_dim": hidden_dim, "dropout": dropout, "context": context}
        self.context = context  # leading columns that are given (parent context), never predicted
        dims = [embedding_size(v, embedding_dim) for v in vocabulary]
        width, columns = sum(dims), len(vocabulary)
        self.embeddings = nn.ModuleList(nn.Embedding(v, d) for v, d in zip(vocabulary, dims))
        self.unknown = nn.Parameter(torch.zeros(width))
        bound = 1.0 / math.sqrt(max(width, 1))
        self.first = nn.Parameter(torch.empty(columns, width, hidden_dim).uniform_(-bound, bound))
        self.first_bias = nn.Parameter(torch.zeros(columns, hidden_dim))
        self.heads = nn.ModuleList(nn.Linear(hidden_dim, v) for v in vocabulary)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else None

    def losses(self, tokens: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
        """Mean cross-entropy per predicted column; column c counts as known for j where keys[c] < keys[j].

        Context columns always come first (whatever order the keys say) and are
        not predicted: sampling is always given them.
        """
        if self.context:
            keys = keys.clone()
            keys[:, : self.context] = torch.arange(self.context, device=keys.device, dtype=keys.dtype) - 1e4
        hidden = torch.relu(self._hidden(tokens, keys))
        if self.dropout is not None:
            hidden = self.dropout(hidden)
        pairs = list(zip(self.heads, hidden.unbind(0)))
        return torch.stack([F.cross_entropy(head(h), tokens[:, j])
                            for j, (head, h) in enumerate(pairs) if j >= self.context])

    def _hidden(self, tokens: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
        """(columns, rows, hidden) pre-activations: every head with its own set of known columns.

        One ``embedding_bag`` over all heads' projected tables, a column not yet
        known pointing at a zero padding row: rows x columns^2 x hidden
        additions, instead of a dense rows x columns x width x hidden product.
        """
        constants, tables, offsets = self.projected()
        heads, total, hidden = tables.shape
        flat = torch.cat([tables.reshape(-1, hidden), tables.new_zeros(1, hidden)])
        known = keys.unsqueeze(0) < keys.t().unsqueeze(2)  # [j, row, c]: c comes before j
        ids = (tokens + offsets).unsqueeze(0) + (torch.arange(heads, device=tokens.device) * total).view(-1, 1, 1)
        ids = torch.where(known, ids, heads * total)
        summed = F.embedding_bag(ids.reshape(-1, ids.shape[-1]), flat, mode="sum", padding_idx=heads * total)
        return summed.view(heads, len(tokens), hidden) + constants.unsqueeze(1)

    def projected(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(constants [head, hidden], tables [head, all tokens, hidden], token offset per column).

        The first layer is linear in the embeddings, so it folds into one table
        row per (head, token): a head's pre-activation = constant + sum of the
        rows of the known tokens.  Sampling uses the same tables.
        """
        dims = [e.embedding_dim for e in self.embeddings]
        parts = zip(self.embeddings, self.unknown.split(dims), self.first.split(dims, dim=1))
        tables = torch.cat([torch.einsum("ve,jeh->jvh", e.weight - unknown, first) for e, unknown, first in parts],
                           dim=1)
        constants = self.first_bias + torch.einsum("d,jdh->jh", self.unknown, self.first)
        sizes = torch.tensor([0] + [e.num_embeddings for e in self.embeddings], device=tables.device)
        return constants, tables, torch.cumsum(sizes, 0)[:-1]

    @torch.no_grad()
    def step_logits(self, j: int, constant: torch.Tensor, table: torch.Tensor,
                    previous: torch.Tensor | None) -> torch.Tensor:
        """Column j's logits given the offset token ids drawn before it ([rows, k], or None for k = 0)."""
        hidden = constant if previous is None else F.embedding_bag(previous, table, mode="sum") + constant
        return self.heads[j](torch.relu(hidden))
