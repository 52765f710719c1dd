"""Columns <-> the float matrix torch models learn on, built on the shared transforms.

Every column is one or more *spans* of the matrix:

* ordered kinds (numbers, decimals, dates, timestamps): a tanh value and a
  softmax over Gaussian modes (``modes.ModeNormalizer``), fitted on the numbers
  the column's ``QuantileTransform`` codec reads;
* categories: a softmax over the ``CategoricalTransform``'s codes, whose
  vocabulary cap and rare bucket keep ID-like columns from one-hot blowing up;
* a nullable column that has NULLs: one more 2-way softmax (NULL, present),
  so missingness is learned jointly with the values.

Decoding always goes back through the transform's ``reverse``, so output
types, rounding, CHECK clipping and rare-value handling are exactly the
copula's.  A column with no values at all (and every column of an empty
table) is *passive*: drawn from its schema-fitted transform, independently.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from synthtab_db.models.neural.modes import ModeNormalizer
from synthtab_db.planner.schema import Column, Table
from synthtab_db.transforms import (
    ColumnTransform,
    NullIndicator,
    as_array,
    column_bounds,
    default_transform,
    get_transform,
    ndtri,
)
from synthtab_db.transforms.marginals import ExactMarginal

VALUE, CHOICE = "value", "choice"


@dataclass(frozen=True)
class Span:
    """A slice of the matrix: one tanh value, or one softmax block."""

    start: int
    width: int
    kind: str  # VALUE or CHOICE
    discrete: bool = False  # a column-level choice (category or NULL flag) a model may condition on

    @property
    def end(self) -> int:
        return self.start + self.width


class _ColumnCodec:
    """One column: its value spans, then its NULL span (when it has NULLs)."""

    kind = "passive"

    def __init__(self, transform: ColumnTransform, nulls: NullIndicator) -> None:
        self.transform, self.nulls = transform, nulls

    def layout(self) -> list[tuple[int, str, bool]]:
        return self._value_layout() + ([(2, CHOICE, True)] if self.nulls.active else [])

    def _value_layout(self) -> list[tuple[int, str, bool]]:
        return []

    @property
    def width(self) -> int:
        return sum(w for w, _, _ in self.layout())

    def encode(self, values: pa.ChunkedArray, rng: np.random.Generator) -> tuple[np.ndarray, list[np.ndarray]]:
        """The column's block of the matrix, and the codes of its discrete spans (-1 = none)."""
        array = as_array(values)
        block, codes = self._encode_values(array, rng)
        if self.nulls.active:
            present = self.nulls.forward(array)
            block = np.hstack([block, np.eye(2, dtype=np.float32)[present]])
            codes = codes + [present]
        return block, codes

    def _encode_values(self, array: pa.Array, rng: np.random.Generator) -> tuple[np.ndarray, list[np.ndarray]]:
        return np.zeros((len(array), 0), dtype=np.float32), []

    def decode(self, block: np.ndarray, rng: np.random.Generator) -> pa.Array:
        """Arrow values from the column's block (choices taken by argmax: the model samples them)."""
        mask = np.argmax(block[:, -2:], axis=1) == 0 if self.nulls.active else None
        return self._decode_values(block, rng, mask)

    def _decode_values(self, block: np.ndarray, rng: np.random.Generator, mask: np.ndarray | None) -> pa.Array:
        return draw_marginal(self.transform, block.shape[0], rng, mask)

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        meta, arrays = self.transform.to_state()
        return {"kind": self.kind, "transform": meta, "nulls": self.nulls.to_dict()}, {
            f"t.{k}": v for k, v in arrays.items()
        }


