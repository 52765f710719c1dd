"""The training loop: AdamW, a 10% validation split, early stopping, a wall-clock budget.

Each epoch builds fresh sequences (new random column orders, new retrieved
neighbours); validation uses the fixed order, as sampling does.  The best
validation checkpoint is kept; the learning rate halves when validation
stalls; training stops after ``PATIENCE`` epochs without improvement, at
``epochs``, or at ``max_seconds`` (the interrupted epoch is validated too, so
a table that fits only part of an epoch in the budget still keeps progress).
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from transformers import PreTrainedModel

from synthtab_db.models.gpt.encoding import NOTHING, PAD
from synthtab_db.models.gpt.options import GptOptions
from synthtab_db.models.gpt.sequences import IGNORE, labels

VALIDATION_SHARE = 0.1
PATIENCE = 4
MIN_STEPS = 8  # a small table still takes this many steps an epoch
_EVAL_ROWS = 1024


@dataclass
class Fit:
    epochs: list[dict] = field(default_factory=list)
    best_epoch: int = 0
    stopped: str = "epochs"


def split_rows(rows: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Training and validation row indices (no validation when there are too few rows)."""
    order = rng.permutation(rows)
    held = int(rows * VALIDATION_SHARE) if rows >= 20 else 0
    return order[held:], order[:held]


def train(model: PreTrainedModel, epoch_sequences: Callable[[int], np.ndarray], validation: np.ndarray,
          options: GptOptions, device: torch.device, rng: np.random.Generator,
          on_epoch: Callable[[dict], None] | None = None) -> Fit:
    """Fit ``model`` on the sequences ``epoch_sequences(epoch)`` builds; keeps the best checkpoint."""
    started = time.monotonic()
    deadline = started + options.max_seconds
    optimizer = torch.optim.AdamW(model.parameters(), lr=options.learning_rate, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=1)
    best, fit = _Best(model), Fit()
    for epoch in range(1, options.epochs + 1):
        loss = _epoch(model, optimizer, epoch_sequences(epoch), options.batch_size, device, rng, deadline)
        val_loss = _loss(model, validation, device) if len(validation) else loss
        schedule.step(val_loss)
        fit.epochs.append({"epoch": epoch, "loss": loss, "val_loss": val_loss, "seconds": time.monotonic() - started})
        if on_epoch is not None:
            on_epoch(dict(fit.epochs[-1]))
        improving = best.update(val_loss, epoch)
        fit.stopped = "early stopping" if not improving else "max_seconds" if time.monotonic() > deadline else ""
        if fit.stopped:
            break
    fit.best_epoch, fit.stopped = best.epoch, fit.stopped or "epochs"
    best.restore()
    return fit


def batch_size(wanted: int, rows: int) -> int:
    return max(1, min(wanted, -(-rows // MIN_STEPS)))


def _epoch(model: PreTrainedModel, optimizer: torch.optim.Optimizer, sequences: np.ndarray, wanted: int,
           device: torch.device, rng: np.random.Generator, deadline: float) -> float:
    """One pass over shuffled sequences (cut at the deadline); mean loss per predicted token."""
    model.train()
    size = batch_size(wanted, len(sequences))
    order = rng.permutation(len(sequences))
    total, seen = 0.0, 0
    for start in range(0, len(order), size):
        loss, tokens = token_loss(model, sequences[order[start:start + size]], device)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        total, seen = total + loss.item() * tokens, seen + tokens
        if time.monotonic() > deadline:
            break
    return total / max(seen, 1)


def token_loss(model: PreTrainedModel, batch: np.ndarray, device: torch.device) -> tuple[torch.Tensor, int]:
    """Mean next-token cross-entropy over the row's tokens, and how many there were."""
    batch = batch[:, :int((batch != NOTHING).sum(axis=1).max())]
    ids = torch.from_numpy(np.where(batch == NOTHING, PAD, batch)).to(device)
    mask = torch.from_numpy(batch != NOTHING).to(device)
    targets = torch.from_numpy(labels(batch)[:, 1:]).to(device)
    logits = model(input_ids=ids, attention_mask=mask.long()).logits[:, :-1]
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), targets.reshape(-1), ignore_index=IGNORE)
    return loss, int((targets != IGNORE).sum())


@torch.no_grad()
def _loss(model: PreTrainedModel, sequences: np.ndarray, device: torch.device) -> float:
    model.eval()
    total, seen = 0.0, 0
    for start in range(0, len(sequences), _EVAL_ROWS):
        loss, tokens = token_loss(model, sequences[start:start + _EVAL_ROWS], device)
        total, seen = total + loss.item() * tokens, seen + tokens
    return total / max(seen, 1)


class _Best:
    def __init__(self, model: PreTrainedModel) -> None:
        self.model, self.loss, self.epoch = model, float("inf"), 0
        self.state = copy.deepcopy(model.state_dict())

    def update(self, loss: float, epoch: int) -> bool:
        """Record ``loss``; False once PATIENCE epochs have passed without a better one."""
        if loss < self.loss:
            self.loss, self.epoch = loss, epoch
            self.state = copy.deepcopy(self.model.state_dict())
        return epoch - self.epoch < PATIENCE

    def restore(self) -> None:
        self.model.load_state_dict(self.state)
        self.model.eval()
