"""Why training stopped, told in the result's note when the clock cut a model short.

A model stopped by ``max_seconds`` while its loss was still falling is weaker than it
could be; the user should hear that, with what to change.  The engine sees every
epoch through the progress hook, so it can tell without asking the model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

RECENT = 2  # the best loss within the last RECENT epochs: still improving


@dataclass
class EpochWatch:
    """Passes each epoch's info on (to the progress) and keeps it."""

    forward: Callable[[dict], None] | None = None
    epochs: list[dict] = field(default_factory=list)

    def __call__(self, info: dict) -> None:
        self.epochs.append(info)
        if self.forward is not None:
            self.forward(info)

    def note(self, model: type, options: dict) -> str | None:
        """The note for a fit that the clock stopped while it was still improving, else None."""
        fields = model.options_model.model_fields if model.options_model else {}
        if not self.epochs or "max_seconds" not in fields or options.get("epsilon") is not None:
            return None
        seconds = float(options.get("max_seconds", fields["max_seconds"].default))
        planned = int(options.get("epochs", fields["epochs"].default)) if "epochs" in fields else None
        if not _cut_by_clock(self.epochs, seconds, planned) or not still_improving(self.epochs):
            return None
        last = _loss(self.epochs[-1])
        return (f"training stopped by max_seconds ({seconds:g} s) after {len(self.epochs)}"
                f"{f' of {planned}' if planned else ''} epochs with the loss still falling (last {last:.4f}); "
                f"give it more time: WITH (max_seconds = {seconds * 4:g}), or fewer rows: WITH (train_rows = …)")


def _cut_by_clock(epochs: list[dict], seconds: float, planned: int | None) -> bool:
    return float(epochs[-1].get("seconds", 0.0)) >= seconds and (planned is None or len(epochs) < planned)


def still_improving(epochs: list[dict]) -> bool:
    losses = [_loss(e) for e in epochs]
    return min(losses) in losses[-RECENT:]


def _loss(info: dict) -> float:
    return float(info.get("val_loss", info.get("loss", float("nan"))))
