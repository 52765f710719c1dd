"""USING ctgan: a conditional Wasserstein GAN over the shared column encoding.

Numbers go in as mode-specific normalised values, categories and NULL flags as
one-hot blocks.  The generator is conditioned on one (column, category) per
row, chosen by training-by-sampling; the critic (PacGAN, ``pac`` rows per
judgement) is trained with the WGAN gradient penalty; the generator's loss adds
the cross-entropy that makes it honour its condition.

There is **no BatchNorm** in either network (LayerNorm in the generator,
none in the critic): BatchNorm mixes the rows of a batch, which per-row
DP-SGD cannot have.  Under ``WITH (epsilon = ...)`` the critic trains with
DP-SGD and the generator learns from it (``private.py`` says what changes and why).
"""

from __future__ import annotations

import numpy as np
import torch
from pydantic import Field, model_validator
from torch import nn

from synthtab_db.errors import SynthError
from synthtab_db.models.ctgan.conditional import ConditionalSampler, FrequencyConditions
from synthtab_db.models.ctgan.networks import Critic, Generator, gradient_penalty
from synthtab_db.models.neural.base import NeuralSynthesizer
from synthtab_db.models.neural.options import NeuralOptions
from synthtab_db.models.registry import register
from synthtab_db.privacy.options import PrivacyOptions

TAU = 0.2  # gumbel-softmax temperature of the generator's one-hot blocks
#: What a DP fit takes where WITH does not say: one row per critic judgement (see private.py),
#: larger batches against the same noise, a narrower critic (small per-row gradients), and fewer
#: epochs: per-row gradient penalties make a step 0.44 s on Adult (2 busy cores; 1.9 s at batch
#: 4000, no cheaper per row), so 10 epochs did not fit the default max_seconds (120).  On Adult at
#: epsilon 1, the output biases matched to the DP marginals: 8 epochs at lr 1e-3 gave accuracy
#: 0.861 in 114 s; 5 epochs at lr 2e-3 0.822 in 67 s.
#: max_seconds 300 under DP (as argn): the planned steps fix the spend, and a fit the clock cuts learns less.
DP_DEFAULTS = {"epochs": 8, "batch_size": 1000, "hidden_dim": 64, "pac": 1, "lr": 1e-3, "max_seconds": 300.0}


class CTGANOptions(NeuralOptions, PrivacyOptions):
    """WITH options of USING ctgan."""

    epochs: int = Field(300, ge=1, le=100_000, description="passes over the data (bounded by max_seconds)")
    batch_size: int = Field(500, ge=2, le=1_000_000, description="rows per step; a multiple of pac")
    hidden_dim: int = Field(128, ge=1, le=8192, description="width of each hidden layer (the paper: 256)")
    pac: int = Field(10, ge=1, le=100, description="rows the critic judges together (PacGAN)")
    critic_steps: int = Field(1, ge=1, le=20, description="critic updates per generator update")

    @model_validator(mode="after")
    def _pac_divides_batch(self) -> "CTGANOptions":
        if self.batch_size % self.pac:
            raise ValueError(f"batch_size ({self.batch_size}) must be a multiple of pac ({self.pac})")
        return self


