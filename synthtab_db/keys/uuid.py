"""UUID keys: random version-4 UUIDs, in the source's letter case."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from synthtab_db.keys.base import KeyGenerator, as_strings, draw_unique, register_key_generator
from synthtab_db.planner.schema import Column, Kind
from synthtab_db.transforms.strings import random_uuids

_UUID = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"


@register_key_generator
class UuidKeys(KeyGenerator):
    name = "uuid"

    def __init__(self, upper: bool = False) -> None:
        self.upper = upper

    @classmethod
    def accepts(cls, present: pa.Array, column: Column) -> bool:
        if column.type.kind is Kind.UUID:
            return True
        return len(present) > 0 and pc.all(pc.match_substring_regex(as_strings(present), _UUID)).as_py()

    def _fit(self, present: pa.Array) -> None:
        strings = as_strings(present)
        self.upper = len(strings) > 0 and pc.any(pc.match_substring_regex(strings, "[A-F]")).as_py()

    def generate(self, n: int, rng: np.random.Generator,
                 existing: pa.Array | pa.ChunkedArray | None = None) -> pa.Array:
        taken = _normalised(as_strings(existing), self.upper)
        return draw_unique(lambda k: random_uuids(k, rng, self.upper), n, taken,
                           lambda: self._error("could not draw distinct UUIDs"))

    def _params(self) -> dict[str, Any]:
        return {"upper": self.upper}

    def _load(self, params: dict[str, Any]) -> None:
        self.upper = bool(params["upper"])


def _normalised(values: pa.Array, upper: bool) -> pa.Array:
    """Existing UUIDs in our case, so 'ABC...' and 'abc...' count as the same key."""
    return pc.utf8_upper(values) if upper else pc.utf8_lower(values)
