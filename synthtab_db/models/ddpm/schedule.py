"""Noise schedules: the share of signal left after t steps (alpha-bar), per name.

``alpha_bar[0] = 1`` (clean data) down to ``alpha_bar[T]`` near 0 (pure noise for the numbers,
uniform categories).  Floored at ``_FLOOR`` so the sampler's x0 estimate never divides by 0.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

_FLOOR = 1e-5


def cosine(steps: int) -> np.ndarray:
    """Nichol & Dhariwal's cosine schedule (slow start, so early steps keep most signal)."""
    offset = 0.008
    t = np.arange(steps + 1) / steps
    f = np.cos((t + offset) / (1 + offset) * np.pi / 2) ** 2
    betas = np.clip(1 - f[1:] / f[:-1], 0.0, 0.999)
    return np.concatenate([[1.0], np.cumprod(1 - betas)])


def linear(steps: int) -> np.ndarray:
    """Ho et al.'s linear betas from 1e-4 to 0.02, rescaled to ``steps`` steps."""
    scale = 1000 / steps
    betas = np.linspace(scale * 1e-4, min(0.999, scale * 0.02), steps)
    return np.concatenate([[1.0], np.cumprod(1 - betas)])


SCHEDULES: dict[str, Callable[[int], np.ndarray]] = {"cosine": cosine, "linear": linear}


def alpha_bar(name: str, steps: int) -> np.ndarray:
    return np.maximum(SCHEDULES[name](steps), _FLOOR)


def sampling_times(steps: int, sample_steps: int) -> list[tuple[int, int]]:
    """(t, s) pairs from ``steps`` down to 0 in ``sample_steps`` jumps: the sampler's strides."""
    times = np.unique(np.round(np.linspace(0, steps, sample_steps + 1)).astype(int))[::-1]
    return [(int(t), int(s)) for t, s in zip(times[:-1], times[1:])]
