"""Vectorised string building: random words, UUIDs, strings from character grids.

Generated strings are built as a (rows, width) grid of code points and turned
into Arrow in one step, so making a million of them costs no Python loop.
Key generators use the same helpers.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

_HEX_LOWER = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_HEX_UPPER = np.frombuffer(b"0123456789ABCDEF", dtype=np.uint8)
# (first text column, first hex digit, end hex digit) of the 8-4-4-4-12 groups
_UUID_GROUPS = ((0, 0, 8), (9, 8, 12), (14, 12, 16), (19, 16, 20), (24, 20, 32))


def strings_from_codepoints(grid: np.ndarray) -> pa.Array:
    """One string per row; code point 0 marks the end of a shorter string."""
    grid = np.asarray(grid)
    if grid.shape[1] == 0:
        return pa.array([""] * grid.shape[0], type=pa.string())
    if grid.max(initial=0) < 128:
        return _ascii_strings(grid.astype(np.uint8))
    grid = np.ascontiguousarray(grid, dtype=np.uint32)
    return pa.array(grid.view(f"<U{grid.shape[1]}").ravel(), type=pa.string())


def _ascii_strings(grid: np.ndarray) -> pa.Array:
    """ASCII fast path: Arrow buffers built directly (offsets from row lengths)."""
    lengths = (grid != 0).sum(axis=1)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
    data = grid[grid != 0]
    return pa.StringArray.from_buffers(grid.shape[0], pa.py_buffer(offsets), pa.py_buffer(data.tobytes()))


def pad_after(grid: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Zero every code point past each row's length."""
    keep = np.arange(grid.shape[1])[None, :] < np.asarray(lengths)[:, None]
    return np.where(keep, grid, 0).astype(np.uint32)


def random_words(n: int, rng: np.random.Generator, min_len: int = 3, max_len: int = 10) -> pa.Array:
    """Random lowercase words with lengths uniform in [min_len, max_len]."""
    max_len = max(max_len, 0)
    min_len = min(max(min_len, 0), max_len)
    letters = rng.integers(ord("a"), ord("z") + 1, size=(n, max_len), dtype=np.uint32)
    lengths = rng.integers(min_len, max_len + 1, size=n)
    return strings_from_codepoints(pad_after(letters, lengths))


def random_uuids(n: int, rng: np.random.Generator, upper: bool = False) -> pa.Array:
    """Random version-4 UUIDs in the canonical 8-4-4-4-12 form."""
    raw = rng.integers(0, 256, size=(n, 16), dtype=np.uint8)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40  # version 4
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80  # RFC 4122 variant
    nibbles = np.empty((n, 32), dtype=np.uint8)
    nibbles[:, 0::2], nibbles[:, 1::2] = raw >> 4, raw & 0x0F
    digits = (_HEX_UPPER if upper else _HEX_LOWER)[nibbles]
    text = np.full((n, 36), ord("-"), dtype=np.uint8)
    for at, first, end in _UUID_GROUPS:
        text[:, at:at + end - first] = digits[:, first:end]
    return pa.FixedSizeBinaryArray.from_buffers(pa.binary(36), n, [None, pa.py_buffer(text)]).cast(pa.string())
