"""DP-SGD for argn: Poisson-sampled batches, per-row clipping and Gaussian noise by opacus's
``DPOptimizer``, noise calibrated so the whole run (column statistics + every planned
step) composes to the requested epsilon under opacus's RDP accountant.

Why per-row clipping is done here and not by opacus's ``GradSampleModule``:
the network's first layer is folded into one ``embedding_bag`` over parameters
computed in ``projected()`` (the network's own parameters, not a leaf layer),
which neither opacus's hooks nor ExpandedWeights differentiate per row; and
materialising per-row gradients of the first layer (columns x width x hidden
per row) made a step on Adult take 2.3 s on two cores.  ``batch_losses`` is the
same function written densely (a column's embedding, or the learned "unknown"
vector, times each head's first-layer weights), whose per-row gradient norms
follow from the layer inputs and output gradients ("ghost clipping": a
linear layer's per-row gradient is an outer product, its norm the product of
two norms); a second backward of the clip-weighted loss gives the clipped sum.
Opacus's DPOptimizer then adds the noise and steps.  The tests check the norms
and the clipped sum against exact per-row gradients from ``torch.func``.

No validation split and no early stopping (they would look at raw rows outside
the mechanism): a DP fit runs its planned ``epochs`` (default ``DP_EPOCHS``)
and keeps the last weights.  A fit cut short by ``max_seconds`` ran fewer
steps and spent less than planned; the accountant records the steps that ran.
"""

from __future__ import annotations

import time
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from opacus.optimizers import DPOptimizer

from synthtab_db.models.argn.marginals import match_marginals
from synthtab_db.models.argn.network import ArgnNetwork
from synthtab_db.models.argn.options import ArgnOptions
from synthtab_db.models.argn.orders import training_keys
from synthtab_db.models.argn.training import Fit
from synthtab_db.privacy.accountant import Gaussian, PrivacyPlan
from synthtab_db.privacy.options import with_dp_defaults

#: What a DP fit takes where WITH does not say.  Larger batches average more rows against
#: the same noise, and a smaller network spreads it over fewer weights: on Adult at epsilon 1
#: (2 busy cores) 4096 rows at lr 0.01 gave mostlyai-qa accuracy 0.920 vs 0.916 for argn's
#: plain 1024 at 4e-3, and hidden_dim 32 the same 0.921 as 128 in a third of the time (63 s).
#: Fewer tokens and narrower embeddings shrink the heads and the first layer the noise lands
#: on (85,000 weights -> 25,000 on Adult): max_bins 20 and embedding_dim 8 took accuracy at
#: epsilon 1 from 0.939 to 0.945 (0.945 with another seed; 64 hidden units gave 0.939), and
#: 30 epochs instead of 20 (noise multiplier 8.6 -> 10.4) to 0.946 / 0.947 (seeds 1 / 2; lr
#: 0.02 gave 0.946).  ``max_seconds`` is wider under DP: the planned steps fix the spend, and a
#: fit the clock cuts short learns less for its epsilon (30 epochs take about a minute on 2 cores).
DP_DEFAULTS = {"epochs": 30, "batch_size": 4096, "learning_rate": 0.01, "hidden_dim": 32,
               "embedding_dim": 8, "max_bins": 20, "max_seconds": 300.0}
DP_EPOCHS = DP_DEFAULTS["epochs"]


def dp_settings(options: ArgnOptions) -> ArgnOptions:
    """``options`` with DP_DEFAULTS for every knob the user did not set."""
    return with_dp_defaults(options, DP_DEFAULTS)


def planned_epochs(options: ArgnOptions) -> int:
    return options.epochs if "epochs" in options.model_fields_set else DP_EPOCHS


