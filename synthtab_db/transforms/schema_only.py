"""Values drawn from a column's declared type and CHECK bounds alone.

When a table has no rows (or a column only NULLs) there is nothing to learn,
yet GENERATE must still fill it with values the schema accepts.  Each kind has
a default range or alphabet; CHECK bounds, IN-sets, ENUM labels and VARCHAR(n)
narrow it.  Transforms "fit" on such a sample, so schema-only generation goes
through exactly the same code as learned generation.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from synthtab_db.planner.schema import Column, ColumnType, Kind
from synthtab_db.transforms.bounds import Bounds
from synthtab_db.transforms.codecs import NUMBER_CODECS, arrow_type, number_domain
from synthtab_db.transforms.strings import random_uuids, random_words

#: Nullable columns come out about this often NULL when there is no data.
SCHEMA_NULL_RATE = 0.1

DEFAULT_RANGES: dict[Kind, tuple[str | float, str | float]] = {
    Kind.INTEGER: (1, 1000),
    Kind.FLOAT: (0, 1000),
    Kind.DECIMAL: (0, 1000),
    Kind.DATE: ("2000-01-01", "2030-12-31"),
    Kind.TIME: ("00:00:00", "23:59:59"),
    Kind.TIMESTAMP: ("2000-01-01 00:00:00", "2030-12-31 23:59:59"),
    Kind.TIMESTAMPTZ: ("2000-01-01 00:00:00+00:00", "2030-12-31 23:59:59+00:00"),
}


def schema_values(column_type: ColumnType, bounds: Bounds, n: int, rng: np.random.Generator) -> pa.Array:
    """``n`` non-null values of ``column_type`` that satisfy ``bounds``."""
    return _GENERATORS[column_type.kind](column_type, bounds, n, rng)


def schema_null_rate(column: Column) -> float:
    return SCHEMA_NULL_RATE if column.nullable else 0.0


def _numbers(column_type: ColumnType, bounds: Bounds, n: int, rng: np.random.Generator) -> pa.Array:
    codec = NUMBER_CODECS[column_type.kind]
    domain = number_domain(column_type, bounds)
    if domain.allowed is not None:
        return codec.from_numbers(rng.choice(domain.allowed, size=n))
    low, high = _default_range(column_type.kind, domain.low, domain.high)
    if codec.integral:
        return codec.from_numbers(rng.integers(np.ceil(low), np.floor(high) + 1, size=n).astype(np.float64))
    numbers = rng.uniform(low, high, size=n)
    if column_type.kind is Kind.DECIMAL:
        numbers = np.clip(np.round(numbers, column_type.scale or 0), low, high)
    return codec.from_numbers(numbers)


def _default_range(kind: Kind, low: float, high: float) -> tuple[float, float]:
    """The kind's default range moved inside [low, high] (kept whole if it fits)."""
    parse = NUMBER_CODECS[kind].parse
    d_low, d_high = (parse(v) for v in DEFAULT_RANGES[kind])
    width = d_high - d_low
    lo, hi = np.clip(d_low, low, high), np.clip(d_high, low, high)
    if lo < hi:
        return float(lo), float(hi)
    if low > d_high:
        return low, min(high, low + width)
    return max(low, high - width), high


def _booleans(column_type: ColumnType, bounds: Bounds, n: int, rng: np.random.Generator) -> pa.Array:
    if bounds.values:
        return pa.array(rng.choice(np.array([bool(v) for v in bounds.values]), size=n))
    return pa.array(rng.random(n) < 0.5)


def _labels(column_type: ColumnType, bounds: Bounds, n: int, rng: np.random.Generator) -> pa.Array:
    """IN-set or ENUM labels uniformly; otherwise random lowercase words within length."""
    if bounds.values:
        return pa.array(np.array([str(v) for v in bounds.values])[rng.integers(len(bounds.values), size=n)])
    longest = bounds.max_length if bounds.max_length is not None else 10
    shortest = bounds.min_length if bounds.min_length is not None else min(3, longest)
    return random_words(n, rng, max(shortest, 1 if longest else 0), longest)


def _json(column_type: ColumnType, bounds: Bounds, n: int, rng: np.random.Generator) -> pa.Array:
    words = random_words(n, rng, 3, 10)
    return pc.binary_join_element_wise('"', words, '"', "")


def _uuids(column_type: ColumnType, bounds: Bounds, n: int, rng: np.random.Generator) -> pa.Array:
    return _labels(column_type, bounds, n, rng) if bounds.values else random_uuids(n, rng)


def _blobs(column_type: ColumnType, bounds: Bounds, n: int, rng: np.random.Generator) -> pa.Array:
    return random_words(n, rng, 4, 16).cast(pa.binary())


def _intervals(column_type: ColumnType, bounds: Bounds, n: int, rng: np.random.Generator) -> pa.Array:
    days = rng.integers(0, 366, size=n).tolist()
    return pa.array([(0, d, 0) for d in days], type=pa.month_day_nano_interval())


def _lists(column_type: ColumnType, bounds: Bounds, n: int, rng: np.random.Generator) -> pa.Array:
    """Lists of 0-3 elements drawn from the element type's own schema defaults."""
    element = column_type.element or ColumnType(kind=Kind.STRING, sql="VARCHAR")
    lengths = rng.integers(0, 4, size=n)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
    items = schema_values(element, Bounds(), int(offsets[-1]), rng).cast(arrow_type(element))
    return pa.ListArray.from_arrays(pa.array(offsets), items, type=arrow_type(column_type))


_GENERATORS: dict[Kind, Callable[[ColumnType, Bounds, int, np.random.Generator], pa.Array]] = {
    **{kind: _numbers for kind in NUMBER_CODECS},
    Kind.BOOLEAN: _booleans,
    Kind.STRING: _labels,
    Kind.ENUM: _labels,
    Kind.UUID: _uuids,
    Kind.JSON: _json,
    Kind.BLOB: _blobs,
    Kind.INTERVAL: _intervals,
    Kind.LIST: _lists,
}
