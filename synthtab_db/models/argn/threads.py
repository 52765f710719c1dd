"""How many CPU threads torch gets while argn trains or samples.

argn's operations are small (a few thousand rows times a few hundred
logits), so extra intra-op threads gain little, while OpenMP's barriers
collapse when one of its threads is descheduled: on a two-core machine also
running DuckDB or other work, two torch threads measured 5-15x slower per
training step than one.  So torch gets every core but one, for the duration
of the call only, and the caller's setting is restored afterwards.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Iterator

import torch


def spare_cores() -> int:
    return max(1, (os.cpu_count() or 1) - 1)


@contextmanager
def cpu_threads(device: torch.device) -> Iterator[None]:
    """torch limited to all cores but one on the CPU (a GPU run is left alone)."""
    before = torch.get_num_threads()
    wanted = min(before, spare_cores())
    if device.type != "cpu" or wanted == before:
        yield
        return
    torch.set_num_threads(wanted)
    try:
        yield
    finally:
        torch.set_num_threads(before)
