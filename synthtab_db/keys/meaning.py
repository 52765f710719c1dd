"""Unique keys that look like what the column means (a UNIQUE email column gets
distinct emails, even for a table with no rows), made by ``rules.values``."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from synthtab_db.keys.base import KeyGenerator, as_strings, draw_unique, register_key_generator
from synthtab_db.rules.values import make_values


@register_key_generator
class MeaningKeys(KeyGenerator):
    name = "meaning"

    def __init__(self, meaning: str = "code", hints: dict | None = None) -> None:
        self.meaning, self.hints = meaning, hints or {}

    def _fit(self, present: pa.Array) -> None:
        """Nothing from the rows: the profile already chose the meaning and hints."""

    def generate(self, n: int, rng: np.random.Generator,
                 existing: pa.Array | pa.ChunkedArray | None = None) -> pa.Array:
        return draw_unique(lambda k: make_values(self.meaning, k, rng, self.hints), n, as_strings(existing),
                           lambda: self._error(f"could not draw {n} distinct {self.meaning} values"))

    def _params(self) -> dict[str, Any]:
        return {"meaning": self.meaning, "hints": self.hints}

    def _load(self, params: dict[str, Any]) -> None:
        self.meaning, self.hints = params["meaning"], params["hints"]