class _NumericCodec(_ColumnCodec):
    kind = "numeric"

    def __init__(self, transform: ColumnTransform, nulls: NullIndicator, modes: ModeNormalizer) -> None:
        super().__init__(transform, nulls)
        self.modes = modes
        self._centres: np.ndarray | None = None
        self.limits: tuple[float, float] | None = None  # DP bounds the training values are clipped to

    def _value_layout(self) -> list[tuple[int, str, bool]]:
        return [(1, VALUE, False), (self.modes.modes, CHOICE, False)]

    def _encode_values(self, array: pa.Array, rng: np.random.Generator) -> tuple[np.ndarray, list[np.ndarray]]:
        numbers = np.full(len(array), np.nan)
        valid = array.is_valid().to_numpy(zero_copy_only=False)
        numbers[valid] = self.transform.codec.to_numbers(array.drop_null())
        if self.limits is not None:
            numbers = np.clip(numbers, *self.limits)
        alpha, mode = self.modes.encode(numbers, rng)
        block = np.zeros((len(array), 1 + self.modes.modes), dtype=np.float32)
        block[:, 0] = np.where(valid, alpha, 0.0)
        block[np.arange(len(array)), 1 + mode] = 1.0
        return block, []

    def _decode_values(self, block: np.ndarray, rng: np.random.Generator, mask: np.ndarray | None) -> pa.Array:
        mode = np.argmax(block[:, 1 : 1 + self.modes.modes], axis=1)
        numbers = self.modes.decode(block[:, 0].astype(np.float64), mode)
        return self.transform.reverse(self._scores(numbers, rng), rng, mask)

    def _scores(self, numbers: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Numbers as the quantile transform's normal scores, so its ``reverse`` finishes them.

        A discrete grid (few distinct values) takes the nearest observed value
        and the centre of its slice; a continuous grid inverts its interpolation.
        (A public ``QuantileTransform.from_numbers`` would make this reach-in unnecessary.)
        """
        grid = self.transform.grid
        if not grid.discrete:
            return grid.to_normal(numbers, rng)
        if self._centres is None:
            cumulative = grid.intervals.cumulative
            self._centres = ndtri((cumulative[:-1] + cumulative[1:]) / 2.0)
        return self._centres[_nearest(grid.values, numbers)]

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        meta, arrays = super().state()
        modes_meta, modes_arrays = self.modes.to_state()
        return {**meta, "modes": modes_meta}, {**arrays, **{f"m.{k}": v for k, v in modes_arrays.items()}}


class _CategoryCodec(_ColumnCodec):
    kind = "category"

    @property
    def categories(self) -> int:
        return int(self.transform.counts.size)

    def _value_layout(self) -> list[tuple[int, str, bool]]:
        return [(self.categories, CHOICE, True)]

    def _encode_values(self, array: pa.Array, rng: np.random.Generator) -> tuple[np.ndarray, list[np.ndarray]]:
        codes = self.transform.forward(array, rng)
        block = np.eye(self.categories, dtype=np.float32)[np.maximum(codes, 0)]  # NULL rows: the top code
        return block, [codes]

    def _decode_values(self, block: np.ndarray, rng: np.random.Generator, mask: np.ndarray | None) -> pa.Array:
        return self.transform.reverse(np.argmax(block[:, : self.categories], axis=1), rng, mask)


def draw_marginal(transform: ColumnTransform, n: int, rng: np.random.Generator, mask: np.ndarray | None) -> pa.Array:
    """Values from the transform's own marginal (schema-fitted when there was no data)."""
    if transform.categorical:
        probabilities = transform.probabilities
        return transform.reverse(rng.choice(probabilities.size, size=n, p=probabilities), rng, mask)
    return transform.reverse(rng.standard_normal(n), rng, mask)


def _nearest(values: np.ndarray, numbers: np.ndarray) -> np.ndarray:
    """Index of the nearest entry of sorted ``values`` for each number."""
    if values.size == 1:
        return np.zeros(numbers.size, dtype=np.int64)
    right = np.clip(np.searchsorted(values, numbers), 1, values.size - 1)
    left = right - 1
    return np.where(np.abs(numbers - values[left]) <= np.abs(values[right] - numbers), left, right)


class TableEncoder:
    """All columns of a table <-> one float32 matrix of spans."""

    def __init__(self, columns: list[Column], codecs: list[_ColumnCodec]) -> None:
        self.columns, self.codecs = columns, codecs
        self.spans: list[Span] = []
        self.column_spans: list[tuple[int, int]] = []  # (start, end) of each column's block
        start = 0
        for codec in codecs:
            first = start
            for width, kind, discrete in codec.layout():
                self.spans.append(Span(start, width, kind, discrete))
                start += width
            self.column_spans.append((first, start))
        self.width = start

    @classmethod
    def fit(
        cls, data: pa.Table, table: Table, options: dict[str, Any], max_modes: int, rng: np.random.Generator,
        exact: dict[str, ExactMarginal] | None = None,
    ) -> "TableEncoder":
        """Transforms, NULL rates and modes for the columns of ``data`` (schema-only when empty);
        ``exact``: the whole table's statistics of columns ``data`` holds a sample of."""
        bounds, exact = column_bounds(table), exact or {}
        columns = [table.column(name) for name in data.column_names]
        codecs = [_fit_codec(data.column(c.name), c, bounds[c.name], options, max_modes, rng, exact.get(c.name))
                  for c in columns]
        return cls(columns, codecs)

    @classmethod
    def from_release(cls, columns: list[Column], released: dict, max_modes: int,
                     rng: np.random.Generator) -> "TableEncoder":
        """The encoder of a DP fit, from ``privacy.columns`` releases only (no row is read)."""
        return cls(columns, [_released_codec(released[c.name], max_modes, rng) for c in columns])

    def frequencies(self) -> np.ndarray:
        """Each discrete span's category shares from the fitted transforms (a DP fit's are released)."""
        parts = []
        for codec in self.codecs:
            if isinstance(codec, _CategoryCodec):
                parts.append(codec.transform.probabilities)
            if codec.nulls.active:
                parts.append(np.array([codec.nulls.rate, 1.0 - codec.nulls.rate]))
        return np.concatenate(parts) if parts else np.zeros(0)

    def choice_targets(self) -> list[np.ndarray]:
        """Each CHOICE span's shares, in span order, from the fitted transforms and modes (a DP
        fit's come from the release): numeric modes' weights, category shares, NULL rates."""
        targets = []
        for codec in self.codecs:
            if isinstance(codec, _NumericCodec):
                targets.append(codec.modes.weights / codec.modes.weights.sum())
            elif isinstance(codec, _CategoryCodec):
                targets.append(codec.transform.probabilities)
            if codec.nulls.active:
                targets.append(np.array([codec.nulls.rate, 1.0 - codec.nulls.rate]))
        return targets

    @property
    def discrete_spans(self) -> list[Span]:
        return [s for s in self.spans if s.discrete]

    def encode(self, data: pa.Table, rng: np.random.Generator) -> tuple[np.ndarray, list[np.ndarray]]:
        """The matrix (rows x width, float32) and the codes of every discrete span, in span order."""
        blocks, codes = [np.zeros((data.num_rows, 0), dtype=np.float32)], []
        for column, codec in zip(self.columns, self.codecs):
            block, column_codes = codec.encode(data.column(column.name), rng)
            blocks.append(block)
            codes.extend(column_codes)
        return np.ascontiguousarray(np.hstack(blocks), dtype=np.float32), codes

    def decode(self, matrix: np.ndarray, rng: np.random.Generator) -> pa.Table:
        rngs = rng.spawn(len(self.codecs))
        arrays = [codec.decode(matrix[:, a:b], r) for codec, (a, b), r in zip(self.codecs, self.column_spans, rngs)]
        return pa.table(arrays, names=[c.name for c in self.columns])

    def draw(self, n: int, rng: np.random.Generator) -> pa.Table:
        """Independent columns from the transforms alone (schema-only generation)."""
        rngs = rng.spawn(len(self.codecs))
        arrays = [
            draw_marginal(codec.transform, n, r, codec.nulls.sample(n, r) if codec.nulls.active else None)
            for codec, r in zip(self.codecs, rngs)
        ]
        return pa.table(arrays, names=[c.name for c in self.columns])

    def to_state(self) -> tuple[list[dict[str, Any]], dict[str, np.ndarray]]:
        metas, arrays = [], {}
        for i, codec in enumerate(self.codecs):
            meta, column_arrays = codec.state()
            metas.append(meta)
            arrays.update({f"c{i}.{key}": value for key, value in column_arrays.items()})
        return metas, arrays

    @classmethod
    def from_state(
        cls, table: Table, names: list[str], metas: list[dict[str, Any]], arrays: dict[str, np.ndarray]
    ) -> "TableEncoder":
        bounds = column_bounds(table)
        columns = [table.column(name) for name in names]
        codecs = [
            _load_codec(c, bounds[c.name], meta, _prefixed(arrays, f"c{i}."))
            for i, (c, meta) in enumerate(zip(columns, metas))
        ]
        return cls(columns, codecs)


def _fit_codec(
    values: pa.ChunkedArray, column: Column, bounds, options: dict[str, Any], max_modes: int, rng: np.random.Generator,
    exact: ExactMarginal | None = None,
) -> _ColumnCodec:
    transform = default_transform(column, **options).fit(values, column, bounds, exact)
    nulls = NullIndicator.fit(values, column, exact)
    if transform.schema_only:
        return _ColumnCodec(transform, nulls)
    if transform.categorical:
        return _CategoryCodec(transform, nulls)
    numbers = transform.codec.to_numbers(as_array(values).drop_null())
    return _NumericCodec(transform, nulls, ModeNormalizer.fit(numbers, max_modes, rng))


_DRAWN = 20_000  # values drawn from a released distribution to fit its modes on


def _released_codec(release, max_modes: int, rng: np.random.Generator) -> _ColumnCodec:
    """A column codec from its DP release; the modes are fitted on values drawn from the released
    quantiles (post-processing), and training values are clipped to the released range."""
    transform, nulls = release.transform, release.nulls
    if transform.categorical:
        return _CategoryCodec(transform, nulls)
    codec = _NumericCodec(transform, nulls, ModeNormalizer.fit(transform.grid.from_normal(
        rng.standard_normal(_DRAWN)), max_modes, rng))
    low, high = transform.grid.from_normal(np.array([-40.0, 40.0]))
    codec.limits = (float(low), float(high))
    return codec


def _load_codec(column: Column, bounds, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> _ColumnCodec:
    transform = get_transform(meta["transform"]["name"]).from_state(
        column, bounds, meta["transform"], _prefixed(arrays, "t.")
    )
    nulls = NullIndicator.from_dict(meta["nulls"])
    if meta["kind"] == "numeric":
        return _NumericCodec(transform, nulls, ModeNormalizer.from_state(meta["modes"], _prefixed(arrays, "m.")))
    return (_CategoryCodec if meta["kind"] == "category" else _ColumnCodec)(transform, nulls)


def _prefixed(arrays: dict[str, np.ndarray], prefix: str) -> dict[str, np.ndarray]:
    return {key[len(prefix) :]: value for key, value in arrays.items() if key.startswith(prefix)}
