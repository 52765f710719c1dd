"""USING ddpm: a TabDDPM-style diffusion model over the shared transforms.

The table is encoded by ``encoding.DiffusionEncoder`` (quantile-normal scores, one-hot
blocks, NULL flags); ``diffusion.MixedDiffusion`` noises rows (Gaussian / multinomial) and
``network.Denoiser`` learns to undo it.  Everything else is the shared torch machinery
(``neural.base``): options, device and seeds, the epoch loop with ``max_seconds`` and the
progress hook, parent context for child tables, persistence, and DP-SGD (``neural/private.py``:
Poisson units, per-row gradients by ``torch.func``, the one accountant).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from synthtab_db.models.ddpm.diffusion import MixedDiffusion
from synthtab_db.models.ddpm.encoding import DiffusionEncoder
from synthtab_db.models.ddpm.network import Denoiser
from synthtab_db.models.ddpm.options import DDPMOptions
from synthtab_db.models.ddpm.schedule import alpha_bar, sampling_times
from synthtab_db.models.neural.base import NeuralSynthesizer
from synthtab_db.models.neural.training import shuffled_batches
from synthtab_db.models.registry import register

#: What a DP fit takes where WITH does not say: larger batches average more rows against the
#: same noise, a narrower denoiser spreads it over fewer weights.
DP_DEFAULTS = {"epochs": 20, "batch_size": 4000, "hidden_dim": 128, "layers": 2, "lr": 3e-3, "max_seconds": 300.0}


@register
class DDPM(NeuralSynthesizer):
    """Tabular denoising diffusion (Kotelnikov et al. 2023, TabDDPM)."""

    name = "ddpm"
    preference = 45
    options_model = DDPMOptions
    dp_defaults = DP_DEFAULTS
    encoder_class = DiffusionEncoder
    dp_mechanism = "DP-SGD + noisy column statistics"

    def _build(self) -> None:
        s = self.settings
        self.diffusion = MixedDiffusion(self.encoder.spans, alpha_bar(s.schedule, s.timesteps), self.device,
                                        s.prediction)
        self.denoiser = Denoiser(self.encoder.width, s.hidden_dim, s.layers, s.embedding_dim)

    def _networks(self) -> dict[str, nn.Module]:
        return {"denoiser": self.denoiser}

    def _sampling_networks(self) -> dict[str, nn.Module]:
        return {"denoiser": self.denoiser}

    def _training_step(self, real: torch.Tensor, codes: list[np.ndarray], rng: np.random.Generator):
        s = self.settings
        optimiser = torch.optim.AdamW(self.denoiser.parameters(), lr=s.lr, weight_decay=s.weight_decay)
        batches = shuffled_batches(real.shape[0], s.batch_size, rng)
        real = self.diffusion.sort(real)

        def step() -> torch.Tensor:
            x0 = real[torch.from_numpy(next(batches)).to(self.device)]
            t, eps, uniform = self.diffusion.draw_noise(x0.shape[0], None)
            noisy = self.diffusion.corrupt(x0, t, eps, uniform)
            loss = self.diffusion.row_loss(self.denoiser(noisy, t), x0, eps, t, noisy).mean()
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            return loss.detach()

        return step

    def _generate(self, n: int, noise: torch.Generator) -> torch.Tensor:
        x = self.diffusion.start(n, noise)
        for t, s in sampling_times(self.settings.timesteps, self.settings.sample_steps):
            step = torch.full((1,), t, device=self.device)  # one embedding, broadcast to every row
            x = self.diffusion.step(x, self.denoiser(x, step), t, s, noise)
        return self.diffusion.unsort(x)

    # -- DP training -------------------------------------------------------------------
    def _private_step(self, real: torch.Tensor, codes: list[np.ndarray], sampler, noise: torch.Generator,
                      batches: torch.Generator, rng: np.random.Generator):
        from synthtab_db.models.neural.per_sample import set_grad_samples

        s, diffusion = self.settings, self.diffusion
        real = diffusion.sort(real)
        optimiser = sampler.optimizer(torch.optim.AdamW(self.denoiser.parameters(), lr=s.lr,
                                                        weight_decay=s.weight_decay), s.max_grad_norm, noise)

        def row_loss(call, noisy, t, x0, eps):
            return diffusion.row_loss(call(noisy, t), x0, eps, t, noisy)

        def step() -> float:
            x0 = real[sampler.draw(batches)]
            t, eps, uniform = diffusion.draw_noise(x0.shape[0], batches)
            self.denoiser.train()
            set_grad_samples(self.denoiser, row_loss, diffusion.corrupt(x0, t, eps, uniform), t, x0, eps)
            optimiser.step()
            optimiser.zero_grad(set_to_none=True)
            return float("nan")  # the loss is a statistic of the raw rows: not reported under DP

        return step
