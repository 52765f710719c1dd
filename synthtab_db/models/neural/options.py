"""WITH options every torch synthesizer shares (CTGAN and TVAE add their own).

Options are validated on construction, so ``CTGAN(epochs=0)`` from Python fails
with the same clear ``SynthError`` as ``WITH (epochs = 0)`` in SQL.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, ValidationError

from synthtab_db.errors import SynthError
from synthtab_db.models.options import TorchOptions


class NeuralOptions(TorchOptions):
    """Training and encoding options of USING ctgan / USING tvae."""

    threads: int = Field(1, ge=1, le=256, description="torch CPU threads while fitting and sampling")
    epochs: int = Field(300, ge=1, le=100_000, description="passes over the data (bounded by max_seconds)")
    batch_size: int = Field(500, ge=2, le=1_000_000, description="rows per training step")
    lr: float = Field(2e-4, gt=0, le=1.0, description="Adam learning rate")
    embedding_dim: int = Field(128, ge=1, le=4096, description="noise (CTGAN) or latent (TVAE) width")
    hidden_dim: int = Field(256, ge=1, le=8192, description="width of each hidden layer")
    max_modes: int = Field(10, ge=1, le=50, description="Gaussian modes per numeric column, before pruning")
    max_categories: int = Field(100, ge=2, description="one-hot width cap per column; the rest are pooled")


def validate_options(model: type[BaseModel], options: dict[str, Any], name: str) -> BaseModel:
    """The options as ``model``, or a SynthError naming the first bad key and the allowed ones."""
    try:
        return model(**options)
    except ValidationError as err:
        first = err.errors()[0]
        key = ".".join(str(p) for p in first["loc"]) or "options"
        allowed = ", ".join(model.model_fields)
        raise SynthError(
            f"{name} option {key!r}: {first['msg']} (got {first.get('input')!r}); allowed options: {allowed}"
        ) from None