@register
class CTGAN(NeuralSynthesizer):
    """Conditional tabular GAN (Xu et al. 2019) with LayerNorm instead of BatchNorm."""

    name = "ctgan"
    preference = 50
    dp_mechanism = "DP-SGD on the critic + noisy column statistics"
    options_model = CTGANOptions
    dp_defaults = DP_DEFAULTS

    def __init__(self, **options) -> None:
        super().__init__(**options)
        s = self.settings
        if s.epsilon is not None and "pac" in s.model_fields_set and s.pac != 1:
            raise SynthError("ctgan option 'pac': under differential privacy the critic judges one row at a time "
                             f"(pac = 1, the default with epsilon), got {s.pac}")

    def _build(self) -> None:
        s, spans = self.settings, self.encoder.discrete_spans
        self.cond_widths = np.array([span.width for span in spans], dtype=np.int64)
        width, cond = self.encoder.width, int(self.cond_widths.sum())
        self.generator = Generator(s.embedding_dim + cond, (s.hidden_dim, s.hidden_dim), width)
        self.critic = Critic(width + cond, (s.hidden_dim, s.hidden_dim), s.pac)
        self._conditions: FrequencyConditions | None = None
        columns = [span.start + k for span in spans for k in range(span.width)]
        self.cond_columns = torch.tensor(columns, dtype=torch.long, device=self.device)  # condition -> output column

    def _networks(self) -> dict[str, nn.Module]:
        return {"generator": self.generator, "critic": self.critic}

    def _sampling_networks(self) -> dict[str, nn.Module]:
        return {"generator": self.generator}

    # -- training ----------------------------------------------------------------------
    def _training_step(self, real: torch.Tensor, codes: list[np.ndarray], rng: np.random.Generator):
        s = self.settings
        sampler = ConditionalSampler(self.encoder.discrete_spans, codes, real.shape[0])
        self.frequencies = sampler.frequencies
        adam = {"lr": s.lr, "betas": (0.5, 0.9), "weight_decay": 1e-6}
        g_opt, c_opt = (
            torch.optim.Adam(self.generator.parameters(), **adam),
            torch.optim.Adam(self.critic.parameters(), **adam),
        )

        def step() -> torch.Tensor:
            self.generator.train()
            self.critic.train()
            for _ in range(s.critic_steps):
                c_opt.zero_grad(set_to_none=True)
                self._critic_loss(real, sampler, rng).backward()
                c_opt.step()
            return self._generator_step(g_opt, self._batch(sampler, rng)[0])

        return step

    def _generator_step(self, optimizer: torch.optim.Optimizer, cond: torch.Tensor) -> torch.Tensor:
        optimizer.zero_grad(set_to_none=True)
        loss = self._generator_loss(cond)
        loss.backward()
        optimizer.step()
        return loss.detach()

    def _batch(self, sampler: ConditionalSampler, rng: np.random.Generator):
        """Conditions (tensor) and real row indices that match them (numpy)."""
        n = self.settings.batch_size
        if not sampler.width:  # no discrete column: unconditional, rows uniformly
            return torch.zeros((n, 0), device=self.device), rng.integers(sampler.rows, size=n)
        cond, picked = sampler.train_batch(n, rng)
        return torch.from_numpy(cond).to(self.device), picked

    def _fake(self, cond: torch.Tensor) -> torch.Tensor:
        """Raw generator output for a batch of conditions."""
        z = torch.randn(cond.shape[0], self.settings.embedding_dim, device=self.device)
        return self.generator(torch.cat([z, cond], dim=1))

    def _critic_loss(self, real: torch.Tensor, sampler: ConditionalSampler, rng: np.random.Generator) -> torch.Tensor:
        cond, rows = self._batch(sampler, rng)
        with torch.no_grad():
            fake = torch.cat([self.layout.activate(self._fake(cond), TAU), cond], dim=1)
        order = rng.permutation(rows.size)  # real rows with their own conditions, in other packs than the fakes
        true = torch.cat(
            [real[torch.from_numpy(rows[order]).to(self.device)], cond[torch.from_numpy(order).to(self.device)]], dim=1
        )
        wasserstein = self.critic(fake).mean() - self.critic(true).mean()
        return wasserstein + gradient_penalty(self.critic, true, fake)

    def _generator_loss(self, cond: torch.Tensor) -> torch.Tensor:
        raw = self._fake(cond)
        score = self.critic(torch.cat([self.layout.activate(raw, TAU), cond], dim=1)).mean()
        return -score + (self._condition_loss(raw, cond) if cond.shape[1] else 0.0)

    def _condition_loss(self, raw: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """Cross-entropy of each row's conditioned block against its condition (other blocks: free)."""
        target = self.cond_columns[cond.argmax(dim=1)]
        return -self.layout.log_softmax(raw).gather(1, target[:, None]).mean()

    # -- DP training (private.py) -------------------------------------------------------
    def _private_step(self, real: torch.Tensor, codes: list[np.ndarray], sampler, noise: torch.Generator,
                      batches: torch.Generator, rng: np.random.Generator):
        from synthtab_db.models.ctgan.private import RowConditions, critic_step
        from synthtab_db.models.neural.private import zero_grads

        s = self.settings
        self.frequencies = self.encoder.frequencies()  # released: what the generator's conditions follow
        own, drawn = (RowConditions(codes, self.cond_widths, self.device),
                      FrequencyConditions(self.cond_widths, self.frequencies, self.device))
        adam = {"lr": s.lr, "betas": (0.5, 0.9), "weight_decay": 1e-6}
        g_opt = torch.optim.Adam(self.generator.parameters(), **adam)
        c_opt = sampler.optimizer(torch.optim.Adam(self.critic.parameters(), **adam), s.max_grad_norm, noise)

        def step() -> float:
            self.generator.train()
            for _ in range(s.critic_steps):
                rows = sampler.draw(batches)
                cond = own.of(rows, batches)
                with torch.no_grad():
                    fake = torch.cat([self.layout.activate(self._fake(cond), TAU), cond], dim=1)
                critic_step(self.critic, c_opt, torch.cat([real[rows], cond], dim=1), fake, batches)
            loss = self._generator_step(g_opt, drawn.sample(s.batch_size, batches))
            zero_grads(self.critic.parameters())  # the generator's backward reached the critic: not a DP gradient
            return float(loss)  # from the DP critic and fakes only

        return step

    def _private_uses(self) -> int:
        return self.settings.critic_steps

    # -- sampling ----------------------------------------------------------------------
    def _raw(self, n: int, noise: torch.Generator) -> torch.Tensor:
        if self._conditions is None:
            self._conditions = FrequencyConditions(self.cond_widths, self.frequencies, self.device)
        z = torch.randn(n, self.settings.embedding_dim, generator=noise, device=self.device)
        return self.generator(torch.cat([z, self._conditions.sample(n, noise)], dim=1))

    def _output_layer(self) -> nn.Linear:
        return self.generator.out

    def _generate(self, n: int, noise: torch.Generator) -> torch.Tensor:
        raw = self._raw(n, noise)
        return self.layout.sample(torch.tanh(raw), raw, noise)

    def _extra_arrays(self) -> dict[str, np.ndarray]:
        return {"frequencies": self.frequencies}

    def _load_extra(self, arrays: dict[str, np.ndarray]) -> None:
        self.frequencies = np.asarray(arrays["frequencies"], dtype=np.float64)
