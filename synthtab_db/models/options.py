"""WITH options every model shares: the seed and how rare categories are treated
(the shared CategoricalTransform reads these)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ModelOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seed: int | None = Field(None, ge=0, le=2**63 - 1, description="same seed, same data (on the same device)")
    min_count: int = Field(5, ge=1, description="categories seen fewer times are pooled as rare")
    protect_rare: bool = Field(False, description="emit rare_token instead of real rare values")
    rare_token: str = "<other>"
    columns: dict[str, str] = Field({}, description="column -> meaning, over the profile: {'rownames': 'id'}")
    clip_extremes: int = Field(0, ge=0, description="the k smallest and largest numbers are capped to the next ones")
    train_rows: int | None = Field(None, ge=100, description="the model learns from a seeded sample of at most this "
                                   "many rows (default 200,000; exact counts still come from the whole table)")


class TorchOptions(ModelOptions):
    """Options of the models that train with torch."""

    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="'auto' takes CUDA when present")
    max_seconds: float = Field(120.0, gt=0, description="training stops after this many seconds")
