"""The epoch loop both models run: bounded by epochs and by wall-clock seconds.

A step is one minibatch update returning its (detached) loss; the loop owns
time keeping and the optional ``on_epoch`` progress hook, so the models only
say what a step is.  The time bound is checked after every step, so a huge
table cannot run far past ``max_seconds``; training that stops on time is not
reproducible run to run (how many steps fit depends on the machine), which the
report says.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Iterator

import numpy as np
import torch

Step = Callable[[], torch.Tensor]
EpochHook = Callable[[dict[str, Any]], None]


def run_epochs(
    step: Step, steps_per_epoch: int, epochs: int, max_seconds: float, on_epoch: EpochHook | None = None
) -> dict[str, Any]:
    """Run up to ``epochs`` epochs of ``steps_per_epoch`` steps; a report of what ran."""
    started = time.perf_counter()
    done, loss, out_of_time = 0, float("nan"), False
    for epoch in range(1, epochs + 1):
        losses = []
        for _ in range(steps_per_epoch):
            losses.append(step())
            out_of_time = time.perf_counter() - started >= max_seconds
            if out_of_time:
                break
        loss = float(torch.stack(losses).mean())
        done, seconds = epoch, time.perf_counter() - started
        if on_epoch is not None:
            on_epoch({"epoch": epoch, "loss": loss, "seconds": seconds})
        if out_of_time:
            break
    return {
        "epochs": done,
        "loss": loss,
        "seconds": round(time.perf_counter() - started, 3),
        "stopped_by_time": out_of_time,
    }


def steps_per_epoch(rows: int, batch_size: int) -> int:
    return max(1, -(-rows // batch_size))


def shuffled_batches(rows: int, size: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """Row indices in batches of ``size``, reshuffled every pass, forever."""
    while True:
        order = rng.permutation(rows)
        for start in range(0, rows, size):
            yield order[start : start + size]
