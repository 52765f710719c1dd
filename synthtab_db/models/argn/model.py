"""USING argn: the autoregressive tabular network, the default model wherever torch is installed.

A row is generated one column after another: numbers and dates as quantile
bins (the value drawn inside its bin), categories as capped vocabularies, NULL
as a token of its own; each column's distribution is predicted from the
columns already drawn (``network.py``).  ``fit`` trains with early stopping
under an epoch and a wall-clock budget (``training.py``); ``sample`` draws in
batches on the device, conditioned columns first with their logits masked
(``sampling.py``).  With no rows to learn from, the columns' schema-only
marginals are sampled independently, so GENERATE still fills the table.

Measured on UCI Adult (2 cores; benchmarks/bench_models_adult.py): 20-40 s
to fit, 99.6-99.7% of mostlyai-qa's accuracy ceiling over seeds 0, 1, 2
(0.978 of 0.981; ``--seeds 0,1,2``), DCR share 0.51 (worst 0.52), about
170,000 rows a second.

A child table's model is fitted with its parents' columns (``context``) as
leading columns that are always given and never predicted: sampling fixes
their tokens per row, so every column follows its parent row.

Known limits: a condition on a rare
value reaches the columns that the fixed order puts before the conditioned
one less fully than those after it, which see it in every training row (on
Adult, native_country = 'Mexico': education lands 0.12 TVD from the real
conditional, 0.40 from the marginal; income 0.02).  Memory for the folded
first layer grows as columns x all tokens x hidden_dim: fine for tens of
columns, not for hundreds.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pyarrow as pa
import torch

from synthtab_db.conditions import Condition
from synthtab_db.device import resolve_device
from synthtab_db.models import torch_blob as persistence
from synthtab_db.models.argn.encoding import TableEncoding
from synthtab_db.models.argn.marginals import match_marginals
from synthtab_db.models.argn.network import ArgnNetwork
from synthtab_db.models.argn.options import DP_STATISTICS_SHARE, ArgnOptions, validate
from synthtab_db.models.argn.orders import fixed_order, generation_order, order_keys
from synthtab_db.models.argn.restriction import Restriction
from synthtab_db.models.argn.sampling import NetworkSampler, PriorSampler, batch_sizes
from synthtab_db.models.argn.threads import cpu_threads
from synthtab_db.models.argn.training import Fit, train
from synthtab_db.models.base import Synthesizer
from synthtab_db.models.context import joint, require_context
from synthtab_db.models.fit_context import FitContext
from synthtab_db.models.registry import register
from synthtab_db.planner.schema import Table
from synthtab_db.privacy.columns import release_columns
from synthtab_db.privacy.plan import noise_seed
from synthtab_db.privacy.units import bounded
from synthtab_db.transforms import arrow_type

_TRANSFORM_OPTIONS = ("max_categories", "min_count", "protect_rare", "rare_token", "max_bins", "clip_extremes")


@register
class ArgnSynthesizer(Synthesizer):
    """Autoregressive network over column tokens; samples WHERE conditions itself."""

    name = "argn"
    preference = 100
    options_model = ArgnOptions
    supports_conditions = True
    dp_mechanism = "DP-SGD + noisy column statistics"
    dp_statistics_share = DP_STATISTICS_SHARE

    def __init__(self, progress: Callable[[dict], None] | None = None, **options: Any) -> None:
        """``progress`` (or the ``on_epoch`` attribute) is called after every epoch with
        {epoch, loss, val_loss, seconds}; it is not an option, so it is never saved."""
        self.settings = validate(options)
        super().__init__(**self.settings.model_dump())
        self.on_epoch = progress
        self.network: ArgnNetwork | None = None
        self.fit_report = Fit()
        self.privacy = None  # a PrivacyPlan after a DP fit: what it spent

    # -- learning -----------------------------------------------------------------------
    def fit(self, data: pa.Table, table: Table, context: pa.Table | None = None,
            run: FitContext | None = None) -> "ArgnSynthesizer":
        device = torch.device(resolve_device(self.settings.device))
        data, self.context_names = joint(data, context)
        self.table = table
        run = self.fit_context(run, data.num_rows, self.on_epoch)
        self.privacy, self.on_epoch = run.privacy, run.on_epoch or self.on_epoch  # DP set up by the engine
        data, self._units = bounded(run.units, data, self.privacy, self.settings.max_rows_per_parent, self._seed())
        released = None if self.privacy is None else release_columns(
            data, table, self._transform_options(), self.privacy, np.random.default_rng(noise_seed(self.settings)))
        self.encoding = TableEncoding.fit(data, table, self._transform_options(), released, run.marginals)
        self.order = fixed_order(len(self.encoding.columns))
        self.network, self.fit_report = None, Fit()
        if data.num_rows and self.encoding.columns:
            tokens = self.encoding.encode(data, np.random.default_rng(self._seed()))
            self.network = self._train(tokens, device, to_whole_table=bool(run.marginals))
        return self

    def _train(self, tokens: np.ndarray, device: torch.device, to_whole_table: bool = False) -> ArgnNetwork:
        """Weights, dropout and batches all seeded, without touching torch's global random state.
        ``to_whole_table``: the rows are a sample and the encoding holds the whole table's
        marginals; the trained heads are moved onto them (a category the sample missed, the
        table's NULL rate), as a DP fit's are moved onto the released ones."""
        with cpu_threads(device), torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            torch.manual_seed(self._seed())
            settings = self._fit_settings()
            network = ArgnNetwork(self.encoding.vocabulary, settings.embedding_dim,
                                  settings.hidden_dim, context=len(self.context_names)).to(device)
            generator = torch.Generator(device=device).manual_seed(self._seed())
            if self.privacy is not None:
                from synthtab_db.models.argn.private_training import train_private  # needs opacus

                noise = torch.Generator(device=device).manual_seed(noise_seed(self.settings))
                self.fit_report = train_private(network, tokens, order_keys(self.order, device), settings,
                                                generator, self.privacy, self.on_epoch, noise, self.encoding.priors(),
                                                self._units)
            else:
                self.fit_report = train(network, tokens, order_keys(self.order, device), self.settings,
                                        generator, self.on_epoch)
                if to_whole_table and not self.context_names:
                    match_marginals(network, self.encoding.priors(), self.order, generator)
        return network

    # -- sampling -----------------------------------------------------------------------
    def sample(self, n: int, *, seed: int | None = None, context: pa.Table | None = None,
               conditions: dict[str, Condition] | None = None) -> pa.Table:
        """``n`` rows; the same model, ``n``, seed, context and device give the same rows."""
        device = torch.device(resolve_device(self.settings.device))
        given = require_context(self.context_names, context, n)
        restrictions = self.encoding.restrictions(conditions)
        sampler = self._sampler(restrictions, device)
        sizes = batch_sizes(n)
        seeds = np.random.SeedSequence(seed).spawn(len(sizes))
        starts = np.cumsum([0] + sizes[:-1])
        with cpu_threads(device):
            parts = [self._batch(sampler, size, s, restrictions, device,
                                 None if given is None else given.slice(int(start), size))
                     for size, s, start in zip(sizes, seeds, starts)]
        return self._table(parts)

    def _sampler(self, restrictions: dict[int, Restriction], device: torch.device) -> NetworkSampler | PriorSampler:
        if self.network is None:
            return PriorSampler(self.encoding.priors(), restrictions, device)
        first = list(range(len(self.context_names))) + [j for j in restrictions if j >= len(self.context_names)]
        order = generation_order(self.order, first)
        return NetworkSampler(self.network.to(device).eval(), order, restrictions, device)

    def _batch(self, sampler, rows: int, seed: np.random.SeedSequence, restrictions: dict[int, Restriction],
               device: torch.device, context: pa.Table | None = None) -> list[pa.Array]:
        token_seed, value_seed, context_seed = seed.spawn(3)
        generator = torch.Generator(device=device).manual_seed(int(token_seed.generate_state(1)[0]))
        given = None
        if context is not None:
            encoded = self.encoding.encode_given(context, np.random.default_rng(context_seed))
            given = torch.from_numpy(encoded).to(device)
        elif self.context_names:  # no parent rows given: context from its learned marginals
            priors = self.encoding.priors()[: len(self.context_names)]
            drawn = [np.random.default_rng(context_seed).choice(p.size, size=rows, p=p / p.sum()) for p in priors]
            given = torch.from_numpy(np.stack(drawn, axis=1).astype(np.int64)).to(device)
        tokens = sampler.tokens(rows, generator, given).cpu().numpy()
        return self.encoding.decode(tokens, np.random.default_rng(value_seed), restrictions,
                                    start=len(self.context_names))

    def _table(self, parts: list[list[pa.Array]]) -> pa.Table:
        columns = self.encoding.columns[len(self.context_names):]
        arrays = [pa.chunked_array([p[j] for p in parts], type=arrow_type(c.type)) for j, c in enumerate(columns)]
        return pa.table(arrays, names=[c.name for c in columns])

    def _seed(self) -> int:
        return int(self.settings.seed or 0)

    def _transform_options(self) -> dict[str, Any]:
        settings = self._fit_settings()
        values = settings.model_dump()
        return {**{k: values[k] for k in _TRANSFORM_OPTIONS}, "seed": self._seed()}

    def _fit_settings(self) -> ArgnOptions:
        """The options a fit uses: under DP, DP_DEFAULTS for whatever WITH did not set."""
        if self.settings.epsilon is None:
            return self.settings
        from synthtab_db.models.argn.private_training import dp_settings  # needs opacus

        return dp_settings(self.settings)

    # -- persistence --------------------------------------------------------------------
    def to_bytes(self) -> bytes:
        metas, arrays = self.encoding.to_state()
        header = {"format": persistence.FORMAT, "model": self.name, "options": self.settings.model_dump(),
                  "table": self.table.model_dump(mode="json"), "columns": [c.name for c in self.encoding.columns],
                  "context": self.context_names, "order": self.order, "encoders": metas,
                  "network": None if self.network is None else self.network.config,
                  "fit": {"epochs": self.fit_report.epochs, "best_epoch": self.fit_report.best_epoch,
                          "stopped": self.fit_report.stopped}}
        weights = {} if self.network is None else self.network.state_dict()
        return persistence.pack(header, weights, arrays)

    @classmethod
    def from_bytes(cls, blob: bytes) -> "ArgnSynthesizer":
        """Loads on the CPU; a model saved with device='cuda' samples on the CPU where there is no GPU."""
        header, weights, arrays = persistence.unpack(blob, cls.name)
        model = cls(**persistence.options_here(header))
        model.table = Table.model_validate(header["table"])
        model.encoding = TableEncoding.from_state(model.table, header["columns"], header["encoders"], arrays)
        model.order = list(header["order"])
        model.context_names = list(header.get("context", []))
        model.fit_report = Fit(**header["fit"])
        if header["network"] is not None:
            model.network = ArgnNetwork(**header["network"])
            model.network.load_state_dict(weights)
            model.network.eval()
        return model
