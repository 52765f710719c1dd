"""What CTGAN and TVAE share: encode the table, train with a time bound, sample in
batches on the device, and persist through ``models.torch_blob``.

A subclass says only how its networks are built (``_build``), what one
training step is (``_step``), how a batch of rows is generated
(``_generate``), and which networks sampling needs (``_sampling_networks``).
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any, ClassVar

import numpy as np
import pyarrow as pa
import torch
from torch import nn

from synthtab_db.models import torch_blob
from synthtab_db.models.base import Synthesizer
from synthtab_db.models.context import ORDERED, ContextCells, joint, match_context, require_context
from synthtab_db.models.fit_context import FitContext
from synthtab_db.models.neural.columns import CHOICE, TableEncoder
from synthtab_db.models.neural.device import fresh_seed, generator, seeded, select_device, threads
from synthtab_db.models.neural.layers import OutputLayout
from synthtab_db.models.neural.options import NeuralOptions, validate_options
from synthtab_db.models.neural.training import EpochHook, run_epochs, steps_per_epoch
from synthtab_db.planner.schema import Table
from synthtab_db.privacy.columns import release_columns
from synthtab_db.privacy.options import with_dp_defaults
from synthtab_db.privacy.plan import noise_seed
from synthtab_db.privacy.units import bounded
from synthtab_db.transforms import arrow_type

SAMPLE_ROWS = 1 << 15  # rows generated per batch: bounds memory whatever n is
_CELL_ROWS = 20_000  # context values drawn from the released marginals to cut a DP fit's cells
_MATCH_ROWS, _MATCH_ROUNDS = 20_000, 30  # fixed draws and rounds of a DP fit's marginal matching
_FLOOR = 1e-6  # shares below this (a released zero) are taken as this, so logs stay finite
#: Share of epsilon whose noise alone the column statistics get under DP (the networks the rest,
#: composed).  DP fits start from and are matched to the released marginals, so their noise shows
#: directly: tvae on Adult at epsilon 1, 0.2 -> 0.4 took accuracy 0.885 -> 0.891 (univariate
#: 0.968 -> 0.975) while its noise multiplier rose 7.9 -> 8.5 (as argn's STATISTICS_SHARE).
STATISTICS_SHARE = 0.4


class NeuralSynthesizer(Synthesizer):
    """A torch synthesizer over the shared column encoding (see ``columns``)."""

    options_model: ClassVar[type[NeuralOptions]] = NeuralOptions
    dp_defaults: ClassVar[dict[str, Any]] = {}  # what a DP fit takes where WITH does not say
    dp_statistics_share: ClassVar[float | None] = STATISTICS_SHARE
    encoder_class: ClassVar[type[TableEncoder]] = TableEncoder  # columns <-> the matrix the networks see
    on_epoch: EpochHook | None = None  # a direct fit's epoch callback (the engine's comes in FitContext)

    def __init__(self, **options: Any) -> None:
        self.settings = validate_options(self.options_model, options, self.name)
        super().__init__(**self.settings.model_dump())
        self.device = select_device(self.settings.device)
        self.report: dict[str, Any] = {}
        self.trained = False

    # -- fitting -------------------------------------------------------------------
    def fit(self, data: pa.Table, table: Table, context: pa.Table | None = None,
            run: FitContext | None = None) -> "NeuralSynthesizer":
        """Encode and train; zero rows means schema-only generation.  ``context`` (parent
        columns) is learned jointly; sampling matches joint rows to the given context.
        With ``epsilon`` set the fit is DP (``private.py``): the encoding comes from released
        column statistics and the networks train with DP-SGD."""
        own = data
        data, self.context_names = joint(data, context)
        self.table = table
        self.seed = self.settings.seed if self.settings.seed is not None else fresh_seed()
        rng = np.random.default_rng([self.seed, 0])
        run = self.fit_context(run, data.num_rows, self.on_epoch)
        self.privacy, on_epoch, units = run.privacy, run.on_epoch or self.on_epoch, None  # DP set up by the engine
        if self.privacy is None:
            self.cells = None if context is None or not self.context_names else ContextCells.fit(
                context, {c: table.column(c).type.kind in ORDERED for c in data.column_names}, own)
            self.encoder = self.encoder_class.fit(data, table, self._transform_options(), self.settings.max_modes, rng,
                                                  run.marginals)
        else:
            data, units = self._private_encoding(data, table, rng, run.units)
        self.trained = data.num_rows > 0 and self.encoder.width > 0
        if not self.trained:
            self.report = {"epochs": 0, "schema_only": data.num_rows == 0}
            return self
        matrix, codes = self.encoder.encode(data, rng)
        with seeded(self.seed, self.device), threads(self.settings.threads):
            self._setup_networks()
            real = torch.from_numpy(matrix).to(self.device)
            if self.privacy is not None:
                self.report = self._train_private(real, codes, units, rng, on_epoch)
                return self
            step = self._training_step(real, codes, rng)
            batches = steps_per_epoch(data.num_rows, self.settings.batch_size)
            self.report = run_epochs(step, batches, self.settings.epochs, self.settings.max_seconds, on_epoch)
            if run.marginals and not self.context_names:  # a sample: onto the whole table's shares
                self._match_marginals()
        return self

    def _private_encoding(self, data: pa.Table, table: Table, rng: np.random.Generator, units: np.ndarray | None):
        """(rows kept, their privacy units): a DP fit's settings, encoder and context cells, from
        released statistics only; a child table's rows bounded per parent (``privacy.units``)."""
        self.settings = with_dp_defaults(self.settings, self.dp_defaults)
        self.options = self.settings.model_dump()  # saved: the networks' shape follows the DP defaults
        data, units = bounded(units, data, self.privacy, self.settings.max_rows_per_parent, self.seed)
        columns = [table.column(c) for c in data.column_names]
        if not data.num_rows:
            self.encoder, self.cells = self.encoder_class.fit(data, table, self._transform_options(), 1, rng), None
            return data, units
        released = release_columns(data, table, self._transform_options(), self.privacy,
                                   np.random.default_rng(noise_seed(self.settings)))
        self.encoder = self.encoder_class.from_release(columns, released, self.settings.max_modes, rng)
        self.cells = None if not self.context_names else ContextCells.fit(  # cells from released marginals
            self.encoder.draw(_CELL_ROWS, rng).select(self.context_names),
            {c.name: c.type.kind in ORDERED for c in columns})
        return data, units

    def _train_private(self, real: torch.Tensor, codes: list[np.ndarray], units: np.ndarray | None,
                       rng: np.random.Generator, on_epoch: EpochHook | None) -> dict[str, Any]:
        """DP-SGD for the planned epochs (no early stopping); what ran is added to ``self.privacy``."""
        from synthtab_db.models.neural.private import PoissonUnits, run_private  # needs opacus

        s = self.settings
        sampler = PoissonUnits(self.privacy, units, real.shape[0], s.batch_size, self.device)
        uses = self._private_uses()
        steps = sampler.plan_steps(s.epochs, uses)
        step = self._private_step(real, codes, sampler, generator(noise_seed(s), self.device),
                                  generator(self.seed + 1, self.device), rng)
        self._start_at_marginals()
        report, done = run_private(step, steps, sampler.per_epoch, s.max_seconds, on_epoch)
        sampler.record(done * uses)
        self._match_marginals()
        return {**report, "noise_multiplier": sampler.sigma, "sample_rate": sampler.rate}

    # -- marginals: a DP fit's released ones (post-processing, no row is read), or a sample's table's --
    def _choice_targets(self) -> list[tuple[slice, torch.Tensor]]:
        spans = [span for span in self.encoder.spans if span.kind == CHOICE]
        return [(slice(span.start, span.end),
                 torch.as_tensor(np.log(np.maximum(target, _FLOOR)), dtype=torch.float32, device=self.device))
                for span, target in zip(spans, self.encoder.choice_targets())]

    def _start_at_marginals(self) -> None:
        """Output biases of every softmax block at the log of its released shares, so DP-SGD
        starts from the DP marginals instead of spending noisy steps to learn them."""
        layer = self._output_layer()
        if layer is None:
            return
        with torch.no_grad():
            for block, log_target in self._choice_targets():
                layer.bias[block] = log_target

    def _match_marginals(self) -> None:
        """After training, shift each softmax block's output bias until the shares sampling draws
        (the mean softmax over fixed latent draws) match the encoder's: a DP fit's released ones,
        or the whole table's when the rows were a sample (as argn's heads do)."""
        layer = self._output_layer()
        if layer is None:
            return
        targets = self._choice_targets()
        for net in self._networks().values():
            net.eval()
        with torch.no_grad(), threads(self.settings.threads):
            for _ in range(_MATCH_ROUNDS):
                raw = self._raw(_MATCH_ROWS, generator(self.seed + 2, self.device))
                shares = self.layout.log_softmax(raw).exp().mean(dim=0).clamp_min(_FLOOR).log()
                worst = 0.0
                for block, log_target in targets:
                    gap = log_target - shares[block]
                    layer.bias[block] += gap
                    worst = max(worst, float(gap.abs().max()))
                if worst < 1e-3:
                    break

    def _setup_networks(self) -> None:
        self.layout = OutputLayout(self.encoder.spans, self.device)
        self._build()
        for net in self._networks().values():
            net.to(self.device)

    def _transform_options(self) -> dict[str, Any]:
        keys = ("max_categories", "min_count", "protect_rare", "rare_token", "clip_extremes")
        values = self.settings.model_dump()
        return {"seed": self.seed, **{k: values[k] for k in keys}}

    # -- sampling ------------------------------------------------------------------
    def sample(self, n: int, *, seed: int | None = None, context: pa.Table | None = None) -> pa.Table:
        """``n`` rows in batches of ``SAMPLE_ROWS``; the same seed (and context) on the same device
        gives the same rows."""
        seed = fresh_seed() if seed is None else int(seed)
        names = [c.name for c in self.encoder.columns][len(self.context_names):]
        given = require_context(self.context_names, context, n)
        if given is None or self.cells is None:
            return self._sample_joint(n, seed).select(names)
        return match_context(self._sample_joint, self.cells, given, names, seed)

    def _sample_joint(self, n: int, seed: int) -> pa.Table:
        """Every fitted column, context included."""
        rng = np.random.default_rng([seed, 1])
        if not self.trained:
            return self.encoder.draw(n, rng)
        noise = generator(seed, self.device)
        for net in self._networks().values():
            net.eval()
        with threads(self.settings.threads):
            parts = [self._sample_batch(min(SAMPLE_ROWS, n - start), noise, rng) for start in range(0, n, SAMPLE_ROWS)]
        return pa.concat_tables(parts) if parts else self._empty()

    def _sample_batch(self, n: int, noise: torch.Generator, rng: np.random.Generator) -> pa.Table:
        with torch.inference_mode():
            matrix = self._generate(n, noise).float().cpu().numpy()
        return self.encoder.decode(matrix, rng)

    def _empty(self) -> pa.Table:
        return pa.table(
            [pa.array([], type=arrow_type(c.type)) for c in self.encoder.columns],
            names=[c.name for c in self.encoder.columns],
        )

    # -- persistence ---------------------------------------------------------------
    def to_bytes(self) -> bytes:
        metas, arrays = self.encoder.to_state()
        header = {
            "model": self.name,
            "options": self.options,
            "table": self.table.model_dump(mode="json"),
            "columns": [c.name for c in self.encoder.columns],
            "context": self.context_names,
            "cells": None if self.cells is None else self.cells.to_dict(),
            "encoder": metas,
            "trained": self.trained,
            "seed": self.seed,
            "report": self.report,
        }
        tensors: dict[str, torch.Tensor] = {}
        if self.trained:
            arrays.update({f"model.{k}": v for k, v in self._extra_arrays().items()})
            for name, net in self._sampling_networks().items():
                tensors.update({f"{name}.{k}": v for k, v in net.state_dict().items()})
        return torch_blob.pack(header, tensors, arrays)

    @classmethod
    def from_bytes(cls, blob: bytes) -> "NeuralSynthesizer":
        """Load on CPU (or the saved device when it is here): a GPU-trained model samples anywhere."""
        header, weights, arrays = torch_blob.unpack(blob, cls.name)
        model = cls.__new__(cls)
        model.settings = validate_options(cls.options_model, header["options"], cls.name)
        model.options, model.report = model.settings.model_dump(), header["report"]
        model.device = select_device(model.settings.device, strict=False)
        model.table = Table.model_validate(header["table"])
        model.seed, model.trained = header["seed"], header["trained"]
        model.encoder = cls.encoder_class.from_state(model.table, header["columns"], header["encoder"], arrays)
        model.context_names = list(header.get("context") or [])
        model.cells = ContextCells.from_dict(header["cells"]) if header.get("cells") else None
        if model.trained:
            model._load_weights(arrays, weights)
        return model

    def _load_weights(self, arrays: dict[str, np.ndarray], weights: dict[str, torch.Tensor]) -> None:
        self._load_extra({k[6:]: v for k, v in arrays.items() if k.startswith("model.")})
        with seeded(0, torch.device("cpu")):  # init draws are overwritten; leave the caller's RNG alone
            self._setup_networks()
        for name, net in self._sampling_networks().items():
            prefix = f"{name}."
            net.load_state_dict({k[len(prefix) :]: v for k, v in weights.items() if k.startswith(prefix)})

    # -- what a model provides ----------------------------------------------------------
    @abstractmethod
    def _build(self) -> None:
        """Create the networks (attributes) for ``self.encoder`` and ``self.settings``."""

    @abstractmethod
    def _networks(self) -> dict[str, nn.Module]:
        """Every network, by name (all are moved to the device; none may hold BatchNorm)."""

    @abstractmethod
    def _sampling_networks(self) -> dict[str, nn.Module]:
        """The networks sampling needs: the ones saved by ``to_bytes``."""

    @abstractmethod
    def _training_step(self, real: torch.Tensor, codes: list[np.ndarray], rng: np.random.Generator):
        """A zero-argument callable doing one optimisation step and returning its loss."""

    @abstractmethod
    def _generate(self, n: int, noise: torch.Generator) -> torch.Tensor:
        """``n`` rows as a matrix the encoder decodes (values, and blocks whose argmax is the draw)."""

    def _private_step(self, real: torch.Tensor, codes: list[np.ndarray], sampler, noise: torch.Generator,
                      batches: torch.Generator, rng: np.random.Generator):
        """A zero-argument callable doing one DP training step (``sampler``: ``private.PoissonUnits``)."""
        raise NotImplementedError(f"{self.name} has no DP training")

    def _output_layer(self) -> nn.Linear | None:
        """The layer whose outputs are the raw matrix (DP fits set its softmax blocks' biases)."""
        return None

    def _raw(self, n: int, noise: torch.Generator) -> torch.Tensor:
        """Raw outputs for ``n`` sampled rows, before the value and block draws."""
        raise NotImplementedError

    def _private_uses(self) -> int:
        """Poisson batches (DP mechanism uses) one private step takes."""
        return 1

    def _extra_arrays(self) -> dict[str, np.ndarray]:
        return {}

    def _load_extra(self, arrays: dict[str, np.ndarray]) -> None:
        pass
