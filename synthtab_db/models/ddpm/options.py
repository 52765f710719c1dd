"""WITH options of USING ddpm (validated on construction: a bad one is a SynthError naming it)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from synthtab_db.models.neural.options import NeuralOptions
from synthtab_db.privacy.options import PrivacyOptions


class DDPMOptions(NeuralOptions, PrivacyOptions):
    """Training, network and sampler options of the diffusion model."""

    max_seconds: float = Field(270.0, gt=0, description="training stops after this many seconds")
    epochs: int = Field(300, ge=1, le=100_000, description="passes over the data (bounded by max_seconds)")
    batch_size: int = Field(1024, ge=2, le=1_000_000, description="rows per training step")
    lr: float = Field(2e-3, gt=0, le=1.0, description="AdamW learning rate")
    weight_decay: float = Field(1e-5, ge=0, le=1.0, description="AdamW weight decay")
    hidden_dim: int = Field(256, ge=8, le=8192, description="width of the denoiser's hidden layers")
    layers: int = Field(3, ge=1, le=16, description="hidden layers of the denoiser")
    embedding_dim: int = Field(64, ge=2, le=4096, description="width of the sinusoidal timestep embedding")
    timesteps: int = Field(1000, ge=2, le=100_000, description="diffusion steps T of training")
    sample_steps: int = Field(20, ge=1, le=100_000, description="denoising steps when sampling (strided, <= timesteps)")
    schedule: Literal["cosine", "linear"] = Field("cosine", description="noise schedule")
    prediction: Literal["v", "x0", "eps"] = Field("v", description="what the denoiser predicts for numbers: "
                                                  "velocity (x0 beyond sqrt(ab) x_t), the clean value or the noise")
    max_modes: int = Field(1, ge=1, le=50, description="unused by ddpm (numbers are quantile-normalised)")

    @model_validator(mode="after")
    def _sample_steps_within_timesteps(self) -> "DDPMOptions":
        if self.sample_steps > self.timesteps:
            raise ValueError(f"sample_steps ({self.sample_steps}) must be at most timesteps ({self.timesteps})")
        return self
