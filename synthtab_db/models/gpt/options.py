"""WITH options of USING gpt: the training budget, the network's size (None = sized to the
data), a local checkpoint to fine-tune, the free-text guard, retrieval, and differential
privacy (``epsilon``, ``delta``, ``max_grad_norm``, ``max_rows_per_parent``: DP-SGD,
``private_training.py``)."""

from __future__ import annotations

from typing import Any

from pydantic import Field, ValidationError, model_validator

from synthtab_db.errors import SynthError
from synthtab_db.models.options import TorchOptions
from synthtab_db.privacy.options import PrivacyOptions


class GptOptions(TorchOptions, PrivacyOptions):
    """``max_seconds`` bounds the wall clock as well as ``epochs``; a fit stopped by the
    clock keeps its best validation checkpoint but is not reproducible run to run."""

    epochs: int = Field(40, ge=1, description="upper bound; early stopping usually ends sooner")
    batch_size: int = Field(256, ge=1, description="rows per training step (fewer on small tables)")
    learning_rate: float = Field(2e-3, gt=0, le=1.0)
    n_embd: int | None = Field(None, ge=8, le=4096, description="width; None sizes it to the data")
    n_layer: int | None = Field(None, ge=1, le=48, description="transformer blocks; None sizes it to the data")
    n_head: int | None = Field(None, ge=1, le=64, description="attention heads (must divide n_embd)")
    max_bins: int = Field(100, ge=2, le=1000, description="quantile bins (tokens) of a numeric or date column")
    max_categories: int = Field(1000, ge=2, description="categories kept per column; the rest are pooled")
    text_vocabulary: int = Field(800, ge=300, le=50_000, description="BPE vocabulary for free-text columns")
    max_text_tokens: int = Field(48, ge=4, le=512, description="a longer generated text is malformed")
    memorization_tokens: int = Field(3, ge=0, description="a generated text of more tokens than this that "
                                     "equals a training value is rejected ...")
    memorization_frequent: int = Field(5, ge=1, description="... unless that value occurs this often in training")
    retrieve: int = Field(0, ge=0, le=16, description="k nearest real rows put in each row's prompt (0 = off)")
    pretrained: str | None = Field(None, description="local causal LM checkpoint (save_pretrained folder) to fine-tune")
    temperature: float = Field(1.0, gt=0, le=10.0, description="sampling temperature (1 = the learned distribution)")

    @model_validator(mode="before")
    @classmethod
    def _no_retrieval_under_dp(cls, values: Any) -> Any:
        """Retrieval shows real rows to the generator at sampling time (and keeps them in the saved
        model), outside any DP mechanism."""
        if isinstance(values, dict) and values.get("epsilon") is not None and values.get("retrieve"):
            raise ValueError("retrieve puts real rows into every prompt, which differential privacy cannot "
                             "account for: use retrieve = 0 with epsilon")
        return values

    @model_validator(mode="after")
    def _heads_divide_width(self) -> "GptOptions":
        if self.n_embd and self.n_head and self.n_embd % self.n_head:
            raise ValueError(f"n_head = {self.n_head} must divide n_embd = {self.n_embd}")
        return self


def validate(options: dict[str, Any]) -> GptOptions:
    """The options, or a SynthError naming the first bad one."""
    try:
        return GptOptions(**options)
    except ValidationError as err:
        first = err.errors()[0]
        message = first["msg"].removeprefix("Value error, ")
        if not first["loc"]:
            raise SynthError(f"gpt: {message}") from None
        key = ".".join(str(p) for p in first["loc"])
        raise SynthError(f"gpt option {key!r}: {message} (got {first.get('input')!r})") from None
