"""The WITH options that turn on differential privacy, shared by every model that supports it."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class PrivacyOptions(BaseModel):
    """``epsilon`` set = a DP run; ``delta`` defaults to 1/(10 n) (below 1/n)."""

    epsilon: float | None = Field(None, gt=0, le=1000, description="differential privacy budget of this run")
    delta: float | None = Field(None, gt=0, lt=1, description="DP delta; default 1/(10 n)")
    accountant: Literal["rdp", "prv"] = Field("rdp", description="how DP mechanisms compose: opacus's RDP "
                                              "accountant, or its tighter PRV accountant (less noise, same epsilon)")
    max_grad_norm: float = Field(1.0, gt=0, description="DP-SGD per-row gradient clipping bound")
    max_rows_per_parent: int = Field(8, ge=1, le=10_000, description="child table under DP: rows one parent may "
                                     "contribute (the rest are left out); the privacy unit is the parent")


def with_dp_defaults(options: BaseModel, defaults: dict) -> BaseModel:
    """``options`` with a model's DP defaults for every knob the user did not set: what suits
    DP-SGD (bigger batches, smaller networks) differs from the plain fit's defaults."""
    return options.model_copy(update={k: v for k, v in defaults.items() if k not in options.model_fields_set})

