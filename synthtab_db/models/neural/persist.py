"""Saved torch synthesizers: one ``torch.save`` of plain tensors, header included.

The JSON header (options, schema, transform settings) travels as a uint8
tensor; weights and transform arrays as tensors.  Loading uses
``weights_only=True`` and ``map_location='cpu'``: no pickle of arbitrary
objects, and a model trained on a GPU loads anywhere.
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


def pack(header: dict[str, Any], arrays: dict[str, np.ndarray], tensors: dict[str, torch.Tensor]) -> bytes:
    text = json.dumps({**header, "format": FORMAT}, default=json_default).encode()
    state = {"header": torch.frombuffer(bytearray(text), dtype=torch.uint8)}
    state.update({f"a.{k}": _tensor(k, v) for k, v in arrays.items()})
    state.update({f"w.{k}": v.detach().cpu().contiguous() for k, v in tensors.items()})
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue()


def unpack(blob: bytes, model: str) -> tuple[dict[str, Any], dict[str, np.ndarray], dict[str, torch.Tensor]]:
    """(header, arrays, weights); a SynthError for anything that is not a saved ``model``."""
    try:
        state = torch.load(io.BytesIO(blob), map_location="cpu", weights_only=True)
        header = json.loads(bytes(state.pop("header").numpy()).decode())
    except Exception as exc:  # torch raises many kinds on garbage (pickle, zip, runtime)
        raise SynthError(f"not a saved {model} synthesizer: {exc}") from None
    if header.get("model") != model or header.get("format") != FORMAT:
        raise SynthError(
            f"saved synthesizer is {header.get('model')!r} format {header.get('format')}, "
            f"expected {model!r} format {FORMAT}"
        )
    arrays = {k[2:]: v.numpy() for k, v in state.items() if k.startswith("a.")}
    weights = {k[2:]: v for k, v in state.items() if k.startswith("w.")}
    return header, arrays, weights


def _tensor(key: str, array: np.ndarray) -> torch.Tensor:
    array = np.ascontiguousarray(array)
    if array.dtype == object or array.dtype.kind not in "biuf":
        raise SynthError(f"cannot save array {key!r} of dtype {array.dtype}")
    return torch.from_numpy(array.copy())


