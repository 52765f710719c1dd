"""Integer (and other ordered) keys: continue the source's sequence, step 1.

The first generation into an empty target starts at the source's smallest
key (a table keyed 1..N gets 1..n); later ones continue after the largest key
already in the target.  Dates step a day, times and timestamps a second.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from synthtab_db.keys.base import KeyGenerator, register_key_generator
from synthtab_db.planner.schema import Column, Kind
from synthtab_db.transforms.base import as_array
from synthtab_db.transforms.codecs import NUMBER_CODECS, type_limits

_STEPS: dict[Kind, int] = {Kind.TIME: 1_000_000, Kind.TIMESTAMP: 1_000_000, Kind.TIMESTAMPTZ: 1_000_000}


@register_key_generator
class SequenceKeys(KeyGenerator):
    name = "sequence"

    def __init__(self, start: int = 1) -> None:
        self.start = start

    @classmethod
    def accepts(cls, present: pa.Array, column: Column) -> bool:
        return column.type.kind in NUMBER_CODECS

    def _fit(self, present: pa.Array) -> None:
        self.start = _smallest(present, self.column) if len(present) else self.start

    def generate(self, n: int, rng: np.random.Generator,
                 existing: pa.Array | pa.ChunkedArray | None = None) -> pa.Array:
        step = _STEPS.get(self.column.type.kind, 1)
        first = max(self.start - step, _largest(existing, self.column)) + step
        last = first + step * (n - 1)
        if n and last > type_limits(self.column.type)[1]:
            raise self._error(f"the sequence would pass the largest {self.column.type.sql} value")
        return _to_arrow(first + step * np.arange(n, dtype=np.int64), self.column)

    def continues(self) -> bool:
        return True

    def is_positional(self) -> bool:
        return True

    def at(self, positions: np.ndarray) -> pa.Array:
        step = _STEPS.get(self.column.type.kind, 1)
        numbers = self.start + step * np.asarray(positions, dtype=np.int64)
        if numbers.size and numbers.max() > type_limits(self.column.type)[1]:
            raise self._error(f"position {int(np.max(positions))} passes the largest {self.column.type.sql} value")
        return _to_arrow(numbers, self.column)

    def _params(self) -> dict[str, Any]:
        return {"start": self.start}

    def _load(self, params: dict[str, Any]) -> None:
        self.start = int(params["start"])


def _numbers(values: pa.Array, column: Column) -> np.ndarray:
    """Keys as int64 numbers: exact for integers, days/microseconds for temporal kinds."""
    if column.type.kind is Kind.INTEGER:
        return values.cast(pa.int64()).to_numpy(zero_copy_only=False)
    return np.floor(NUMBER_CODECS[column.type.kind].to_numbers(values)).astype(np.int64)


def _smallest(values: pa.Array, column: Column) -> int:
    return int(_numbers(values, column).min())


def _largest(existing: pa.Array | pa.ChunkedArray | None, column: Column) -> int:
    present = as_array(existing).drop_null() if existing is not None else None
    if present is None or len(present) == 0:
        return -(2**62)
    return int(_numbers(present, column).max())


def _to_arrow(numbers: np.ndarray, column: Column) -> pa.Array:
    if column.type.kind is Kind.INTEGER:
        return pa.array(numbers, type=pa.int64())
    return NUMBER_CODECS[column.type.kind].from_numbers(numbers.astype(np.float64))
