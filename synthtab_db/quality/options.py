"""WITH options of EVALUATE SYNTHETIC, checked before any work starts.

Unknown keys are refused with the allowed list (the same contract as GENERATE's
options), so a typo such as ``sample_row`` fails loudly instead of being ignored.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from synthtab_db.errors import SynthError
from synthtab_db.statements import validate_options


class EvaluateOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    html: str | None = Field(None, description="write a self-contained HTML report to this path")
    sample_rows: int = Field(
        20_000, ge=100, le=1_000_000, description="rows sampled for pairwise, model and distance parts"
    )
    seed: int = Field(0, ge=0, description="seed for sampling, splits and models")
    sensitive: str | None = Field(None, description="column for the attribute-inference risk")


def parse_options(raw: dict[str, Any]) -> EvaluateOptions:
    """Lower-cased keys in, validated options out; unknown keys name the allowed ones."""
    allowed = sorted(EvaluateOptions.model_fields)
    unknown = [k for k in raw if k not in EvaluateOptions.model_fields]
    if unknown:
        raise SynthError(f"unknown option {unknown[0]!r} for EVALUATE SYNTHETIC; allowed options: {', '.join(allowed)}")
    return validate_options(EvaluateOptions, raw)
