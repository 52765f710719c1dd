"""The contract every column transform follows (RDT-style fit / forward / reverse).

A transform learns one column's marginal and maps it to what a model works on
(normal scores for ordered kinds, frequency-ordered codes for categories), and
back to Arrow values typed for the column's kind.  NULLs are not its business:
``forward`` leaves them as NaN / -1 and ``reverse`` takes a NULL mask, because
the missingness pattern is a variable of its own (see ``nulls.NullIndicator``)
that models learn jointly with the values.

A column with no non-null values is fitted on a sample drawn from its schema
(type, CHECK bounds), so schema-only generation is the same code path.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from synthtab_db.planner.schema import Column, Kind
from synthtab_db.transforms.bounds import Bounds
from synthtab_db.transforms.marginals import ExactMarginal
from synthtab_db.transforms.schema_only import schema_values

#: Rows drawn from the schema to fit a column that has no data.
SCHEMA_SAMPLE = 4096


def as_array(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """One contiguous Arrow array (models hand in table columns, which are chunked)."""
    if not isinstance(values, pa.ChunkedArray):
        return values
    if values.num_chunks == 1:
        return values.chunk(0)
    if pa.types.is_dictionary(values.type) and values.num_chunks:
        return _joined_dictionaries(values)
    return values.combine_chunks()


def _joined_dictionaries(values: pa.ChunkedArray) -> pa.DictionaryArray:
    """Dictionary chunks with dictionaries of their own (a sampled block's rare values, a NULL
    label) as one array: the dictionaries laid end to end, each chunk's codes shifted past
    the ones before.  Arrow's own concatenation refuses a dictionary that holds a NULL, and
    decoding would copy every string."""
    chunks = values.chunks
    shifts = np.cumsum([0] + [len(c.dictionary) for c in chunks])
    index = pa.int32() if shifts[-1] < 2**31 else pa.int64()
    codes = pa.concat_arrays([pc.add(c.indices.cast(index), pa.scalar(int(s), index)) for c, s in zip(chunks, shifts)])
    return pa.DictionaryArray.from_arrays(codes, pa.concat_arrays([c.dictionary for c in chunks]))


class ColumnTransform(ABC):
    """fit on a column, forward to model space, reverse to Arrow values."""

    name: ClassVar[str]
    kinds: ClassVar[tuple[Kind, ...]]
    categorical: ClassVar[bool]  # forward gives codes (True) or normal scores (False)
    defaults: ClassVar[dict[str, Any]] = {}

    def __init__(self, **options: Any) -> None:
        self.options = {key: options.get(key, value) for key, value in self.defaults.items()}
        self.seed = int(options.get("seed") or 0)
        self.schema_only = False
        self.exact: ExactMarginal | None = None

    def fit(self, values: pa.Array | pa.ChunkedArray, column: Column, bounds: Bounds | None = None,
            exact: ExactMarginal | None = None) -> "ColumnTransform":
        """Learn the non-null values' distribution (or the schema's, when there are none);
        ``exact``: the whole table's statistics when ``values`` are a sample of it."""
        self.column, self.bounds, self.exact = column, bounds or Bounds(), exact
        present = as_array(values).drop_null()
        self.schema_only = len(present) == 0
        if self.schema_only:
            rng = np.random.default_rng([self.seed, 0x5C4E3A])
            present = schema_values(column.type, self.bounds, SCHEMA_SAMPLE, rng)
        self._fit(present)
        return self

    @abstractmethod
    def _fit(self, present: pa.Array) -> None:
        ...

    @abstractmethod
    def forward(self, values: pa.Array | pa.ChunkedArray, rng: np.random.Generator | None = None) -> np.ndarray:
        """Model space: normal scores (NaN for NULL) or codes (-1 for NULL)."""

    @abstractmethod
    def reverse(self, data: np.ndarray, rng: np.random.Generator | None = None,
                nulls: np.ndarray | None = None) -> pa.Array:
        """Arrow values of the column's output type; ``nulls`` marks rows to leave NULL."""

    def _rng(self, rng: np.random.Generator | None) -> np.random.Generator:
        return rng if rng is not None else np.random.default_rng(self.seed)

    def to_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """JSON-safe settings plus numeric arrays; see ``from_state``."""
        meta = {"name": self.name, "options": self.options, "seed": self.seed, "schema_only": self.schema_only}
        return meta, self._arrays()

    @classmethod
    def from_state(cls, column: Column, bounds: Bounds, meta: dict[str, Any],
                   arrays: dict[str, np.ndarray]) -> "ColumnTransform":
        transform = cls(seed=meta["seed"], **meta["options"])
        transform.column, transform.bounds, transform.schema_only = column, bounds, meta["schema_only"]
        transform._load(arrays)
        return transform

    @abstractmethod
    def _arrays(self) -> dict[str, np.ndarray]:
        ...

    @abstractmethod
    def _load(self, arrays: dict[str, np.ndarray]) -> None:
        ...
