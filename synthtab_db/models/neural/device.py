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

from synthtab_db.device import resolve_device


def select_device(name: str, *, strict: bool = True) -> torch.device:
    """'cpu', 'cuda' or 'auto' (CUDA when available); 'cuda' without a GPU is a SynthError
    when ``strict`` (training, options), else CPU (a saved model loads anywhere)."""
    if not strict and name == "cuda" and not torch.cuda.is_available():
        return torch.device("cpu")
    return torch.device(resolve_device(name))


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


@contextmanager
def threads(count: int) -> Iterator[None]:
    """torch's intra-op thread count for the block, restored afterwards.

    One thread is the default: when the cores are shared (DuckDB's own
    threads, a second process), OpenMP's spin-waiting made a 2-thread CTGAN
    step 10-17x slower than a 1-thread one on the 2-core machines here.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def generator(seed: int, device: torch.device) -> torch.Generator:
    return torch.Generator(device=device).manual_seed(seed)
