"""Retrieval-augmented prompts (``WITH (retrieve = k)``): k real rows before each generated row.

The neighbours of a row are real rows that share its conditioning columns'
tokens (the same category, the same number bin), ties broken at random, so
"nearest by the conditioning columns" costs a sort, not a distance matrix.
In training the conditioning column is the first column of a row's random
prefix (rows in the fixed order get random rows, as unconditional sampling
does); in sampling it is every WHERE column the model restricts, and where no
real row matches all of them, the rows matching most of them.

The model keeps the real rows it retrieves from (their tokens) in its saved
state: retrieval trades privacy for fidelity, which is why it is off by
default and refused together with differential privacy.
"""

from __future__ import annotations

import numpy as np


def training_neighbours(tokens: np.ndarray, first: np.ndarray, has_prefix: np.ndarray, k: int,
                        rng: np.random.Generator) -> np.ndarray:
    """(rows, k) indices: rows sharing the token of column ``first[r]`` (random rows where no prefix)."""
    rows = tokens.shape[0]
    picked = rng.integers(0, rows, size=(rows, k))
    for j in np.unique(first[has_prefix]) if tokens.shape[1] else []:
        members = np.flatnonzero(has_prefix & (first == j))
        picked[members] = _same_token(tokens[:, j], members, k, rng)
    return _not_self(picked, rows)


def _same_token(column: np.ndarray, members: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """For each member row, k random rows with the same value in ``column``."""
    order = np.argsort(column, kind="stable")
    values = column[order]
    start = np.searchsorted(values, column[members], side="left")
    size = np.searchsorted(values, column[members], side="right") - start
    offset = (rng.random((members.size, k)) * size[:, None]).astype(np.int64)
    return order[start[:, None] + offset]


def _not_self(picked: np.ndarray, rows: int) -> np.ndarray:
    """A row never retrieves itself in training (it would learn to copy): take the next row instead."""
    own = np.arange(picked.shape[0])[:, None]
    return np.where(picked == own, (picked + 1) % max(rows, 1), picked)


def sampling_neighbours(tokens: np.ndarray, allowed: dict[int, np.ndarray], n: int, k: int,
                        rng: np.random.Generator) -> np.ndarray:
    """(n, k) indices of real rows matching the most conditions (``allowed``: column -> allowed tokens)."""
    matches = np.zeros(tokens.shape[0], dtype=np.int64)
    for j, tokens_ok in allowed.items():
        matches += np.isin(tokens[:, j], tokens_ok)
    best = np.flatnonzero(matches == matches.max(initial=0))
    return best[rng.integers(0, best.size, size=(n, k))]
