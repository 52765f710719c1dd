"""The training loop: AdamW, a weight average, a 10% validation split, early stopping, a wall-clock budget.

The validation loss is measured in the fixed generation order (the default
sampling path) on an exponential moving average of the weights (``EMA_DECAY``),
and the best epoch's average is kept: the raw weights of the last steps
depend on the seed's batch order, their average much less.  The learning rate halves
when validation stalls, and training stops after ``PATIENCE`` epochs without
improvement, at ``epochs``, or when ``max_seconds`` have passed, whichever
comes first.  KeyboardInterrupt is never caught: the engine rolls back.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch

from synthtab_db.models.argn.network import ArgnNetwork
from synthtab_db.models.argn.options import ArgnOptions
from synthtab_db.models.argn.orders import training_keys

VALIDATION_SHARE = 0.1
PATIENCE = 5  # epochs without a better validation loss before stopping
MIN_STEPS = 8  # a small table still takes this many steps per epoch (smaller batches)
#: Per-step decay of the weight average that is validated and kept (0: the raw weights).  On
#: Adult (bench_models_adult.py --models argn --seeds 0,1,2) seeds 0/1/2 went from 97.8/98.9/97.9%
#: of mostlyai-qa's ceiling to 99.6/99.7/99.7%, DCR share 0.522/0.505/0.516 (mean 0.514).
EMA_DECAY = 0.99
_EVAL_ROWS = 8192  # rows per validation forward pass: bounds memory


@dataclass
class Fit:
    """What training did, for the progress hook and the saved model's header."""

    epochs: list[dict] = field(default_factory=list)
    best_epoch: int = 0
    stopped: str = "epochs"


def train(network: ArgnNetwork, tokens: np.ndarray, fixed_keys: torch.Tensor, options: ArgnOptions,
          generator: torch.Generator, on_epoch: Callable[[dict], None] | None = None) -> Fit:
    """Fit ``network`` on token rows; leaves it holding the best validation epoch's weights."""
    started = time.monotonic()
    device = fixed_keys.device
    train_rows, val_rows = _split(torch.from_numpy(tokens).to(device), generator)
    optimizer = torch.optim.AdamW(network.parameters(), lr=options.learning_rate, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=1)
    average = WeightAverage(network, EMA_DECAY)
    best, fit = _Best(average.network), Fit()
    for epoch in range(1, options.epochs + 1):
        loss = _epoch(network, optimizer, train_rows, fixed_keys, batch_size(options, len(train_rows)), generator,
                      started + options.max_seconds, average)
        val_loss = _validate(average.network, val_rows, fixed_keys) if len(val_rows) else loss
        schedule.step(val_loss)
        fit.epochs.append({"epoch": epoch, "loss": loss, "val_loss": val_loss,
                           "seconds": time.monotonic() - started})
        if on_epoch is not None:
            on_epoch(dict(fit.epochs[-1]))
        fit.stopped = _stop_reason(best.update(val_loss, epoch), started, options)
        if fit.stopped:
            break
    fit.best_epoch, fit.stopped = best.epoch, fit.stopped or "epochs"
    best.restore(network)
    return fit


def batch_size(options: ArgnOptions, rows: int) -> int:
    """``batch_size``, but small enough for MIN_STEPS steps an epoch: early stopping counts
    epochs, and a table smaller than one batch would otherwise learn one step per epoch."""
    return max(1, min(options.batch_size, -(-rows // MIN_STEPS)))


def _split(rows: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """A random 10% for validation (none when there are too few rows to spare)."""
    count = len(rows)
    held = int(count * VALIDATION_SHARE) if count >= 20 else 0
    shuffled = rows[torch.randperm(count, generator=generator, device=rows.device)]
    return shuffled[held:], shuffled[:held]


def _epoch(network: ArgnNetwork, optimizer: torch.optim.Optimizer, rows: torch.Tensor, fixed_keys: torch.Tensor,
           batch_size: int, generator: torch.Generator, deadline: float, average: "WeightAverage") -> float:
    """One pass over the shuffled rows (cut short at the deadline); the mean loss per row, in nats."""
    network.train()
    order = torch.randperm(len(rows), generator=generator, device=rows.device)
    total, seen = 0.0, 0
    for start in range(0, len(rows), batch_size):
        batch = rows[order[start:start + batch_size]]
        loss = network.losses(batch, training_keys(len(batch), fixed_keys, generator)).sum()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        average.update()
        total, seen = total + loss.item() * len(batch), seen + len(batch)
        if time.monotonic() > deadline:
            break
    return total / max(seen, 1)


@torch.no_grad()
def _validate(network: ArgnNetwork, rows: torch.Tensor, fixed_keys: torch.Tensor) -> float:
    network.eval()
    total = 0.0
    for start in range(0, len(rows), _EVAL_ROWS):
        batch = rows[start:start + _EVAL_ROWS]
        total += network.losses(batch, fixed_keys.expand(len(batch), -1)).sum().item() * len(batch)
    return total / len(rows)


def _stop_reason(improved_recently: bool, started: float, options: ArgnOptions) -> str:
    if not improved_recently:
        return "early stopping"
    if time.monotonic() - started > options.max_seconds:
        return "max_seconds"
    return ""


class _Best:
    """The best validation loss so far and a copy of its weights."""

    def __init__(self, network: ArgnNetwork) -> None:
        self.network, self.loss, self.epoch = network, float("inf"), 0
        self.state = copy.deepcopy(network.state_dict())

    def update(self, loss: float, epoch: int) -> bool:
        """Record ``loss``; False once PATIENCE epochs have passed without a better one."""
        if loss < self.loss:
            self.loss, self.epoch = loss, epoch
            self.state = copy.deepcopy(self.network.state_dict())
        return epoch - self.epoch < PATIENCE

    def restore(self, network: ArgnNetwork) -> None:
        network.load_state_dict(self.state)
        network.eval()


class WeightAverage:
    """An exponential moving average of the weights, step by step: the model that is validated and kept.

    The last steps' weights scatter around the optimum with the batch order
    (which the seed picks); their average sits nearer to it, so the kept model
    depends less on the seed.  ``decay`` 0 keeps the raw weights.  The decay
    warms up as (1 + t) / (10 + t) over the first steps, so a short fit (a small
    table, few epochs) is not held back by its initial weights.
    """

    def __init__(self, network: ArgnNetwork, decay: float) -> None:
        self.source, self.decay, self.steps = network, decay, 0
        self.network = copy.deepcopy(network) if decay else network

    @torch.no_grad()
    def update(self) -> None:
        if self.decay:
            decay = min(self.decay, (1 + self.steps) / (10 + self.steps))
            for mine, theirs in zip(self.network.parameters(), self.source.parameters()):
                mine.lerp_(theirs, 1.0 - decay)
            self.steps += 1
