"""DP-SGD for the torch synthesizers (TVAE, CTGAN): Poisson-sampled units, per-row clipping and
Gaussian noise by opacus's ``DPOptimizer``, the noise calibrated so the whole run (column
statistics, a child table's reserved counts, every planned step) composes to the requested
epsilon under the one RDP accountant (``privacy.accountant``).

Why per-row gradients come from ``torch.func`` (``per_sample.py``) and not from opacus's
``GradSampleModule`` hooks: CTGAN's critic loss holds the WGAN gradient penalty, a gradient of
a gradient, which the hooks cannot differentiate per row; and TVAE's per-column ``sigma`` is a
bare parameter used in the loss, outside any layer a hook sees.  ``vmap(grad(row_loss))``
differentiates exactly the loss the non-DP fit minimises, one row at a time; the optimizer then
clips, sums, adds the noise and steps, as it would after opacus's hooks.

A child table's privacy unit is its parent (``privacy.units``): units are Poisson-sampled and a
unit's rows all enter the batch; each row is clipped to ``max_grad_norm / m`` (m rows per unit
at most), so a unit's summed gradient stays within ``max_grad_norm``; the optimizer's noise
multiplier is then ``m`` times the calibrated one, which makes its noise std exactly
``noise_multiplier * max_grad_norm`` for the unit.
"""

from __future__ import annotations

import time
from typing import Callable, Iterable

import numpy as np
import torch
from opacus.optimizers import DPOptimizer

from synthtab_db.privacy.accountant import Gaussian, PrivacyPlan


class PoissonUnits:
    """Poisson sampling of privacy units (rows, or a child table's parents) and its calibration."""

    def __init__(self, plan: PrivacyPlan, units: np.ndarray | None, rows: int, batch_size: int,
                 device: torch.device) -> None:
        self.plan, self.device = plan, device
        self.unit_of = torch.arange(rows, device=device) if units is None else torch.from_numpy(units).to(device)
        self.units = int(self.unit_of.max()) + 1 if rows else 1
        expected_units = max(1, min(batch_size // plan.contribution, self.units))
        self.rate = expected_units / self.units
        self.expected_rows = max(1, int(round(self.rate * rows)))

    @property
    def per_epoch(self) -> int:
        return max(1, int(np.ceil(1.0 / self.rate)))

    def plan_steps(self, epochs: int, per_step: int = 1) -> int:
        """Training steps for ``epochs`` expected passes; the noise is calibrated for all the
        mechanism's uses (``per_step`` Poisson batches each: CTGAN's critic steps)."""
        steps = max(1, int(np.ceil(epochs / self.rate)))
        self.sigma = self.plan.calibrate(self.rate, steps * per_step)
        return steps

    def draw(self, generator: torch.Generator) -> torch.Tensor:
        """Row indices of one Poisson batch (every row of each sampled unit; possibly empty)."""
        chosen = torch.rand(self.units, generator=generator, device=self.device) < self.rate
        return torch.nonzero(chosen[self.unit_of]).reshape(-1)

    def optimizer(self, optimizer: torch.optim.Optimizer, max_grad_norm: float,
                  noise: torch.Generator) -> DPOptimizer:
        """opacus's optimizer: rows clipped to max_grad_norm / m, noise std sigma * max_grad_norm."""
        self.plan.noise_multiplier, self.plan.max_grad_norm = self.sigma, max_grad_norm
        m = self.plan.contribution
        return DPOptimizer(optimizer, noise_multiplier=self.sigma * m, max_grad_norm=max_grad_norm / m,
                           expected_batch_size=self.expected_rows, loss_reduction="mean", generator=noise)

    def record(self, steps_done: int) -> None:
        """The steps that ran (a fit cut short by max_seconds spends less than planned)."""
        if steps_done:
            self.plan.mechanisms.append(Gaussian(self.sigma, self.rate, steps_done))


def run_private(step: Callable[[], float], steps: int, per_epoch: int, max_seconds: float,
                on_epoch: Callable[[dict], None] | None = None) -> tuple[dict, int]:
    """Run up to ``steps`` DP steps (no validation, no early stopping: both would read raw rows
    outside the mechanism); the report and the steps that ran."""
    started, done, losses, epochs, out_of_time = time.perf_counter(), 0, [], 0, False
    while done < steps and not out_of_time:
        losses.append(step())
        done += 1
        out_of_time = time.perf_counter() - started >= max_seconds
        if done % per_epoch == 0 or done == steps or out_of_time:
            epochs += 1
            if on_epoch is not None:
                on_epoch({"epoch": epochs, "loss": float(np.mean(losses[-per_epoch:])),
                          "seconds": time.perf_counter() - started})
    report = {"epochs": epochs, "steps": done, "loss": float(np.mean(losses[-per_epoch:])) if losses else float("nan"),
              "seconds": round(time.perf_counter() - started, 3), "stopped_by_time": out_of_time}
    return report, done


def zero_grads(parameters: Iterable[torch.nn.Parameter]) -> None:
    for p in parameters:
        p.grad = None
