"""A table's columns as one row of token ids, and back.

Ordered kinds (numbers, dates, times, timestamps) go through ``NumberEncoder``
(quantile bins), everything else through ``CategoryEncoder`` (the shared
categorical transform); each column's NULL is a token of its own, so
missingness is predicted from, and informs, the other columns.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from synthtab_db.conditions import Condition
from synthtab_db.errors import SynthError
from synthtab_db.models.argn.categories import CategoryEncoder
from synthtab_db.models.argn.numbers import NumberEncoder
from synthtab_db.models.argn.restriction import Restriction
from synthtab_db.planner.schema import Column, Table
from synthtab_db.transforms import QuantileTransform, column_bounds
from synthtab_db.transforms.marginals import ExactMarginal

Encoder = NumberEncoder | CategoryEncoder
_ENCODERS = {"number": NumberEncoder, "category": CategoryEncoder}


def encoder_class(column: Column) -> type[Encoder]:
    return NumberEncoder if column.type.kind in QuantileTransform.kinds else CategoryEncoder


class TableEncoding:
    """One encoder per fitted column, in the columns' order."""

    def __init__(self, columns: list[Column], encoders: list[Encoder]) -> None:
        self.columns, self.encoders = columns, encoders

    @classmethod
    def fit(cls, data: pa.Table, table: Table, options: dict[str, Any], released: dict | None = None,
            exact: dict[str, ExactMarginal] | None = None) -> "TableEncoding":
        """``released``: DP column statistics by name (``privacy.columns``), used instead of the rows;
        ``exact``: the whole table's statistics of columns ``data`` holds a sample of."""
        columns = [table.column(name) for name in data.column_names]
        if released is not None:
            return cls(columns, [encoder_class(c).from_release(c, released[c.name], options) for c in columns])
        bounds, exact = column_bounds(table), exact or {}
        encoders = [encoder_class(c).fit(data.column(c.name), c, bounds[c.name], options, exact.get(c.name))
                    for c in columns]
        return cls(columns, encoders)

    @property
    def vocabulary(self) -> list[int]:
        return [encoder.vocabulary for encoder in self.encoders]

    def encode(self, data: pa.Table, rng: np.random.Generator) -> np.ndarray:
        """(rows, columns) token ids."""
        tokens = [encoder.encode(data.column(c.name), rng) for c, encoder in zip(self.columns, self.encoders)]
        return np.stack(tokens, axis=1) if tokens else np.zeros((data.num_rows, 0), dtype=np.int64)

    def decode(self, tokens: np.ndarray, rng: np.random.Generator,
               restrictions: dict[int, Restriction], start: int = 0) -> list[pa.Array]:
        """Values of columns ``start`` onwards (the ones before are the given context)."""
        return [encoder.decode(tokens[:, j], rng, restrictions.get(j))
                for j, encoder in enumerate(self.encoders) if j >= start]

    def encode_given(self, context: pa.Table, rng: np.random.Generator) -> np.ndarray:
        """Tokens of the leading context columns; a value the model never saw (a NULL where it
        learned none) falls on the column's last token rather than outside the vocabulary."""
        tokens = [np.minimum(encoder.encode(context.column(c.name), rng), encoder.vocabulary - 1)
                  for c, encoder in zip(self.columns, self.encoders) if c.name in context.column_names]
        return np.stack(tokens, axis=1) if tokens else np.zeros((context.num_rows, 0), dtype=np.int64)

    def priors(self) -> list[np.ndarray]:
        return [encoder.prior() for encoder in self.encoders]

    def restrictions(self, conditions: dict[str, Condition] | None) -> dict[int, Restriction]:
        """Column position -> restriction, in the order the conditions were given."""
        found: dict[int, Restriction] = {}
        for key, condition in (conditions or {}).items():
            j = self._position(condition.column or key)
            found[j] = self.encoders[j].restrict(condition)
        return found

    def _position(self, name: str) -> int:
        for j, column in enumerate(self.columns):
            if column.name.lower() == name.lower():
                return j
        allowed = ", ".join(c.name for c in self.columns)
        raise SynthError(f"condition on {name!r}, which the model does not generate (columns: {allowed})")

    def to_state(self) -> tuple[list[dict[str, Any]], dict[str, np.ndarray]]:
        metas, arrays = [], {}
        for j, encoder in enumerate(self.encoders):
            meta, state = encoder.to_state()
            metas.append(meta)
            arrays.update({f"{j}.{key}": value for key, value in state.items()})
        return metas, arrays

    @classmethod
    def from_state(cls, table: Table, names: list[str], metas: list[dict[str, Any]],
                   arrays: dict[str, np.ndarray]) -> "TableEncoding":
        columns = [table.column(name) for name in names]
        bounds = column_bounds(table)
        encoders = [_ENCODERS[meta["encoder"]].from_state(c, bounds[c.name], meta, _prefixed(arrays, f"{j}."))
                    for j, (c, meta) in enumerate(zip(columns, metas))]
        return cls(columns, encoders)


def _prefixed(arrays: dict[str, np.ndarray], prefix: str) -> dict[str, np.ndarray]:
    return {key[len(prefix):]: value for key, value in arrays.items() if key.startswith(prefix)}
