"""Columns <-> the matrix the diffusion runs on: quantile-normal scores and one-hot blocks.

TabDDPM's encoding, on the shared transforms: an ordered column (number, decimal, date,
timestamp) is one VALUE span holding its ``QuantileTransform`` normal score, which is what
Gaussian diffusion wants (already standard normal, heavy tails and spikes flattened); a
category is one one-hot CHOICE span over the ``CategoricalTransform``'s capped codes (the
multinomial diffusion's states); a column with NULLs adds a 2-way CHOICE span (NULL,
present).  A column with no values is passive: drawn from its schema-fitted transform.

The codecs (transforms, NULL rates, vocabulary caps, DP releases, persistence) are the shared
encoder's; only the layout differs from CTGAN's mode-specific one, so Gaussian modes are
never used here (the model fits them with ``max_modes = 1``, which is cheap).
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import pyarrow as pa

from synthtab_db.models.neural.columns import CHOICE, VALUE, Span, TableEncoder, draw_marginal
from synthtab_db.planner.schema import Column
from synthtab_db.transforms import as_array


def _numeric_layout(codec) -> list[tuple[int, str, bool]]:
    return [(1, VALUE, False)]


def _category_layout(codec) -> list[tuple[int, str, bool]]:
    return [(int(codec.transform.counts.size), CHOICE, True)]


def _passive_layout(codec) -> list[tuple[int, str, bool]]:
    return []


def _numeric_block(codec, array: pa.Array, rng: np.random.Generator) -> tuple[np.ndarray, list[np.ndarray]]:
    """Normal scores (NULL rows 0: the NULL flag says they are absent)."""
    scores = np.nan_to_num(codec.transform.forward(array, rng), nan=0.0)
    return scores.astype(np.float32)[:, None], []


def _category_block(codec, array: pa.Array, rng: np.random.Generator) -> tuple[np.ndarray, list[np.ndarray]]:
    codes = codec.transform.forward(array, rng)
    width = int(codec.transform.counts.size)
    return np.eye(width, dtype=np.float32)[np.maximum(codes, 0)], [codes]


def _passive_block(codec, array: pa.Array, rng: np.random.Generator) -> tuple[np.ndarray, list[np.ndarray]]:
    return np.zeros((len(array), 0), dtype=np.float32), []


def _numeric_values(codec, block: np.ndarray, rng: np.random.Generator, mask: np.ndarray | None) -> pa.Array:
    return codec.transform.reverse(block[:, 0].astype(np.float64), rng, mask)


def _category_values(codec, block: np.ndarray, rng: np.random.Generator, mask: np.ndarray | None) -> pa.Array:
    width = int(codec.transform.counts.size)
    return codec.transform.reverse(np.argmax(block[:, :width], axis=1), rng, mask)


def _passive_values(codec, block: np.ndarray, rng: np.random.Generator, mask: np.ndarray | None) -> pa.Array:
    return draw_marginal(codec.transform, block.shape[0], rng, mask)


Layout = Callable[[object], list[tuple[int, str, bool]]]
#: per codec kind (``neural.columns``): its spans, its block of the matrix, its values back
LAYOUTS: dict[str, Layout] = {"numeric": _numeric_layout, "category": _category_layout, "passive": _passive_layout}
BLOCKS = {"numeric": _numeric_block, "category": _category_block, "passive": _passive_block}
VALUES = {"numeric": _numeric_values, "category": _category_values, "passive": _passive_values}


def _layout(codec) -> list[tuple[int, str, bool]]:
    return LAYOUTS[codec.kind](codec) + ([(2, CHOICE, True)] if codec.nulls.active else [])


class DiffusionEncoder(TableEncoder):
    """The shared encoder's codecs, laid out as normal scores and one-hot blocks."""

    def __init__(self, columns: list[Column], codecs: list) -> None:
        self.columns, self.codecs = columns, codecs
        self.spans: list[Span] = []
        self.column_spans: list[tuple[int, int]] = []
        start = 0
        for codec in codecs:
            first = start
            for width, kind, discrete in _layout(codec):
                self.spans.append(Span(start, width, kind, discrete))
                start += width
            self.column_spans.append((first, start))
        self.width = start

    def encode(self, data: pa.Table, rng: np.random.Generator) -> tuple[np.ndarray, list[np.ndarray]]:
        blocks, codes = [np.zeros((data.num_rows, 0), dtype=np.float32)], []
        for column, codec in zip(self.columns, self.codecs):
            array = as_array(data.column(column.name))
            block, column_codes = BLOCKS[codec.kind](codec, array, rng)
            if codec.nulls.active:
                present = codec.nulls.forward(array)
                block, column_codes = np.hstack([block, np.eye(2, dtype=np.float32)[present]]), column_codes + [present]
            blocks.append(block)
            codes.extend(column_codes)
        return np.ascontiguousarray(np.hstack(blocks), dtype=np.float32), codes

    def decode(self, matrix: np.ndarray, rng: np.random.Generator) -> pa.Table:
        rngs = rng.spawn(len(self.codecs))
        arrays = [self._decode_column(codec, matrix[:, a:b], r)
                  for codec, (a, b), r in zip(self.codecs, self.column_spans, rngs)]
        return pa.table(arrays, names=[c.name for c in self.columns])

    @staticmethod
    def _decode_column(codec, block: np.ndarray, rng: np.random.Generator) -> pa.Array:
        mask = np.argmax(block[:, -2:], axis=1) == 0 if codec.nulls.active else None
        return VALUES[codec.kind](codec, block, rng, mask)

    def choice_targets(self) -> list[np.ndarray]:
        """Each CHOICE span's shares (category shares, NULL rates), in span order."""
        targets = []
        for codec in self.codecs:
            if codec.kind == "category":
                targets.append(codec.transform.probabilities)
            if codec.nulls.active:
                targets.append(np.array([codec.nulls.rate, 1.0 - codec.nulls.rate]))
        return targets
