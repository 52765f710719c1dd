"""Where torch runs and how its randomness is seeded.

Training draws from torch's global RNG (weight init, dropout) inside
``seeded``, which forks and restores it, so fitting never disturbs the caller's
random state.  Sampling uses an explicit ``torch.Generator`` per call, so the
same seed on the same device gives the same rows.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import numpy as np
import torch

from synthtab_db.errors import SynthError


def select_device(name: str, *, strict: bool = True) -> torch.device:
    """'cpu', 'cuda' or 'auto' (CUDA when available); 'cuda' without a GPU is an error when strict."""
    available = torch.cuda.is_available()
    if name == "cuda" and not available:
        if strict:
            raise SynthError("device 'cuda' requested but torch sees no CUDA GPU here; "
                             "use device = 'cpu' or 'auto'")
        return torch.device("cpu")
    if name == "cpu" or (name == "auto" and not available):
        return torch.device("cpu")
    return torch.device("cuda")


def fresh_seed() -> int:
    """A seed from OS entropy, for runs whose seed was not given."""
    return int(np.random.SeedSequence().generate_state(1, dtype=np.uint64)[0] >> 1)


@contextmanager
def seeded(seed: int, device: torch.device) -> Iterator[None]:
    """torch's global RNG seeded for the block and restored afterwards."""
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


def generator(seed: int, device: torch.device) -> torch.Generator:
    return torch.Generator(device=device).manual_seed(seed)
