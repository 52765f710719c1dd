"""Saved gpt models: a JSON header (options, schema, tokenizer, network config) and plain
tensors (weights, encoder state, copy-guard hashes, retrieval rows); nothing that unpickles code.

Loading uses ``weights_only=True`` on the CPU, so a model trained on a GPU loads anywhere.
"""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np
import torch

from synthtab_db.errors import SynthError
from synthtab_db.models.serialize import json_default

FORMAT = 1


def pack(header: dict[str, Any], weights: dict[str, torch.Tensor], arrays: dict[str, np.ndarray]) -> bytes:
    text = json.dumps(header, default=json_default).encode()
    tensors = {"header": torch.frombuffer(bytearray(text), dtype=torch.uint8)}
    tensors.update({f"net.{key}": value.detach().cpu().contiguous() for key, value in weights.items()})
    tensors.update({f"arr.{key}": torch.from_numpy(np.ascontiguousarray(value)) for key, value in arrays.items()})
    buffer = io.BytesIO()
    torch.save(tensors, buffer)
    return buffer.getvalue()


def unpack(blob: bytes) -> tuple[dict[str, Any], dict[str, torch.Tensor], dict[str, np.ndarray]]:
    try:
        tensors = torch.load(io.BytesIO(blob), map_location="cpu", weights_only=True)
        header = json.loads(bytes(tensors.pop("header").numpy()))
    except Exception as exc:  # torch raises many kinds for a foreign blob
        raise SynthError(f"not a saved gpt synthesizer: {exc}") from None
    if header.get("format") != FORMAT or header.get("model") != "gpt":
        raise SynthError(f"saved model is {header.get('model')!r} format {header.get('format')}, "
                         f"this version reads gpt format {FORMAT}")
    weights = {key[4:]: value for key, value in tensors.items() if key.startswith("net.")}
    arrays = {key[4:]: value.numpy() for key, value in tensors.items() if key.startswith("arr.")}
    return header, weights, arrays
