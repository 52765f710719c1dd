"""The synthesizer protocol: what every model (copula, argn, ctgan, ...) provides.

The engine hands a model only the columns it should learn: keys come from key
generators and foreign keys from the parent tables, never from the model.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

import pyarrow as pa
from pydantic import BaseModel

from synthtab_db.planner.schema import Table


class Synthesizer(ABC):
    """fit on an Arrow table, sample Arrow tables, round-trip through bytes.

    ``table`` is the schema of the source table (types, CHECK ranges, enums): a
    model fitted on zero rows must still produce values that fit it
    (schema-only generation).  ``sample`` returns exactly the fitted columns, in
    order, with Arrow types matching the schema's kinds.
    """

    name: ClassVar[str]
    options_model: ClassVar[type[BaseModel] | None] = None  # WITH options this model accepts
    supports_conditions: ClassVar[bool] = False  # samples WHERE conditions itself (else: filtered)

    def __init__(self, **options: Any) -> None:
        self.options = options

    @abstractmethod
    def fit(self, data: pa.Table, table: Table, context: pa.Table | None = None) -> "Synthesizer":
        ...

    @abstractmethod
    def sample(self, n: int, *, seed: int | None = None, context: pa.Table | None = None) -> pa.Table:
        """``n`` rows.  A model with ``supports_conditions`` also takes
        ``conditions: dict[str, synthtab_db.conditions.Condition]`` (column -> allowed values)."""

    @abstractmethod
    def to_bytes(self) -> bytes:
        ...

    @classmethod
    @abstractmethod
    def from_bytes(cls, blob: bytes) -> "Synthesizer":
        ...
