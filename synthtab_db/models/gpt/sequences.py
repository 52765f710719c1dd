"""Token rows as training sequences: ``<bos> [context rows] <row> piece piece ... `` .

Each training row gets its own column order: a random subset of columns, in
random order, moved to the front, the rest in the table's order (with
``PREFIX_RATE``).  A subset of every size occurs, so any set of columns can be
put first and conditioned on by a prompt prefix, while most rows are seen in
the order sampling uses.  With retrieval, the pieces of the row's retrieved
neighbours come first, each after a ``<ctx>``; the loss covers the row only.
"""

from __future__ import annotations

import numpy as np

from synthtab_db.models.gpt.encoding import BOS, CTX, NOTHING, ROW

PREFIX_RATE = 0.8  # share of rows whose order starts with a random subset of columns
IGNORE = -100  # label of a position the loss skips


def row_orders(rows: int, columns: int, rng: np.random.Generator,
               prefix_rate: float = PREFIX_RATE) -> tuple[np.ndarray, np.ndarray]:
    """(rows, columns) orders: per row, a random prefix subset in random order, then the fixed
    order; and each row's prefix length (0: the fixed order)."""
    keys = np.tile(np.arange(columns, dtype=np.float64), (rows, 1))
    chosen = rng.random((rows, columns)) < rng.random((rows, 1)) ** 2  # subsets skew small
    chosen &= rng.random((rows, 1)) < prefix_rate
    keys = np.where(chosen, rng.random((rows, columns)) - 1.0, keys)
    return np.argsort(keys, axis=1, kind="stable"), chosen.sum(axis=1)


def ordered(pieces: list[np.ndarray], orders: np.ndarray) -> np.ndarray:
    """Each row's pieces concatenated in its own order, NOTHING-padded on the right."""
    rows = orders.shape[0]
    width = max(p.shape[1] for p in pieces)
    blocks = []
    for position in range(orders.shape[1]):
        block = np.full((rows, width), NOTHING, dtype=np.int64)
        for j, piece in enumerate(pieces):
            take = orders[:, position] == j
            block[take, :piece.shape[1]] = piece[take]
        blocks.append(block)
    return compact(np.concatenate(blocks, axis=1))


def compact(matrix: np.ndarray) -> np.ndarray:
    """Cells moved left past NOTHING (order kept); all-NOTHING columns on the right dropped."""
    order = np.argsort(matrix == NOTHING, axis=1, kind="stable")
    packed = np.take_along_axis(matrix, order, axis=1)
    used = int((packed != NOTHING).sum(axis=1).max(initial=0))
    return packed[:, :max(used, 1)]


def with_context(rows: np.ndarray, context_rows: np.ndarray | None, neighbours: np.ndarray | None) -> np.ndarray:
    """``<bos> (<ctx> neighbour)* <row> row``; ``context_rows`` are the real rows in the fixed order."""
    n = rows.shape[0]
    parts = [np.full((n, 1), BOS, dtype=np.int64)]
    if neighbours is not None and neighbours.shape[1]:
        for k in range(neighbours.shape[1]):
            parts += [np.full((n, 1), CTX, dtype=np.int64), context_rows[neighbours[:, k]]]
    parts += [np.full((n, 1), ROW, dtype=np.int64), rows]
    return compact(np.concatenate(parts, axis=1))


def labels(sequences: np.ndarray) -> np.ndarray:
    """Targets: the row's tokens; the prompt (up to and including ``<row>``) and padding are skipped."""
    started = np.cumsum(sequences == ROW, axis=1) > 0
    prompt = ~started | (sequences == ROW)
    return np.where(prompt | (sequences == NOTHING), IGNORE, sequences)
