"""What a fit receives from the engine, in one frozen value: nothing is set onto a model
from outside.

The engine builds it once per table (``engine/learn.py``): the seed, device and time budget
the statement's options gave, the DP plan already set up (``privacy/setup.py``: calibration
inputs, the mechanisms the engine reserved from the same budget, the model's declared
statistics share), the privacy units of a child table's rows, the epoch callback, what
was sampled, and the sampled columns' whole-table statistics.  A model fitted directly (tests, notebooks) gets ``FitContext.standalone``,
built the same way from its own options.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from synthtab_db.privacy.accountant import PrivacyPlan
from synthtab_db.privacy.setup import fit_privacy
from synthtab_db.transforms.marginals import ExactMarginal

EpochHook = Callable[[dict], None]


@dataclass(frozen=True)
class SampleInfo:
    """The rows a model learns from: ``rows`` of the source's ``source_rows``."""

    rows: int
    source_rows: int

    @property
    def is_sample(self) -> bool:
        return self.rows < self.source_rows


@dataclass(frozen=True)
class FitContext:
    seed: int | None = None
    device: str = "auto"
    privacy: PrivacyPlan | None = None  # None: not a DP fit; the model adds what its mechanisms spend
    units: np.ndarray | None = None  # a child table's rows under DP: one id per row, its parent
    on_epoch: EpochHook | None = None  # called after every epoch with {epoch, loss, ...}
    max_seconds: float | None = None  # the time budget the options gave (None: the model's default)
    sample: SampleInfo | None = None
    #: a sample's columns' whole-table statistics (NULL rate, categories, range): transforms use them
    marginals: dict[str, ExactMarginal] = field(default_factory=dict)

    def exact(self, column: str) -> ExactMarginal | None:
        return self.marginals.get(column)

    @classmethod
    def standalone(cls, model: type, options: dict[str, Any], rows: int,
                   on_epoch: EpochHook | None = None) -> "FitContext":
        """A direct fit's context: the same set-up the engine does, from the model's own options."""
        return cls(seed=options.get("seed"), device=options.get("device") or "auto",
                   privacy=fit_privacy(model, options, rows), on_epoch=on_epoch,
                   max_seconds=options.get("max_seconds"), sample=SampleInfo(rows, rows))
