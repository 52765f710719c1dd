"""The causal language model: a GPT-2 built from a config sized to the data, or a local
checkpoint (``pretrained``) whose vocabulary is replaced by the table's.

No weights are downloaded.  Sizing: tokens to learn from = rows x sequence
length; up to a million tokens are fitted best by a narrow, shallow network
(wider ones get fewer epochs into a CPU's time budget).

A checkpoint keeps its transformer blocks; its embedding and output layers are
resized to the table's vocabulary, and each new token's embedding starts as
the mean of the checkpoint's embeddings of the token's text ("age 39",
"workclass Private", a text piece), when the checkpoint has a tokenizer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from transformers import AutoConfig, AutoModelForCausalLM, GPT2Config, GPT2LMHeadModel, PreTrainedModel

from synthtab_db.errors import SynthError
from synthtab_db.models.gpt.encoding import PAD
from synthtab_db.models.gpt.options import GptOptions

#: (tokens up to, n_embd, n_layer, n_head).  On Adult (440k tokens, 2 busy cores, 60 s) 64 x 2
#: reached a validation loss of 1.48 nats a token in 3 epochs, 96 x 3 only 1.59 in one.
SIZES = ((1_000_000, 64, 2, 4), (10_000_000, 128, 3, 4), (float("inf"), 192, 4, 4))


def sized_config(vocabulary: int, positions: int, tokens: int, options: GptOptions) -> GPT2Config:
    _, width, layers, heads = next(size for size in SIZES if tokens <= size[0])
    width, layers = options.n_embd or width, options.n_layer or layers
    heads = options.n_head or next(h for h in (heads, 2, 1) if width % h == 0)
    dropout = 0.0 if options.epsilon is not None else 0.1  # DP-SGD's noise regularises; dropout only loses signal
    return GPT2Config(vocab_size=vocabulary, n_positions=positions, n_embd=width, n_layer=layers, n_head=heads,
                      resid_pdrop=dropout, embd_pdrop=dropout, attn_pdrop=dropout, activation_function="gelu",
                      bos_token_id=None, eos_token_id=None, pad_token_id=PAD)


def fresh_model(config: GPT2Config) -> GPT2LMHeadModel:
    return GPT2LMHeadModel(config)


def pretrained_model(path: str, surfaces: list[str], positions: int) -> PreTrainedModel:
    """The checkpoint at ``path`` (local files only), its vocabulary replaced by ``surfaces``."""
    folder = Path(path).expanduser()
    if not (folder / "config.json").is_file():
        raise SynthError(f"gpt option 'pretrained': no model checkpoint at {path!r} (expected a folder written by "
                         "save_pretrained, with config.json and the weights; nothing is downloaded)")
    try:
        model = AutoModelForCausalLM.from_pretrained(folder, local_files_only=True)
    except (OSError, ValueError, KeyError) as exc:
        raise SynthError(f"gpt option 'pretrained': {path!r} holds no causal language model: {exc}") from None
    limit = _positions(model.config)
    if limit is not None and limit < positions:
        raise SynthError(f"gpt option 'pretrained': the checkpoint at {path!r} takes {limit} positions, "
                         f"the table's rows need {positions}")
    _replace_vocabulary(model, _surface_embeddings(folder, model, surfaces))
    return model


def _positions(config: Any) -> int | None:
    return getattr(config, "n_positions", None) or getattr(config, "max_position_embeddings", None)


def _surface_embeddings(folder: Path, model: PreTrainedModel, surfaces: list[str]) -> torch.Tensor:
    """New embedding rows: the mean of the checkpoint's embeddings of each token's text."""
    old = model.get_input_embeddings().weight.detach()
    generator = torch.Generator().manual_seed(0)
    fallback = old.mean(0) + old.std(0) * torch.randn(len(surfaces), old.shape[1], generator=generator)
    tokenizer = _tokenizer(folder)
    if tokenizer is None:
        return fallback
    rows = []
    for i, text in enumerate(surfaces):
        ids = [t for t in tokenizer(text, add_special_tokens=False)["input_ids"] if t < old.shape[0]]
        rows.append(old[ids].mean(0) if ids else fallback[i])
    return torch.stack(rows)


def _tokenizer(folder: Path):
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(folder, local_files_only=True)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _replace_vocabulary(model: PreTrainedModel, embeddings: torch.Tensor) -> None:
    model.resize_token_embeddings(embeddings.shape[0])
    with torch.no_grad():
        model.get_input_embeddings().weight.copy_(embeddings)
        output = model.get_output_embeddings()
        if output is not None and output.weight.data_ptr() != model.get_input_embeddings().weight.data_ptr():
            output.weight.copy_(embeddings)
    model.config.pad_token_id, model.config.bos_token_id, model.config.eos_token_id = PAD, None, None


def model_from_config(config: dict[str, Any]) -> PreTrainedModel:
    """An untrained model of a saved config (its weights are loaded next)."""
    config = dict(config)
    return AutoModelForCausalLM.from_config(AutoConfig.for_model(config.pop("model_type"), **config))
