"""DP-SGD for gpt: Poisson-sampled batches of privacy units, per-row gradient clipping and
Gaussian noise by opacus, noise calibrated so the whole run (column statistics, a child's
released counts, every planned step) composes to the requested epsilon (``privacy.accountant``).

Per-row gradients come from opacus's ``GradSampleModule`` over the transformers model
itself: its registered samplers cover ``nn.Embedding``, ``nn.Linear`` and ``LayerNorm``,
and GPT-2's own ``Conv1D`` (no registered sampler) goes through opacus's functorch fallback;
the tied input/output embedding accumulates both uses' per-row parts.  Two things make
that exact (``tests/test_gpt_privacy.py`` compares with one backward pass per row):

* ``position_ids`` are passed as a (rows, length) matrix: left to the model they are one
  (1, length) row broadcast over the batch, and the position embedding's per-row
  gradients could not be told apart;
* each row's loss is its own summed next-token cross-entropy (its log-likelihood), never
  a mean over the batch's tokens, whose normaliser would let one row scale every other
  row's gradient.

Attention needs no change (its parameters are the ``Conv1D`` layers; SDPA or eager is
the same to the hooks).  A child table's rows are grouped by parent
(``privacy.units``): batches sample parents, each row is clipped to
``max_grad_norm / contribution`` and the noise is ``noise_multiplier * max_grad_norm``,
so one parent's summed gradient has the bound the accountant assumes.

No validation split, no early stopping, no learning-rate schedule on a loss (all would
read raw rows outside the mechanism): a DP fit runs its planned ``epochs`` and keeps the
last weights.  A fit cut short by ``max_seconds`` ran fewer steps and spent less; the
accountant records the steps that ran.  Batches are drawn from the DP noise seed
(``privacy.plan.noise_seed``): subsampling amplifies privacy only while nobody knows which
rows a step used, so without a user seed the draws come from the OS's entropy.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from opacus import GradSampleModule
from opacus.optimizers import DPOptimizer
from transformers import PreTrainedModel

from synthtab_db.models.gpt.encoding import NOTHING, PAD
from synthtab_db.models.gpt.options import GptOptions
from synthtab_db.models.gpt.sequences import IGNORE, labels
from synthtab_db.models.gpt.training import Fit
from synthtab_db.privacy.accountant import Gaussian, PrivacyPlan
from synthtab_db.privacy.options import with_dp_defaults

#: What a DP fit takes where WITH does not say: larger batches average more rows against
#: the same noise; fewer epochs fit a CPU's minutes (a DP step costs about 4 plain ones).
DP_DEFAULTS = {"epochs": 4, "batch_size": 1024, "learning_rate": 4e-3, "max_text_tokens": 64}


def dp_settings(options: GptOptions) -> GptOptions:
    """``options`` with DP_DEFAULTS for every knob the user did not set (``max_text_tokens``
    rises because text is written byte by byte under DP)."""
    return with_dp_defaults(options, DP_DEFAULTS)


@dataclass(frozen=True)
class UnitSampling:
    """Poisson sampling of privacy units (a row, or a child table's parent) at ``rate``."""

    unit_of: np.ndarray  # each row's unit, 0..units-1
    units: int
    rate: float

    @classmethod
    def plan(cls, rows: int, units: np.ndarray | None, batch_size: int, contribution: int) -> "UnitSampling":
        unit_of = np.arange(rows) if units is None else np.asarray(units, dtype=np.int64)
        count = int(unit_of.max()) + 1 if rows else 1
        expected = max(1, min(batch_size // max(contribution, 1), count))
        return cls(unit_of, count, expected / count)

    @property
    def expected_rows(self) -> int:
        return max(1, int(round(self.rate * len(self.unit_of))))

    def draw(self, rng: np.random.Generator) -> np.ndarray:
        """Rows of one batch: every unit independently with probability ``rate``, all its rows."""
        return np.flatnonzero((rng.random(self.units) < self.rate)[self.unit_of])


def train_private(model: PreTrainedModel, epoch_sequences: Callable[[int], np.ndarray], units: np.ndarray | None,
                  options: GptOptions, device: torch.device, plan: PrivacyPlan, batches: np.random.Generator,
                  noise: torch.Generator, on_epoch: Callable[[dict], None] | None = None) -> Fit:
    """Train ``model`` with DP-SGD on ``epoch_sequences(epoch)`` (one sequence per row, new column
    orders each epoch); the steps taken are added to ``plan``'s mechanisms."""
    first = epoch_sequences(1)
    sampling = UnitSampling.plan(len(first), units, options.batch_size, plan.contribution)
    steps = max(1, int(np.ceil(options.epochs / sampling.rate)))
    sigma = plan.calibrate(sampling.rate, steps)
    plan.noise_multiplier, plan.max_grad_norm = sigma, options.max_grad_norm
    private = GradSampleModule(model, batch_first=True, loss_reduction="sum", strict=False)
    optimizer = dp_optimizer(model, options, sigma, plan.contribution, sampling.expected_rows, noise)
    try:
        with warnings.catch_warnings():  # opacus's embedding hooks fire on outputs (token ids take no gradient)
            warnings.filterwarnings("ignore", message="Full backward hook is firing")
            fit, done = _steps(private, optimizer, epoch_sequences, first, sampling, steps, options, device, batches,
                               on_epoch, sigma)
    finally:
        private.to_standard_module()
    plan.mechanisms.append(Gaussian(sigma, sampling.rate, done))
    model.eval()
    return fit


def dp_optimizer(model: PreTrainedModel, options: GptOptions, sigma: float, contribution: int,
                 expected_rows: int, noise: torch.Generator) -> DPOptimizer:
    """AdamW under opacus's DPOptimizer: rows clipped to ``max_grad_norm / contribution``, noise std
    ``sigma * max_grad_norm`` (what one unit's summed rows can move), divided by the expected batch."""
    inner = torch.optim.AdamW(model.parameters(), lr=options.learning_rate, weight_decay=0.01)
    return DPOptimizer(inner, noise_multiplier=sigma * contribution, max_grad_norm=options.max_grad_norm / contribution,
                       expected_batch_size=expected_rows, loss_reduction="mean", generator=noise)


def _steps(private: GradSampleModule, optimizer: DPOptimizer, epoch_sequences: Callable[[int], np.ndarray],
           sequences: np.ndarray, sampling: UnitSampling, steps: int, options: GptOptions, device: torch.device,
           batches: np.random.Generator, on_epoch: Callable[[dict], None] | None, sigma: float) -> tuple[Fit, int]:
    """The planned steps (fresh column orders every epoch's worth); stops early only at max_seconds."""
    started, fit, done, total, seen = time.monotonic(), Fit(), 0, 0.0, 0
    per_epoch = max(1, -(-steps // options.epochs))
    for step in range(steps):
        if step and step % per_epoch == 0:
            sequences = epoch_sequences(step // per_epoch + 1)
        rows = sampling.draw(batches)
        total, seen, done = total + dp_step(private, optimizer, sequences[rows], device), seen + rows.size, step + 1
        out_of_time = time.monotonic() - started > options.max_seconds
        if done % per_epoch == 0 or out_of_time or done == steps:
            _report(fit, on_epoch, total / max(seen, 1), time.monotonic() - started, done, sigma)
            total, seen = 0.0, 0
        if out_of_time:
            break
    fit.best_epoch, fit.stopped = len(fit.epochs), "epochs" if done == steps else "max_seconds"
    return fit, done


def _report(fit: Fit, on_epoch: Callable[[dict], None] | None, loss: float, seconds: float, steps: int,
            sigma: float) -> None:
    """The saved report holds no loss (a statistic of the raw rows); progress shows it to the user."""
    entry = {"epoch": len(fit.epochs) + 1, "seconds": seconds, "steps": steps, "noise_multiplier": sigma}
    fit.epochs.append(entry)
    if on_epoch is not None:
        on_epoch({**entry, "loss": loss})


def dp_step(private: GradSampleModule, optimizer: DPOptimizer, batch: np.ndarray, device: torch.device) -> float:
    """One DP-SGD step on a Poisson batch (possibly empty: the step is then noise alone)."""
    private.train()
    optimizer.zero_grad(set_to_none=True)
    total = 0.0
    if len(batch):
        losses = row_losses(private, batch, device)
        losses.sum().backward()
        total = float(losses.detach().sum())
    else:
        for p in optimizer.params:
            p.grad_sample = torch.zeros((0, *p.shape), device=p.device, dtype=p.dtype)
    optimizer.step()
    return total


def row_losses(model: torch.nn.Module, batch: np.ndarray, device: torch.device) -> torch.Tensor:
    """Each row's summed next-token cross-entropy over its own tokens (the prompt skipped)."""
    batch = batch[:, :max(int((batch != NOTHING).sum(axis=1).max()), 2)]
    ids = torch.from_numpy(np.where(batch == NOTHING, PAD, batch)).to(device)
    mask = torch.from_numpy(batch != NOTHING).to(device).long()
    targets = torch.from_numpy(labels(batch)[:, 1:]).to(device)
    positions = torch.arange(ids.shape[1], device=device).expand(ids.shape[0], -1)
    logits = model(input_ids=ids, attention_mask=mask, position_ids=positions).logits[:, :-1]
    losses = F.cross_entropy(logits.transpose(1, 2).float(), targets, ignore_index=IGNORE, reduction="none")
    return losses.sum(dim=1)
