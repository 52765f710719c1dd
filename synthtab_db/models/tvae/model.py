"""USING tvae: a variational autoencoder over the shared column encoding.

The encoder maps a row to a Gaussian in latent space, the decoder maps latent
points back to every column's outputs; training minimises the negative ELBO
(``loss.negative_elbo``).  Sampling decodes standard-normal latent points, adds
each value column's learned noise and draws every one-hot block from its
softmax.  Plain MLPs, no BatchNorm.

Under ``WITH (epsilon = ...)`` both networks train with DP-SGD (``neural/private.py``): the
encoder reads the rows, and the decoder's gradients come from reconstructing them, so both
are clipped per row and noised.  The per-column ``sigma`` stays learned: per-row gradients
come from ``torch.func`` over the whole per-row negative ELBO (``_RowLoss``), which sees a
bare parameter as well as a layer's (opacus's hooks would not).  The training loss is not
reported under DP (it is a statistic of the raw rows outside the mechanism).
"""

from __future__ import annotations

import numpy as np
import torch
from pydantic import Field
from torch import nn

from synthtab_db.models.neural.base import NeuralSynthesizer
from synthtab_db.models.neural.layers import OutputLayout
from synthtab_db.models.neural.options import NeuralOptions
from synthtab_db.models.neural.training import shuffled_batches
from synthtab_db.models.registry import register
from synthtab_db.models.tvae.loss import negative_elbo, row_negative_elbo
from synthtab_db.models.tvae.networks import Decoder, Encoder
from synthtab_db.privacy.options import PrivacyOptions

#: What a DP fit takes where WITH does not say: larger batches average more rows against the
#: same noise, a narrower network spreads it over fewer weights (and keeps per-row gradients
#: small).  Measured on Adult at epsilon 1 (mostlyai-qa accuracy, 2 busy cores, 20 epochs run in
#: full): batch 1000, latent 128, lr 2e-3 gave 0.871 in 120 s (so the default max_seconds cut it:
#: 0.686); a 16-wide latent (47,000 -> 25,000 weights, half the time per step) with output biases
#: started at and matched to the DP marginals 0.884 in 58 s; batch 4000 at lr 5e-3 the same 0.885
#: (noise multiplier 4.0 -> 7.9, a quarter of the steps); the statistics' share 0.2 -> 0.4 0.891
#: in 77 s; lr 0.01 0.892 (kept 5e-3 as the same within noise).
#: max_seconds 300 under DP (as argn): the planned steps fix the spend, and a fit the clock cuts learns less.
DP_DEFAULTS = {"epochs": 20, "batch_size": 4000, "hidden_dim": 64, "embedding_dim": 16, "lr": 5e-3, "max_seconds": 300.0}


class TVAEOptions(NeuralOptions, PrivacyOptions):
    """WITH options of USING tvae."""

    lr: float = Field(1e-3, gt=0, le=1.0, description="Adam learning rate")
    hidden_dim: int = Field(128, ge=1, le=8192, description="width of each hidden layer")
    loss_factor: float = Field(2.0, gt=0, description="weight of reconstruction against the KL term")


@register
class TVAE(NeuralSynthesizer):
    """Tabular VAE (Xu et al. 2019)."""

    name = "tvae"
    preference = 40
    dp_mechanism = "DP-SGD + noisy column statistics"
    options_model = TVAEOptions
    dp_defaults = DP_DEFAULTS

    def _build(self) -> None:
        s, width = self.settings, self.encoder.width
        self.encoder_net = Encoder(width, s.hidden_dim, s.embedding_dim)
        self.decoder = Decoder(s.embedding_dim, s.hidden_dim, width)

    def _networks(self) -> dict[str, nn.Module]:
        return {"encoder": self.encoder_net, "decoder": self.decoder}

    def _sampling_networks(self) -> dict[str, nn.Module]:
        return {"decoder": self.decoder}

    def _training_step(self, real: torch.Tensor, codes: list[np.ndarray], rng: np.random.Generator):
        s = self.settings
        parameters = list(self.encoder_net.parameters()) + list(self.decoder.parameters())
        optimiser = torch.optim.Adam(parameters, lr=s.lr, weight_decay=1e-5)
        batches = shuffled_batches(real.shape[0], s.batch_size, rng)

        def step() -> torch.Tensor:
            x = real[torch.from_numpy(next(batches)).to(self.device)]
            optimiser.zero_grad(set_to_none=True)
            mean, log_var = self.encoder_net(x)
            z = mean + torch.randn_like(mean) * torch.exp(0.5 * log_var)
            loss = negative_elbo(self.layout, x, self.decoder(z), self.decoder.sigma, mean, log_var, s.loss_factor)
            loss.backward()
            optimiser.step()
            self.decoder.sigma.data.clamp_(0.01, 1.0)
            return loss.detach()

        return step

    def _raw(self, n: int, noise: torch.Generator) -> torch.Tensor:
        return self.decoder(torch.randn(n, self.settings.embedding_dim, generator=noise, device=self.device))

    def _output_layer(self) -> nn.Linear:
        return self.decoder.body[-1]

    def _generate(self, n: int, noise: torch.Generator) -> torch.Tensor:
        raw = self._raw(n, noise)
        jitter = torch.randn(raw.shape, generator=noise, device=self.device) * self.decoder.sigma
        return self.layout.sample((torch.tanh(raw) + jitter).clamp(-1.0, 1.0), raw, noise)

    # -- DP training -------------------------------------------------------------------
    def _private_step(self, real: torch.Tensor, codes: list[np.ndarray], sampler, noise: torch.Generator,
                      batches: torch.Generator, rng: np.random.Generator):
        from synthtab_db.models.neural.per_sample import set_grad_samples

        s = self.settings
        loss = _RowLoss(self.encoder_net, self.decoder, self.layout, s.loss_factor)
        optimiser = sampler.optimizer(torch.optim.Adam(loss.parameters(), lr=s.lr, weight_decay=1e-5),
                                      s.max_grad_norm, noise)

        def step() -> float:
            x = real[sampler.draw(batches)]
            eps = torch.randn(x.shape[0], s.embedding_dim, generator=batches, device=self.device)
            loss.train()
            set_grad_samples(loss, lambda call, row, e: call(row, e), x, eps)
            optimiser.step()
            optimiser.zero_grad(set_to_none=True)
            self.decoder.sigma.data.clamp_(0.01, 1.0)  # post-processing of the noisy update
            return float("nan")

        return step


class _RowLoss(nn.Module):
    """Encoder and decoder as one module whose output is each row's negative ELBO, the
    reparameterisation noise given (``eps``), so per-row gradients reach sigma too."""

    def __init__(self, encoder: Encoder, decoder: Decoder, layout: OutputLayout, loss_factor: float) -> None:
        super().__init__()
        self.encoder, self.decoder, self.layout, self.loss_factor = encoder, decoder, layout, loss_factor

    def forward(self, x: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        mean, log_var = self.encoder(x)
        z = mean + eps * torch.exp(0.5 * log_var)
        return row_negative_elbo(self.layout, x, self.decoder(z), self.decoder.sigma, mean, log_var, self.loss_factor)
