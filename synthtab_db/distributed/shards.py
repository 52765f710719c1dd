"""Shards are row ranges of the sharded root table; each has its own seeded stream.

The output is a function of (synthesizer, seed, rows, rows_per_shard): which worker
runs a shard, and when, never changes a row.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

GLOBAL = -1  # the shard index of tables generated once, whole (lookup tables others draw from)
STREAM = 17  # keeps shard streams apart from the in-database engine's [seed, table] streams


@dataclass(frozen=True)
class Shard:
    index: int  # GLOBAL, or 0 .. count-1
    start: int  # first root row (0-based), inclusive
    stop: int  # exclusive
    count: int  # shards of the run, for disjoint key positions

    @property
    def rows(self) -> int:
        return self.stop - self.start

    @property
    def name(self) -> str:
        return "global" if self.index == GLOBAL else f"{self.index:05d}"

    @property
    def label(self) -> str:
        """How errors name the shard."""
        return "the global tables" if self.index == GLOBAL else f"shard {self.name} (root rows {self.start}..{self.stop - 1})"

    def seed(self, seed: int, table: int) -> list[int]:
        """The stream of one table in this shard: a function of (seed, shard, table) only."""
        return [seed, STREAM, self.index + 1, table]


def shard_ranges(rows: int, rows_per_shard: int) -> list[Shard]:
    count = max(1, math.ceil(rows / rows_per_shard))
    return [Shard(i, i * rows_per_shard, min(rows, (i + 1) * rows_per_shard), count) for i in range(count)]


def global_shard() -> Shard:
    return Shard(GLOBAL, 0, 0, 1)
