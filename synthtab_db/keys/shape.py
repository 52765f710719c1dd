"""Free-form string keys ('ALFKI'): random strings of the source's shape.

Learned per key length: how often each length occurs, and for each position
which character classes (upper, lower, digit) or literal characters appear
there and how often; a position where every key has the same character keeps
that character.  Drawn keys collide with each other or with the target's keys
only by chance; collisions are redrawn, and a shape too small to hold the
requested number of keys is an error that names the column.
"""

from __future__ import annotations

import string
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from synthtab_db.keys.base import KeyGenerator, as_strings, draw_unique, register_key_generator
from synthtab_db.planner.schema import Column, Kind
from synthtab_db.transforms.strings import strings_from_codepoints

_CLASSES: dict[str, str] = {
    "upper": string.ascii_uppercase,
    "lower": string.ascii_lowercase,
    "digit": string.digits,
}

# A position's alphabets: [[characters, weight], ...]; a shape: its length, weight, positions.
Alphabets = list[list[Any]]


@register_key_generator
class ShapeKeys(KeyGenerator):
    name = "shape"

    def __init__(self, shapes: list[dict[str, Any]] | None = None) -> None:
        self.shapes = shapes or []

    @classmethod
    def accepts(cls, present: pa.Array, column: Column) -> bool:
        return column.type.kind in (Kind.STRING, Kind.JSON)

    def _fit(self, present: pa.Array) -> None:
        strings = as_strings(present)
        lengths = pc.utf8_length(strings).to_numpy(zero_copy_only=False)
        sizes, counts = np.unique(lengths, return_counts=True)
        self.shapes = [_learn(strings.filter(pa.array(lengths == size)), int(size), int(count))
                       for size, count in zip(sizes, counts)]

    def capacity(self) -> int:
        """How many distinct keys the shape can hold."""
        return sum(_positions_capacity(shape["positions"]) for shape in self.shapes)

    def generate(self, n: int, rng: np.random.Generator,
                 existing: pa.Array | pa.ChunkedArray | None = None) -> pa.Array:
        taken = as_strings(existing)
        if n + len(taken) > self.capacity():
            raise self._error(f"its shape allows only {self.capacity()} distinct keys; "
                              f"{n} new keys were asked for next to {len(taken)} existing")
        return draw_unique(lambda k: self._draw(k + k // 4 + 16, rng), n, taken,
                           lambda: self._error("too many collisions drawing keys of its shape"))

    def _draw(self, n: int, rng: np.random.Generator) -> pa.Array:
        weights = np.array([shape["weight"] for shape in self.shapes], dtype=np.float64)
        which = rng.choice(len(self.shapes), size=n, p=weights / weights.sum())
        grid = np.zeros((n, max(shape["length"] for shape in self.shapes)), dtype=np.uint32)
        for index, shape in enumerate(self.shapes):
            rows = np.flatnonzero(which == index)
            for position, alphabets in enumerate(shape["positions"]):
                grid[rows, position] = _draw_chars(alphabets, rows.size, rng)
        return strings_from_codepoints(grid)

    def _params(self) -> dict[str, Any]:
        return {"shapes": self.shapes}

    def _load(self, params: dict[str, Any]) -> None:
        self.shapes = params["shapes"]


def _learn(strings: pa.Array, length: int, count: int) -> dict[str, Any]:
    """One length's shape: the alphabets seen at each position."""
    grid = np.array(strings.to_pylist(), dtype=f"<U{max(length, 1)}").view(np.uint32)
    grid = grid.reshape(len(strings), max(length, 1))[:, :length]
    return {"length": length, "weight": count, "positions": [_alphabets(grid[:, p]) for p in range(length)]}


def _alphabets(chars: np.ndarray) -> Alphabets:
    """Character classes (or literal characters) at one position, with their frequencies."""
    distinct = np.unique(chars)
    if distinct.size == 1:
        return [[chr(distinct[0]), 1]]
    found: Alphabets = []
    other = np.ones(chars.shape, dtype=bool)
    for alphabet in _CLASSES.values():
        inside = np.isin(chars, _codepoints(alphabet))
        other &= ~inside
        if inside.any():
            found.append([alphabet, int(inside.sum())])
    literals, counts = np.unique(chars[other], return_counts=True)
    return found + [[chr(c), int(k)] for c, k in zip(literals, counts)]


def _codepoints(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)


def _draw_chars(alphabets: Alphabets, n: int, rng: np.random.Generator) -> np.ndarray:
    """Pick an alphabet by weight, then a character uniformly inside it."""
    weights = np.array([weight for _, weight in alphabets], dtype=np.float64)
    sizes = np.array([len(chars) for chars, _ in alphabets])
    table = _codepoints("".join(chars for chars, _ in alphabets))
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    which = rng.choice(len(alphabets), size=n, p=weights / weights.sum())
    return table[offsets[which] + (rng.random(n) * sizes[which]).astype(np.int64)]


def _positions_capacity(positions: list[Alphabets]) -> int:
    total = 1
    for alphabets in positions:
        total *= len(set("".join(chars for chars, _ in alphabets)))
    return total
