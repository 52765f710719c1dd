"""WITH options of USING argn: few, each one a knob a user has a reason to turn."""

from __future__ import annotations

from typing import Any

from pydantic import Field, ValidationError

from synthtab_db.errors import SynthError
from synthtab_db.models.options import TorchOptions
from synthtab_db.privacy.options import PrivacyOptions


class ArgnOptions(TorchOptions, PrivacyOptions):
    """Training budget, network size and the shared category settings.

    ``max_seconds`` bounds the wall clock as well as ``epochs``: the engine runs
    inside a statement, and a fit that never ends is worse than a slightly
    weaker model.  A fit stopped by the clock keeps its best epoch, but is not
    reproducible run to run (the seed fixes everything else).
    """

    epochs: int = Field(100, ge=1, description="upper bound; early stopping usually ends sooner")
    batch_size: int = Field(1024, ge=1, description="rows per training step (fewer on small tables)")
    learning_rate: float = Field(4e-3, gt=0, le=1.0)
    embedding_dim: int = Field(16, ge=2, le=256, description="largest per-column embedding")
    hidden_dim: int = Field(128, ge=8, le=4096, description="width of each column's hidden layer")
    max_bins: int = Field(100, ge=2, le=1000, description="quantile bins of a numeric or date column")
    max_categories: int = Field(1000, ge=2, description="categories kept per column; the rest are pooled")


def validate(options: dict[str, Any]) -> ArgnOptions:
    """The options, or a SynthError naming the first bad one (as the statement layer reports them)."""
    try:
        return ArgnOptions(**options)
    except ValidationError as err:
        first = err.errors()[0]
        key = ".".join(str(p) for p in first["loc"])
        raise SynthError(f"argn option {key!r}: {first['msg']} (got {first.get('input')!r})") from None


#: Share of epsilon whose noise alone the column statistics get (the model's mechanism the rest,
#: under composition).  Composition makes the statistics cheap for DP-SGD: at epsilon 1 on
#: Adult 0.4 instead of 0.2 halves their noise (sigma 19.2 -> 10.1; univariate accuracy 0.970 ->
#: 0.983) and raises the model's noise multiplier by 7% (8.0 -> 8.6): accuracy 0.928 -> 0.939.
DP_STATISTICS_SHARE = 0.4
