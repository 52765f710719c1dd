"""Batched decoding on the model's device, one column after another, with a KV cache.

The prompt is ``<bos> [(<ctx> neighbour)*] <row>``, left-padded so a batch of
different prompt lengths decodes in step.  Then the columns come in the
generation order (WHERE columns first): a category or number column is one
token drawn from the logits of that column's tokens (plus the condition's log
weights, so a condition is sampled from the model's conditional, not
filtered); a text column is its marker, then pieces until ``<sep>`` or the
length limit.  Rows that finish a text early wait (masked padding, no
position advance) until the batch has finished that column.

The output is the generated token rows only; ``parsing.py`` decides which are
well formed.  With masking the structure is right by construction; what can
still be malformed is text (no ``<sep>`` within ``max_text_tokens``, pieces that
do not decode to valid UTF-8), which is rejected and resampled.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from transformers import PreTrainedModel

from synthtab_db.models.argn.sampling import draw
from synthtab_db.models.gpt.encoding import NOTHING, NULL, PAD, SEP, Layout


@dataclass
class Plan:
    """What to decode: the column order, per fixed column the condition's log weights, per
    conditioned text column the forced token rows, and whether a text column may be NULL."""

    order: list[int]
    text: set[int]
    weights: dict[int, np.ndarray]
    forced: dict[int, list[list[int]]]
    nullable: dict[int, bool]
    max_text_tokens: int
    temperature: float = 1.0


class Decoder:
    """One batch of rows being decoded: cache, attention mask, positions, pending logits."""

    def __init__(self, model: PreTrainedModel, layout: Layout, device: torch.device,
                 generator: torch.Generator) -> None:
        self.model, self.layout, self.device, self.generator = model, layout, device, generator
        self.offsets = layout.offsets

    @torch.no_grad()
    def rows(self, prompts: np.ndarray, plan: Plan) -> np.ndarray:
        """(rows, tokens) generated token rows, NOTHING-padded."""
        self._start(prompts)
        emitted: list[np.ndarray] = []
        for j in plan.order:
            if j in plan.text:
                emitted += self._text(j, plan)
            else:
                emitted.append(self._fixed(j, plan))
        return np.stack(emitted, axis=1) if emitted else np.zeros((len(prompts), 0), dtype=np.int64)

    # -- model state -------------------------------------------------------------------
    def _start(self, prompts: np.ndarray) -> None:
        ids = torch.from_numpy(np.where(prompts == NOTHING, PAD, prompts)).to(self.device)
        self.mask = torch.from_numpy(prompts != NOTHING).long().to(self.device)
        positions = (self.mask.cumsum(1) - 1).clamp(min=0)
        out = self.model(input_ids=ids, attention_mask=self.mask, position_ids=positions, use_cache=True,
                         logits_to_keep=1)
        self.cache, self.logits = out.past_key_values, out.logits[:, -1].float()
        self.next_position = self.mask.sum(1)

    def _feed(self, tokens: torch.Tensor, active: torch.Tensor) -> None:
        """Append ``tokens`` for active rows; inactive rows get a masked pad and keep their logits."""
        ids = torch.where(active, tokens, torch.full_like(tokens, PAD))[:, None]
        self.mask = torch.cat([self.mask, active.long()[:, None]], dim=1)
        out = self.model(input_ids=ids, attention_mask=self.mask, position_ids=self.next_position[:, None],
                         past_key_values=self.cache, use_cache=True)
        self.cache = out.past_key_values
        self.logits = torch.where(active[:, None], out.logits[:, -1].float(), self.logits)
        self.next_position = self.next_position + active.long()

    def _draw(self, start: int, stop: int, extra: torch.Tensor | None, temperature: float,
              allowed: torch.Tensor | None = None) -> torch.Tensor:
        logits = self.logits[:, start:stop] / temperature
        if extra is not None:
            logits = logits + extra
        if allowed is not None:
            logits = logits.masked_fill(~allowed, float("-inf"))
        return draw(logits, self.generator) + start

    # -- columns -----------------------------------------------------------------------
    def _fixed(self, j: int, plan: Plan) -> np.ndarray:
        start = int(self.offsets[j])
        extra = plan.weights.get(j)
        extra = None if extra is None else torch.as_tensor(extra, dtype=torch.float32, device=self.device)
        tokens = self._draw(start, start + self.layout.sizes[j], extra, plan.temperature)
        self._feed(tokens, torch.ones_like(tokens, dtype=torch.bool))
        return tokens.cpu().numpy()

    def _text(self, j: int, plan: Plan) -> list[np.ndarray]:
        rows = len(self.logits)
        marker = torch.full((rows,), int(self.offsets[j]), dtype=torch.long, device=self.device)
        self._feed(marker, torch.ones(rows, dtype=torch.bool, device=self.device))
        emitted = [marker.cpu().numpy()]
        forced = _forced(plan.forced.get(j), rows, plan.max_text_tokens + 2)
        active = torch.ones(rows, dtype=torch.bool, device=self.device)
        for step in range(plan.max_text_tokens + 2):
            tokens = self._text_token(step, plan, plan.nullable.get(j, False), forced)
            if step == plan.max_text_tokens + 1:  # out of room: close the text (the parser rejects the row)
                tokens = torch.where(_ends(tokens), tokens, torch.full_like(tokens, SEP))
            self._feed(tokens, active)
            emitted.append(torch.where(active, tokens, torch.full_like(tokens, NOTHING)).cpu().numpy())
            active = active & ~_ends(tokens)
            if not bool(active.any()):
                break
        return emitted

    def _text_token(self, step: int, plan: Plan, nullable: bool, forced: np.ndarray | None) -> torch.Tensor:
        """A text piece or the end of the text (NULL only as the first token)."""
        text_start = self.layout.text_offset
        tokens = self._draw(text_start, self.layout.vocabulary, None, plan.temperature)
        end_logits = self.logits[:, [SEP, NULL]] / plan.temperature
        if not (nullable and step == 0):
            end_logits[:, 1] = float("-inf")
        pieces = torch.logsumexp(self.logits[:, text_start:] / plan.temperature, dim=1, keepdim=True)
        choice = draw(torch.cat([end_logits, pieces], dim=1), self.generator)
        tokens = torch.where(choice == 0, SEP, torch.where(choice == 1, NULL, tokens))
        if forced is not None:
            wanted = torch.from_numpy(forced[:, step]).to(self.device)
            tokens = torch.where(wanted != NOTHING, wanted, tokens)
        return tokens


def _ends(tokens: torch.Tensor) -> torch.Tensor:
    return (tokens == SEP) | (tokens == NULL)


def _forced(rows: list[list[int]] | None, n: int, width: int) -> np.ndarray | None:
    """Forced tokens per row (values of a WHERE on a text column), terminator included."""
    if rows is None:
        return None
    matrix = np.full((n, width), NOTHING, dtype=np.int64)
    for r, row in enumerate(rows):
        matrix[r, :len(row)] = row[:width]
    return matrix
