"""A local causal LM: chat → prompt text → greedy decoding, optionally kept to JSON.

A checkpoint with a chat template gets it; one without (a base model, or one
trained here from scratch) gets ``plain_prompt``: one ``role: content`` line per
user/assistant turn, ending with ``assistant:``; system text is left out, as a
base model was never taught to follow it.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, LogitsProcessor, LogitsProcessorList

from synthtab_db.prompt.json_prefix import JsonPrefix, schema_keys


def plain_prompt(messages: list[dict[str, str]]) -> str:
    turns = [f"{m['role']}: {m['content']}\n" for m in messages if m["role"] != "system"]
    return "".join(turns) + "assistant: "


@dataclass
class LocalModel:
    model: object
    tokenizer: object
    pieces: list[str]  # each token id's text, for the JSON constraint

    @classmethod
    def from_path(cls, path: str) -> "LocalModel":
        tokenizer = AutoTokenizer.from_pretrained(path)
        model = AutoModelForCausalLM.from_pretrained(path).eval()
        special = set(tokenizer.all_special_ids)
        pieces = ["" if i in special else tokenizer.decode([i]) for i in range(len(tokenizer))]
        return cls(model, tokenizer, pieces)

    def prompt(self, messages: list[dict[str, str]]) -> str:
        if self.tokenizer.chat_template:
            return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        return plain_prompt(messages)


class JsonOnly(LogitsProcessor):
    """Greedy under a constraint: keep only the best-scoring token that leaves a JSON prefix
    (end of text only once the object is closed).  Candidates are tried best first, so a
    large vocabulary costs a handful of checks per step."""

    def __init__(self, pieces: list[str], prompt_length: int, eos: int, keys: frozenset[str] | None = None):
        self.pieces, self.prompt_length, self.eos = pieces, prompt_length, eos
        self.state, self.seen = JsonPrefix(keys=keys), 0

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        generated = input_ids[0, self.prompt_length:].tolist()
        for token in generated[self.seen:]:
            self.state.feed(self.pieces[token])
        self.seen = len(generated)
        choice = self._best(scores[0])
        masked = torch.full_like(scores, float("-inf"))
        masked[0, choice] = 0.0
        return masked

    def _best(self, scores: torch.Tensor) -> int:
        for token in torch.argsort(scores, descending=True).tolist():
            if self._allowed(token):
                return token
        return self.eos

    def _allowed(self, token: int) -> bool:
        if token == self.eos:
            return self.state.complete
        piece = self.pieces[token]
        return bool(piece) and not self.state.complete and self.state.copy().feed(piece)


def generate(local: LocalModel, messages: list[dict[str, str]], json_only: bool, max_new_tokens: int,
             json_schema: dict | None = None) -> str:
    """The model's reply to the chat; ``json_only`` keeps it to one JSON object, whose keys
    are those ``json_schema`` names when it is given."""
    ids = local.tokenizer(local.prompt(messages), return_tensors="pt")["input_ids"]
    room = local.model.config.max_position_embeddings - ids.shape[1]
    eos = local.tokenizer.eos_token_id
    processors = LogitsProcessorList([JsonOnly(local.pieces, ids.shape[1], eos, schema_keys(json_schema))] if json_only else [])
    with torch.no_grad():
        out = local.model.generate(ids, attention_mask=torch.ones_like(ids), do_sample=False,
                                   max_new_tokens=max(1, min(max_new_tokens, room)), logits_processor=processors,
                                   eos_token_id=eos, pad_token_id=local.tokenizer.pad_token_id or eos)
    return local.tokenizer.decode(out[0, ids.shape[1]:], skip_special_tokens=True)