def train_private(network: ArgnNetwork, tokens: np.ndarray, fixed_keys: torch.Tensor, options: ArgnOptions,
                  generator: torch.Generator, plan: PrivacyPlan,
                  on_epoch: Callable[[dict], None] | None = None, noise: torch.Generator | None = None,
                  priors: list[np.ndarray] | None = None, units: np.ndarray | None = None) -> Fit:
    """Train ``network`` with DP-SGD; the steps taken are added to ``plan``'s mechanisms.
    ``noise`` draws the gradient noise and the Poisson batches (unseeded entropy unless the
    user gave a seed).
    ``units`` (0..U-1 per row, ``privacy.units``): Poisson sampling picks units, not rows,
    and rows are clipped to ``max_grad_norm / plan.contribution``."""
    started, device = time.monotonic(), fixed_keys.device
    if priors is not None:
        start_from_priors(network, priors)
    rows = torch.from_numpy(tokens).to(device)
    unit_of = torch.arange(len(rows), device=device) if units is None else torch.from_numpy(units).to(device)
    n_units = int(unit_of.max()) + 1 if len(rows) else 1
    expected_units = max(1, min(options.batch_size // plan.contribution, n_units))
    rate = expected_units / n_units
    expected = max(1, int(round(rate * len(rows))))
    row_clip = options.max_grad_norm / plan.contribution
    epochs = planned_epochs(options)
    steps = max(1, int(np.ceil(epochs / rate)))
    sigma = plan.calibrate(rate, steps)
    plan.noise_multiplier, plan.max_grad_norm = sigma, options.max_grad_norm
    optimizer = ClippedSumOptimizer(torch.optim.AdamW(network.parameters(), lr=options.learning_rate, weight_decay=1e-4),
                            noise_multiplier=sigma, max_grad_norm=options.max_grad_norm,
                            expected_batch_size=expected, loss_reduction="mean", generator=noise or generator)
    fit, done, total = Fit(), 0, 0.0
    per_epoch = -(-steps // epochs)
    sampler = noise or generator  # which units a step used must stay secret: subsampling's gain assumes it
    for step in range(steps):
        batch = rows[(torch.rand(n_units, generator=sampler, device=device) < rate)[unit_of]]
        total += _dp_step(network, optimizer, batch, training_keys(len(batch), fixed_keys, generator), row_clip)
        done = step + 1
        out_of_time = time.monotonic() - started > options.max_seconds
        if done % per_epoch == 0 or out_of_time or done == steps:
            fit.epochs.append({"epoch": len(fit.epochs) + 1, "loss": total / max(per_epoch * expected, 1),
                               "seconds": time.monotonic() - started, "noise_multiplier": sigma})
            total = 0.0
            if on_epoch is not None:
                on_epoch(dict(fit.epochs[-1]))
        if out_of_time:
            break
    plan.mechanisms.append(Gaussian(sigma, rate, done))
    fit.best_epoch, fit.stopped = len(fit.epochs), "epochs" if done == steps else "max_seconds"
    network.eval()
    if priors is not None and not network.context:
        match_marginals(network, priors, torch.argsort(fixed_keys).tolist(), generator)
    return fit


@torch.no_grad()
def start_from_priors(network: ArgnNetwork, priors: list[np.ndarray]) -> None:
    """Each head's bias starts at the log of its column's DP-released marginal (post-processing,
    free), the weights scaled down: training starts at the DP marginals and the noisy steps
    learn how columns depend on each other (on Adult at epsilon 1 within noise of a random
    start: mostlyai-qa accuracy 0.921 vs 0.920)."""
    for head, prior in zip(network.heads, priors):
        logits = torch.log(torch.as_tensor(prior, dtype=head.bias.dtype).clamp(min=1e-6))
        head.bias.copy_((logits - logits.mean()).to(head.bias.device))
        head.weight.mul_(0.1)


def _dp_step(network: ArgnNetwork, optimizer: DPOptimizer, batch: torch.Tensor, keys: torch.Tensor,
             row_clip: float | None = None) -> float:
    """One DP-SGD step over a Poisson batch (possibly empty); the batch's summed loss."""
    network.train()
    optimizer.zero_grad(set_to_none=False)
    total = 0.0
    if len(batch):
        losses, factors = clipped_losses(network, batch, keys, row_clip or optimizer.max_grad_norm)
        (losses * factors).sum().backward()
        total = float(losses.detach().sum())
    optimizer.step()
    return total


class ClippedSumOptimizer(DPOptimizer):
    """Opacus's DPOptimizer for gradients already clipped per row and summed into ``p.grad``:
    it adds N(0, (noise_multiplier * max_grad_norm)^2) and divides by the expected batch size."""

    @property
    def grad_samples(self) -> list[torch.Tensor]:
        return [p.grad for p in self.params]

    @property
    def accumulated_iterations(self) -> int:
        return 1

    def clip_and_accumulate(self) -> None:
        for p in self.params:
            p.summed_grad = torch.zeros_like(p) if p.grad is None else p.grad.detach().clone()


def clipped_losses(network: ArgnNetwork, tokens: torch.Tensor, keys: torch.Tensor,
                   max_norm: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-row losses (graph kept) and per-row clip factors min(1, max_norm / ||grad_row||)."""
    parts = batch_losses(network, tokens, keys)
    norms = ghost_norms(network, parts)
    return parts.losses, (max_norm / (norms.sqrt() + 1e-6)).clamp(max=1.0).detach()


class _Parts:
    """A batch forward's per-row losses and the layer inputs/outputs ghost norms need."""

    def __init__(self, **tensors: torch.Tensor | list[torch.Tensor]) -> None:
        self.__dict__.update(tensors)


def batch_losses(network: ArgnNetwork, tokens: torch.Tensor, keys: torch.Tensor) -> _Parts:
    """Per-row summed cross-entropy over the predicted columns: ``ArgnNetwork.losses`` written densely.

    Head j's pre-activation is ``first_bias[j] + x_j @ first[j]``, where ``x_j`` holds each
    column's embedding if that column comes before j (its key is smaller), else the
    column's slice of the learned ``unknown`` vector.
    """
    context, columns = network.context, len(network.embeddings)
    if context:
        keys = keys.clone()
        keys[:, :context] = torch.arange(context, device=keys.device, dtype=keys.dtype) - 1e4
    owner = torch.repeat_interleave(torch.arange(columns, device=tokens.device),
                                    torch.tensor([e.embedding_dim for e in network.embeddings], device=tokens.device))
    embedded = torch.cat([e(tokens[:, c]) for c, e in enumerate(network.embeddings)], dim=1)  # [row, width]
    known = (keys.unsqueeze(1) < keys.unsqueeze(2))[:, :, owner]  # [row, head j, width]: column before j
    x = torch.where(known, embedded.unsqueeze(1), network.unknown)
    pre = torch.einsum("rjw,jwh->rjh", x, network.first) + network.first_bias
    hidden = torch.relu(pre)
    if network.dropout is not None:
        hidden = network.dropout(hidden)
    logits = [network.heads[j](hidden[:, j]) for j in range(columns)]
    losses = sum(F.cross_entropy(logits[j], tokens[:, j], reduction="none") for j in range(context, columns))
    return _Parts(losses=losses, x=x, known=known, pre=pre, hidden=hidden, logits=logits, context=context)


def ghost_norms(network: ArgnNetwork, parts: _Parts) -> torch.Tensor:
    """Squared L2 norm of each row's gradient over all parameters, without per-row gradients."""
    heads = list(range(parts.context, len(parts.logits)))
    wrt = [parts.pre] + [parts.logits[j] for j in heads]
    g_pre, *g_logits = torch.autograd.grad(parts.losses.sum(), wrt, retain_graph=True)
    x, hidden = parts.x.detach(), parts.hidden.detach()
    norms = ((x * x).sum(2) * (g_pre * g_pre).sum(2)).sum(1) + (g_pre * g_pre).sum((1, 2))  # first, first_bias
    for j, g in zip(heads, g_logits):
        norms = norms + (g * g).sum(1) * ((hidden[:, j] * hidden[:, j]).sum(1) + 1.0)  # head weight and bias
    g_x = torch.einsum("rjh,jwh->rjw", g_pre, network.first.detach())
    to_embeddings = torch.where(parts.known, g_x, 0.0).sum(1)  # a row's gradient hits one row per table
    to_unknown = torch.where(parts.known, 0.0, g_x).sum(1)
    return norms + (to_embeddings * to_embeddings).sum(1) + (to_unknown * to_unknown).sum(1)
