"""Saved torch models (argn, gpt, ctgan, tvae): a JSON header and plain tensors, nothing that unpickles code.

Everything goes into one ``torch.save`` of a flat dict of tensors: the header
as UTF-8 bytes, the network's ``state_dict`` and the encoders' state arrays.
Loading uses ``weights_only=True`` and ``map_location="cpu"``, so a model
trained on a GPU loads anywhere, and ``options_here`` turns a saved
``device='cuda'`` into the CPU where there is no GPU.
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


def pack(header: dict[str, Any], network: dict[str, torch.Tensor], arrays: dict[str, np.ndarray]) -> bytes:
    text = json.dumps({**header, "format": FORMAT}, default=json_default).encode()
    tensors = {"header": torch.frombuffer(bytearray(text), dtype=torch.uint8)}
    tensors.update({f"net.{key}": value.detach().cpu().contiguous() for key, value in network.items()})
    tensors.update({f"enc.{key}": _tensor(key, value) for key, value in arrays.items()})
    buffer = io.BytesIO()
    torch.save(tensors, buffer)
    return buffer.getvalue()


def _tensor(key: str, array: np.ndarray) -> torch.Tensor:
    array = np.ascontiguousarray(array)
    if array.dtype == object or array.dtype.kind not in "biuf":
        raise SynthError(f"cannot save array {key!r} of dtype {array.dtype}")
    return torch.from_numpy(array.copy())


def unpack(blob: bytes, model: str) -> tuple[dict[str, Any], dict[str, torch.Tensor], dict[str, np.ndarray]]:
    """(header, network weights, arrays) of a saved ``model``; a SynthError for anything else."""
    try:
        tensors = torch.load(io.BytesIO(blob), map_location="cpu", weights_only=True)
        header = json.loads(bytes(tensors.pop("header").numpy()))
    except Exception as exc:  # torch raises many kinds for a foreign blob
        raise SynthError(f"not a saved {model} synthesizer: {exc}") from None
    if header.get("format") != FORMAT or header.get("model") != model:
        raise SynthError(f"saved model is {header.get('model')!r} format {header.get('format')}, "
                         f"this version reads {model} format {FORMAT}")
    network = {key[4:]: value for key, value in tensors.items() if key.startswith("net.")}
    arrays = {key[4:]: value.numpy() for key, value in tensors.items() if key.startswith("enc.")}
    return header, network, arrays




def options_here(header: dict[str, Any]) -> dict[str, Any]:
    """The saved options, with device='cuda' turned into the CPU where there is no GPU."""
    options = dict(header["options"])
    if options.get("device") == "cuda" and not torch.cuda.is_available():
        options["device"] = "cpu"
    return options
