"""The synthesizer protocol: what every model (copula, argn, ctgan, ...) provides.

The engine hands a model only the columns it should learn: keys come from key
generators and foreign keys from the parent tables, never from the model.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

import pyarrow as pa
from pydantic import BaseModel

from synthtab_db.models.fit_context import FitContext
from synthtab_db.planner.schema import Table
from synthtab_db.privacy.accountant import PrivacyPlan


class Synthesizer(ABC):
    """fit on an Arrow table, sample Arrow tables, round-trip through bytes.

    ``table`` is the schema of the source table (types, CHECK ranges, enums): a
    model fitted on zero rows must still produce values that fit it
    (schema-only generation).  ``sample`` returns exactly the fitted columns, in
    order, with Arrow types matching the schema's kinds.
    """

    # what the model is and supports, declared here (the engine reads these, never probes)
    name: ClassVar[str]
    options_model: ClassVar[type[BaseModel] | None] = None  # WITH options this model accepts
    preference: ClassVar[int] = 0  # the default model is the installed one with the highest
    supports_conditions: ClassVar[bool] = False  # samples WHERE conditions itself (else: filtered)
    supports_context: ClassVar[bool] = True  # learns a child's rows jointly with its parent's columns
    supports_encoded: ClassVar[bool] = False  # sample(..., encoded=True): string categories as dictionary arrays
    dp_mechanism: ClassVar[str | None] = None  # how a DP fit protects rows; None: no differential privacy
    dp_statistics_share: ClassVar[float | None] = None  # of a DP budget, for released column statistics
    dp_min_rows: ClassVar[int] = 0  # fewer rows: the DP fit releases nothing learned, so spends nothing

    # what a fitted model reports back
    privacy: PrivacyPlan | None = None  # after a DP fit: what it spent (the engine reports and records it)
    malformed_rows: int = 0  # rows it generated, found malformed and redrew (a model that parses its output)

    def __init__(self, **options: Any) -> None:
        self.options = options

    @abstractmethod
    def fit(self, data: pa.Table, table: Table, context: pa.Table | None = None,
            run: FitContext | None = None) -> "Synthesizer":
        """``run``: the engine's frozen context (seed, device, DP plan and units, epoch callback,
        time budget, sample); None for a direct fit (``fit_context`` builds one)."""

    def fit_context(self, run: FitContext | None, rows: int, on_epoch=None) -> FitContext:
        return run if run is not None else FitContext.standalone(type(self), self.options, rows, on_epoch)

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
