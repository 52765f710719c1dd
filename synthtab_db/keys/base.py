"""The key-generator contract and its registry.

PRIMARY KEY and UNIQUE columns never come from a model: a model reproduces
values, keys must be new and distinct.  A generator learns the source's key
format (``fit``), then makes ``n`` distinct keys that also avoid the values
already in the target (``generate``), so repeated GENERATE into one table
stays unique.  ``to_dict``/``from_dict`` keep a fitted generator as JSON.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Callable, ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from synthtab_db.errors import SynthError
from synthtab_db.planner.schema import Column
from synthtab_db.transforms.base import as_array

_GENERATORS: dict[str, type["KeyGenerator"]] = {}


def register_key_generator(cls: type["KeyGenerator"]) -> type["KeyGenerator"]:
    _GENERATORS[cls.name] = cls
    return cls


def get_key_generator(name: str) -> type["KeyGenerator"]:
    try:
        return _GENERATORS[name]
    except KeyError:
        raise SynthError(f"unknown key generator {name!r}; available: {', '.join(sorted(_GENERATORS))}") from None


class KeyGenerator(ABC):
    """Learns a key column's format and makes fresh, distinct keys in it."""

    name: ClassVar[str]

    def fit(self, values: pa.Array | pa.ChunkedArray, column: Column) -> "KeyGenerator":
        self.column = column
        self._fit(as_array(values).drop_null())
        return self

    @abstractmethod
    def _fit(self, present: pa.Array) -> None:
        ...

    @abstractmethod
    def generate(self, n: int, rng: np.random.Generator,
                 existing: pa.Array | pa.ChunkedArray | None = None) -> pa.Array:
        """``n`` distinct keys, none equal to a value in ``existing``."""

    @classmethod
    def accepts(cls, present: pa.Array, column: Column) -> bool:
        """Whether the source's non-null keys have this generator's format."""
        return True

    def continues(self) -> bool:
        """True when new keys only continue after the largest existing one: then the last
        key made is all ``existing`` must hold, and no new key can repeat an old one, so
        streaming generation reads no keys back (random generators need the whole set)."""
        return False

    def is_positional(self) -> bool:
        """Whether ``at`` can make the key at any position of the sequence: shards of a
        distributed run then draw keys from disjoint positions (synthtab_db/distributed)."""
        return False

    def at(self, positions: np.ndarray) -> pa.Array:
        """The keys at 0-based ``positions`` of this generator's sequence."""
        raise self._error(f"{self.name} keys are drawn at random; they have no positions")

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "column": self.column.model_dump(mode="json"), "params": self._params()}

    @staticmethod
    def from_dict(data: dict[str, Any]) -> "KeyGenerator":
        generator = get_key_generator(data["name"])()
        generator.column = Column.model_validate(data["column"])
        generator._load(data["params"])
        return generator

    @abstractmethod
    def _params(self) -> dict[str, Any]:
        ...

    @abstractmethod
    def _load(self, params: dict[str, Any]) -> None:
        ...

    def _error(self, why: str) -> SynthError:
        return SynthError(f"cannot generate keys for column {self.column.name!r}: {why}")


def as_strings(values: pa.Array | pa.ChunkedArray | None) -> pa.Array:
    """Existing keys as plain strings (ENUM dictionaries decoded); empty when None."""
    if values is None:
        return pa.array([], type=pa.string())
    return pc.cast(as_array(values).drop_null(), pa.string())


def draw_unique(draw: Callable[[int], pa.Array], n: int, existing: pa.Array,
                fail: Callable[[], SynthError], rounds: int = 64) -> pa.Array:
    """Keep calling ``draw(k)`` until ``n`` distinct values not in ``existing`` are found.

    Shared by the random generators (uuid, shape): collisions are dropped and
    redrawn; ``fail()`` builds the error once ``rounds`` draws were not enough.
    """
    taken, found, need = existing, [], n
    for _ in range(rounds):
        if need == 0:
            break
        batch = pc.unique(draw(need))
        fresh = batch.filter(pc.invert(pc.is_in(batch, value_set=taken))) if len(taken) else batch
        fresh = fresh[:need]
        found.append(fresh)
        taken = pa.concat_arrays([taken, fresh])
        need -= len(fresh)
    if need:
        raise fail()
    return pa.concat_arrays(found) if found else draw(0)
