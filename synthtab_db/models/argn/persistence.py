"""Saved argn models: a JSON header and plain tensors, nothing that unpickles code.

Everything goes into one ``torch.save`` of a flat dict of tensors: the header
as UTF-8 bytes, the network's ``state_dict`` and the column transforms' state
arrays.  Loading uses ``weights_only=True`` and ``map_location="cpu"``, so a
model trained on a GPU loads anywhere.
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
    text = json.dumps(header, default=json_default).encode()
    tensors = {"header": torch.frombuffer(bytearray(text), dtype=torch.uint8)}
    tensors.update({f"net.{key}": value.detach().cpu() for key, value in network.items()})
    tensors.update({f"enc.{key}": torch.from_numpy(np.ascontiguousarray(value)) for key, value in arrays.items()})
    buffer = io.BytesIO()
    torch.save(tensors, buffer)
    return buffer.getvalue()


def unpack(blob: bytes) -> tuple[dict[str, Any], dict[str, torch.Tensor], dict[str, np.ndarray]]:
    try:
        tensors = torch.load(io.BytesIO(blob), map_location="cpu", weights_only=True)
        header = json.loads(bytes(tensors.pop("header").numpy()))
    except Exception as exc:  # torch raises many kinds for a foreign blob
        raise SynthError(f"not a saved argn synthesizer: {exc}") from None
    if header.get("format") != FORMAT:
        raise SynthError(f"saved argn model has format {header.get('format')}, this version reads {FORMAT}")
    network = {key[4:]: value for key, value in tensors.items() if key.startswith("net.")}
    arrays = {key[4:]: value.numpy() for key, value in tensors.items() if key.startswith("enc.")}
    return header, network, arrays


