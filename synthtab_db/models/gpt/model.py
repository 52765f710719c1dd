"""USING gpt: a GPT-style transformer that writes rows as token sequences (transformers).

``fit`` turns the table into one vocabulary (``encoding.py``: a token per
category and per number bin, byte-level BPE pieces for free-text columns),
serialises every row in its own random column order (``sequences.py``), builds
a GPT-2 sized to the data, or fine-tunes a local checkpoint (``network.py``),
and trains it with early stopping under ``epochs`` and ``max_seconds``
(``training.py``).  ``sample`` decodes batches on the device, WHERE columns
first (``conditioning.py``, ``sampling.py``), parses every generated row
(``parsing.py``), and rejects and redraws malformed rows and verbatim copies of
rare training texts (``text.py``); ``malformed_rows`` and ``memorized_rows``
count them.  ``WITH (retrieve = k)`` puts k real rows matching the WHERE
columns into each prompt (``retrieval.py``).  With no rows to learn from the
columns' schema-only marginals are sampled independently.

Measured (benchmarks/bench_gpt.py, 2 busy CPU cores, 150 s budget): Adult accuracy
0.940 of mostlyai-qa's 0.981 ceiling (argn 0.970), DCR share 0.51, about 3,800
rows a second; Chinook track titles: 0.1% of generated titles copy a training
title (argn, replaying its rare-value pool: 100%), about 11% of drawn rows
malformed and redrawn.

A child table's parent context is learned jointly and met by matching sampled
rows to each row's context cell, as for CTGAN and TVAE.

``WITH (epsilon = e)`` trains with DP-SGD (``private_training.py``) on a vocabulary
taken from DP-released column statistics (``private.py``, ``TableCodec.from_release``):
no validation split, a fixed number of epochs, text as bytes of a fixed alphabet, no
copy guard (it would compare outputs with raw values outside the mechanism); ``privacy``
holds what the run spent, and a child table's rows are bounded and sampled per parent
(``FitContext.units``; the plan, with what the engine reserved, in ``FitContext.privacy``).

Known limits: retrieval keeps real rows in the saved model, so it is refused with
``epsilon``.  On a CPU the network gets few epochs in a minutes-long budget,
so it trails argn on a table of categories and numbers; its reason to exist is
free text and long-tail values.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import torch

from synthtab_db.conditions import Condition
from synthtab_db.device import resolve_device
from synthtab_db.errors import SynthError
from synthtab_db.models import torch_blob as persistence
from synthtab_db.models.argn.sampling import draw
from synthtab_db.models.argn.threads import cpu_threads
from synthtab_db.models.base import Synthesizer
from synthtab_db.models.context import ORDERED, ContextCells, joint, match_context, require_context
from synthtab_db.models.fit_context import FitContext
from synthtab_db.models.gpt.conditioning import Conditioning, conditioning, forced_tokens, passes
from synthtab_db.models.gpt.encoding import BOS, NOTHING, ROW, SPECIALS, TableCodec
from synthtab_db.models.gpt.network import fresh_model, model_from_config, pretrained_model, sized_config
from synthtab_db.models.gpt.options import GptOptions, validate
from synthtab_db.models.gpt.parsing import Parsed, parse
from synthtab_db.models.gpt.private import released_cells, text_columns
from synthtab_db.models.gpt.retrieval import sampling_neighbours, training_neighbours
from synthtab_db.models.gpt.sampling import Decoder, Plan
from synthtab_db.models.gpt.sequences import ordered, row_orders, with_context
from synthtab_db.models.gpt.text import CopyGuard
from synthtab_db.models.gpt.training import Fit, split_rows, train
from synthtab_db.models.registry import register
from synthtab_db.planner.schema import Table
from synthtab_db.privacy.columns import release_columns
from synthtab_db.privacy.plan import noise_seed
from synthtab_db.privacy.units import bounded
from synthtab_db.transforms import arrow_type

MAX_ROUNDS = 20  # draws of the missing rows before sample() gives up
EMPTY_ROUNDS = 3  # ... or this many draws in a row that kept nothing
CPU_BATCH, CUDA_BATCH = 2048, 16384  # rows decoded together (the KV cache grows with them)


@register
class GptSynthesizer(Synthesizer):
    """A causal transformer over row tokens; samples WHERE conditions itself (prefix conditioning)."""

    name = "gpt"
    preference = 30  # argn (100) stays the default
    options_model = GptOptions
    supports_conditions = True
    dp_mechanism = "DP-SGD + noisy column statistics"

    def __init__(self, progress: Callable[[dict], None] | None = None, **options: Any) -> None:
        self.settings: GptOptions = validate(options)
        super().__init__(**self.settings.model_dump())
        self.on_epoch = progress
        self.network = None
        self.fit_report = Fit()
        self.guard = CopyGuard(np.zeros(0, dtype=np.uint64))
        self.context_names: list[str] = []  # parent context columns (a child table's), fitted first
        self.cells: ContextCells | None = None
        self.context_rows: np.ndarray | None = None  # retrieval: real rows (tokens, fixed order)
        self.context_tokens: np.ndarray | None = None  # retrieval: each real row's first token per column
        self.privacy = None  # a PrivacyPlan after a DP fit: what it spent (the engine reads it)
        self.malformed_rows = 0  # generated rows rejected as malformed, since this object was made
        self.memorized_rows = 0  # generated rows rejected as verbatim copies of rare training texts

    # -- learning -----------------------------------------------------------------------
    def fit(self, data: pa.Table, table: Table, context: pa.Table | None = None,
            run: FitContext | None = None) -> "GptSynthesizer":
        device = torch.device(resolve_device(self.settings.device))
        own = data
        data, self.context_names = joint(data, context)
        self.table = table
        run = self.fit_context(run, data.num_rows, self.on_epoch)
        self.on_epoch = run.on_epoch or self.on_epoch
        data, released = self._private_release(data, table, run)
        if released is None:
            self.cells = None if not self.context_names else ContextCells.fit(
                context, {c: table.column(c).type.kind in ORDERED for c in data.column_names}, own)
            self.codec = TableCodec.fit(data, table, self._codec_options())
        else:
            self.cells = released_cells(self.context_names, table, released) if self.context_names else None
            texts = text_columns(data, table, released, self.privacy, np.random.default_rng(noise_seed(self.settings)))
            self.codec = TableCodec.from_release(table, data.column_names, self._codec_options(), released, texts)
        self.network, self.fit_report = None, Fit()
        if data.num_rows and self.codec.columns:
            rng = np.random.default_rng(self._seed())
            pieces = self.codec.pieces(data, rng, self.settings.max_text_tokens)
            self.guard = self._copy_guard(data) if released is None else CopyGuard(np.zeros(0, dtype=np.uint64))
            with cpu_threads(device), torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
                torch.manual_seed(self._seed())
                self.network = self._train(pieces, device, rng)
        return self

    def _private_release(self, data: pa.Table, table: Table, run: FitContext) -> tuple[pa.Table, dict | None]:
        """Under DP (``epsilon``): the plan (with what the engine reserved from the same budget, a
        child's counts), the DP defaults, the rows bounded per privacy unit (``privacy.units``), and
        the column statistics released by one Gaussian mechanism (``privacy.columns``).  A non-DP
        fit gets its rows back and no release."""
        self.privacy, self._units = run.privacy, None  # set up by the engine (privacy/setup.py)
        if self.privacy is None:
            return data, None
        from synthtab_db.models.gpt.private_training import dp_settings  # needs opacus

        self.settings = dp_settings(self.settings)
        data, self._units = bounded(run.units, data, self.privacy, self.settings.max_rows_per_parent, self._seed())
        rng = np.random.default_rng(noise_seed(self.settings))
        return data, release_columns(data, table, self._codec_options(), self.privacy, rng)

    def _codec_options(self) -> dict[str, Any]:
        return self.settings.model_dump() | {"seed": self._seed()}

    def _train(self, pieces: list[np.ndarray], device: torch.device, rng: np.random.Generator):
        rows, columns, k = len(pieces[0]), len(pieces), self.settings.retrieve
        first = np.stack([p[:, 0] for p in pieces], axis=1)
        fixed = ordered(pieces, np.tile(np.arange(columns), (rows, 1)))
        learn, held = split_rows(rows, rng) if self.privacy is None else (np.arange(rows), np.arange(0))

        def epoch_sequences(epoch: int) -> np.ndarray:
            orders, prefix = row_orders(len(learn), columns, rng)
            neighbours = training_neighbours(first[learn], orders[:, 0], prefix > 0, k, rng) if k else None
            return with_context(ordered([p[learn] for p in pieces], orders), fixed[learn], neighbours)

        network = self._network(self._positions(fixed.shape[1]), rows * fixed.shape[1]).to(device)
        if self.privacy is not None:
            self.fit_report = self._train_private(network, epoch_sequences, device)
            return network
        validation = with_context(fixed[held], fixed[learn], rng.integers(0, len(learn), (len(held), k)))
        self.fit_report = train(network, epoch_sequences, validation, self.settings, device, rng, self.on_epoch)
        if k:
            self.context_rows, self.context_tokens = fixed, first
        return network

    def _train_private(self, network, epoch_sequences: Callable[[int], np.ndarray], device: torch.device) -> Fit:
        """DP-SGD (``private_training.py``); batches and noise drawn from the DP noise seed."""
        from synthtab_db.models.gpt.private_training import train_private

        seed = noise_seed(self.settings)
        noise = torch.Generator(device=device).manual_seed(seed)
        return train_private(network, epoch_sequences, self._units, self.settings, device, self.privacy,
                             np.random.default_rng([seed, 1]), noise, self.on_epoch)

    def _positions(self, row_width: int) -> int:
        """Longest sequence: the prompt's k real rows, then a row whose texts may run to the limit."""
        longest_row = sum(1 if e is not None else self.settings.max_text_tokens + 3 for e in self.codec.encoders)
        return 2 + self.settings.retrieve * (row_width + 1) + max(longest_row, row_width)

    def _network(self, positions: int, tokens: int):
        if self.settings.pretrained:
            return pretrained_model(self.settings.pretrained, self._surfaces(), positions)
        return fresh_model(sized_config(self.codec.layout.vocabulary, positions, tokens, self.settings))

    def _surfaces(self) -> list[str]:
        """Each token's text ("age 39", "workclass Private", a text piece) for a pretrained model."""
        rng, names = np.random.default_rng(0), list(SPECIALS)
        for column, encoder in zip(self.codec.columns, self.codec.encoders):
            if encoder is None:
                names.append(column.name)
                continue
            values = encoder.decode(np.arange(encoder.vocabulary), rng).to_pylist()
            names += [f"{column.name} {'null' if v is None else v}" for v in values]
        return names + (self.codec.tokenizer.pieces() if self.codec.tokenizer else [])

    def _copy_guard(self, data: pa.Table) -> CopyGuard:
        texts = [v for j in self.codec.text for v in data.column(self.codec.columns[j].name).drop_null().to_pylist()]
        lengths = [len(ids) for ids in self.codec.tokenizer.encode(texts)] if texts else []
        return CopyGuard.fit(texts, lengths, self.settings.memorization_tokens, self.settings.memorization_frequent)

    # -- sampling -----------------------------------------------------------------------
    def sample(self, n: int, *, seed: int | None = None, context: pa.Table | None = None,
               conditions: dict[str, Condition] | None = None) -> pa.Table:
        """``n`` well-formed rows; the same model, ``n``, seed (context) and device give the same rows.

        A parent context (a child table's) is met like CTGAN's and TVAE's: joint rows are
        sampled and matched to each row's context cell (``models.context``)."""
        names = [c.name for c in self.codec.columns][len(self.context_names):]
        given = require_context(self.context_names, context, n)
        if given is None or self.cells is None:
            return self._sample_joint(n, seed, conditions).select(names)
        return match_context(lambda m, s: self._sample_joint(m, s, conditions), self.cells, given, names, seed)

    def _sample_joint(self, n: int, seed: int | None, conditions: dict[str, Condition] | None) -> pa.Table:
        """Every fitted column, the context's included."""
        device = torch.device(resolve_device(self.settings.device))
        found = conditioning(self.codec, conditions)
        seeds, parts, have, rate = np.random.SeedSequence(seed), [], 0, 1.0
        with cpu_threads(device):
            for _ in range(MAX_ROUNDS):
                if have >= n or len(parts) >= EMPTY_ROUNDS and not any(p.num_rows for p in parts[-EMPTY_ROUNDS:]):
                    break
                want = min(math.ceil((n - have) / rate * 1.1) + 8, 20 * n + 100)
                part = self._round(want, found, seeds.spawn(1)[0], device)
                parts.append(part)
                have, rate = have + part.num_rows, max(part.num_rows / want, 0.05)
        if have < n:
            raise SynthError(f"gpt produced only {have} acceptable rows of {n} in {MAX_ROUNDS} rounds "
                             f"({self.malformed_rows} malformed, {self.memorized_rows} copies of training texts "
                             "rejected); train longer (max_seconds, epochs) or relax the WHERE")
        return self._empty() if not parts else pa.concat_tables(parts).slice(0, n).combine_chunks()

    def _round(self, rows: int, found: Conditioning, seed: np.random.SeedSequence, device: torch.device) -> pa.Table:
        size = CUDA_BATCH if device.type == "cuda" else CPU_BATCH
        sizes = [min(size, rows - start) for start in range(0, rows, size)]
        return pa.concat_tables([self._batch(count, found, s, device)
                                 for count, s in zip(sizes, seed.spawn(len(sizes)))]) if sizes else self._empty()

    def _batch(self, rows: int, found: Conditioning, seed: np.random.SeedSequence, device: torch.device) -> pa.Table:
        token_seed, value_seed = seed.spawn(2)
        rng = np.random.default_rng(value_seed)
        if self.network is None:
            return self._accepted(self._prior(rows, found, rng), found, rng)
        generator = torch.Generator(device=device).manual_seed(int(token_seed.generate_state(1)[0]))
        plan = Plan(order=found.order(len(self.codec.columns)), text=set(self.codec.text), weights=found.weights(),
                    forced=forced_tokens(self.codec, found.texts, rows, rng),
                    nullable={j: self.codec.nulls[j].rate > 0 for j in self.codec.text},
                    max_text_tokens=self.settings.max_text_tokens, temperature=self.settings.temperature)
        generated = Decoder(self.network.to(device).eval(), self.codec.layout, device, generator).rows(
            self._prompts(rows, found, rng), plan)
        return self._accepted(parse(generated, self.codec.layout, self.codec.text, plan.max_text_tokens), found, rng)

    def _prompts(self, rows: int, found: Conditioning, rng: np.random.Generator) -> np.ndarray:
        """``<bos> <row>``, or with retrieval ``<bos> (<ctx> real row)* <row>``, left-padded."""
        if self.context_rows is None:
            return np.tile(np.array([BOS, ROW], dtype=np.int64), (rows, 1))
        offsets = self.codec.layout.offsets
        allowed = {j: tokens + offsets[j] for j, tokens in found.allowed_tokens().items()}
        neighbours = sampling_neighbours(self.context_tokens, allowed, rows, self.settings.retrieve, rng)
        prompts = with_context(np.full((rows, 1), NOTHING, dtype=np.int64), self.context_rows, neighbours)
        return np.take_along_axis(prompts, np.argsort(prompts != NOTHING, axis=1, kind="stable"), axis=1)

    def _prior(self, rows: int, found: Conditioning, rng: np.random.Generator) -> Parsed:
        """The zero-row model: each column from its schema-drawn marginal (conditions applied)."""
        fixed = {}
        for j, encoder in enumerate(self.codec.encoders):
            with np.errstate(divide="ignore"):
                logits = np.log(encoder.prior()) + (found.weights()[j] if j in found.restrictions else 0.0)
            tokens = draw(torch.as_tensor(logits, dtype=torch.float32).expand(rows, -1),
                          torch.Generator().manual_seed(int(rng.integers(2**62))))
            fixed[j] = tokens.numpy() + self.codec.layout.offsets[j]
        return Parsed(ok=np.ones(rows, dtype=bool), fixed=fixed)

    def _accepted(self, parsed: Parsed, found: Conditioning, rng: np.random.Generator) -> pa.Table:
        """The well-formed rows as Arrow; malformed rows and copies are counted and dropped."""
        keep = np.flatnonzero(parsed.ok)
        clean, wanted, copied = np.ones(keep.size, dtype=bool), np.ones(keep.size, dtype=bool), np.zeros(keep.size, dtype=bool)
        columns: dict[str, pa.Array] = {}
        for j, column in enumerate(self.codec.columns):
            if j in parsed.fixed:
                columns[column.name] = self.codec.decode_fixed(j, parsed.fixed[j][keep], rng, found.restrictions.get(j))
                continue
            values = self.codec.decode_text(j, [parsed.texts[j][r] for r in keep], parsed.nulls[j][keep])
            clean &= _clean_text(values, column.type.length)
            if j not in found.texts:  # a text the WHERE asks for is the user's, not a leak
                copied |= self.guard.copies(values.fill_null("").to_pylist())
            wanted &= passes(values, found.filters[j]) if j in found.filters else True
            columns[column.name] = values
        self.malformed_rows += int((~parsed.ok).sum() + (~clean).sum())
        self.memorized_rows += int((clean & copied).sum())
        if not keep.size:
            return self._empty()
        return pa.table(columns).filter(pa.array(clean & ~copied & wanted))

    def _empty(self) -> pa.Table:
        return pa.table({c.name: pa.array([], type=arrow_type(c.type)) for c in self.codec.columns})

    def _seed(self) -> int:
        return int(self.settings.seed or 0)

    # -- persistence --------------------------------------------------------------------
    def to_bytes(self) -> bytes:
        meta, arrays = self.codec.to_state()
        arrays = {f"codec.{key}": value for key, value in arrays.items()}
        arrays["guard"] = self.guard.hashes.view(np.int64)
        if self.context_rows is not None:
            arrays["context_rows"], arrays["context_tokens"] = self.context_rows, self.context_tokens
        header = {"format": persistence.FORMAT, "model": self.name, "options": self.settings.model_dump(),
                  "table": self.table.model_dump(mode="json"), "columns": [c.name for c in self.codec.columns],
                  "context": self.context_names, "cells": None if self.cells is None else self.cells.to_dict(),
                  "codec": meta, "network": None if self.network is None else self.network.config.to_dict(),
                  "fit": {"epochs": self.fit_report.epochs, "best_epoch": self.fit_report.best_epoch,
                          "stopped": self.fit_report.stopped}}
        weights = {} if self.network is None else self.network.state_dict()
        return persistence.pack(header, weights, arrays)

    @classmethod
    def from_bytes(cls, blob: bytes) -> "GptSynthesizer":
        """Loads on the CPU; a model saved with device='cuda' samples on the CPU where there is no GPU."""
        header, weights, arrays = persistence.unpack(blob, cls.name)
        model = cls(**persistence.options_here(header))
        model.table = Table.model_validate(header["table"])
        codec_arrays = {key[6:]: value for key, value in arrays.items() if key.startswith("codec.")}
        model.codec = TableCodec.from_state(model.table, header["columns"], header["codec"], codec_arrays)
        model.guard = CopyGuard(arrays["guard"].view(np.uint64))
        model.context_rows, model.context_tokens = arrays.get("context_rows"), arrays.get("context_tokens")
        model.context_names = list(header.get("context") or [])
        model.cells = ContextCells.from_dict(header["cells"]) if header.get("cells") else None
        model.fit_report = Fit(**header["fit"])
        if header["network"] is not None:
            model.network = model_from_config(header["network"])
            model.network.load_state_dict(weights)
            model.network.eval()
        return model


def _clean_text(values: pa.Array, length: int | None) -> np.ndarray:
    """Text that decoded to valid UTF-8 and fits the declared VARCHAR(n)."""
    ok = pc.invert(pc.fill_null(pc.match_substring(values, "\ufffd"), False))
    if length is not None:
        ok = pc.and_(ok, pc.fill_null(pc.less_equal(pc.utf8_length(values), length), True))
    return ok.to_numpy(zero_copy_only=False)
