"""Keys for a source with no rows: chosen from the column type alone.

Integers count from 1, dates from 2000-01-01, strings are '1', '2', ...,
UUIDs random; an ENUM or BOOLEAN key can only use its few labels.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from synthtab_db.keys.base import KeyGenerator, as_strings, register_key_generator
from synthtab_db.keys.formatted import FormattedKeys
from synthtab_db.keys.sequence import SequenceKeys
from synthtab_db.keys.uuid import UuidKeys
from synthtab_db.planner.schema import Column, Kind
from synthtab_db.transforms.codecs import NUMBER_CODECS, arrow_type
from synthtab_db.transforms.schema_only import DEFAULT_RANGES


@register_key_generator
class LabelKeys(KeyGenerator):
    """Keys from a finite set of labels (ENUM labels, true/false), each used once."""

    name = "labels"

    def __init__(self, labels: list[str] | None = None) -> None:
        self.labels = labels or []

    @classmethod
    def accepts(cls, present: pa.Array, column: Column) -> bool:
        return column.type.kind in (Kind.ENUM, Kind.BOOLEAN)

    def _fit(self, present: pa.Array) -> None:
        labels = self.column.type.enum_values if self.column.type.kind is Kind.ENUM else None
        self.labels = list(labels) if labels else ["true", "false"]

    def generate(self, n: int, rng: np.random.Generator,
                 existing: pa.Array | pa.ChunkedArray | None = None) -> pa.Array:
        free = pa.array(self.labels, type=pa.string())
        free = free.filter(pc.invert(pc.is_in(free, value_set=as_strings(existing))))
        if n > len(free):
            raise self._error(f"only {len(free)} unused labels are left for {n} keys")
        return free.take(pa.array(rng.permutation(len(free))[:n])).cast(arrow_type(self.column.type))

    def _params(self) -> dict[str, Any]:
        return {"labels": self.labels}

    def _load(self, params: dict[str, Any]) -> None:
        self.labels = list(params["labels"])


def _sequence(column: Column) -> KeyGenerator:
    first = NUMBER_CODECS[column.type.kind].parse(DEFAULT_RANGES[column.type.kind][0])
    return SequenceKeys(start=int(first))


_FROM_TYPE: dict[Kind, Callable[[Column], KeyGenerator]] = {
    **{kind: _sequence for kind in NUMBER_CODECS},
    Kind.STRING: lambda column: FormattedKeys(),
    Kind.JSON: lambda column: FormattedKeys(),
    Kind.UUID: lambda column: UuidKeys(),
    Kind.ENUM: lambda column: LabelKeys(),
    Kind.BOOLEAN: lambda column: LabelKeys(),
}


@register_key_generator
class SchemaKeys(KeyGenerator):
    """Picks a generator from the type and delegates to it."""

    name = "schema"

    def _fit(self, present: pa.Array) -> None:
        make = _FROM_TYPE.get(self.column.type.kind)
        if make is None:
            raise self._error(f"no key generator for {self.column.type.sql} columns")
        self.inner = make(self.column).fit(present, self.column)

    def generate(self, n: int, rng: np.random.Generator,
                 existing: pa.Array | pa.ChunkedArray | None = None) -> pa.Array:
        return self.inner.generate(n, rng, existing)

    def continues(self) -> bool:
        return self.inner.continues()

    def is_positional(self) -> bool:
        return self.inner.is_positional()

    def at(self, positions: np.ndarray) -> pa.Array:
        return self.inner.at(positions)

    def _params(self) -> dict[str, Any]:
        return {"inner": self.inner.to_dict()}

    def _load(self, params: dict[str, Any]) -> None:
        self.inner = KeyGenerator.from_dict(params["inner"])
