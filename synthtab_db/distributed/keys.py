"""Keys unique across shards by construction: shard k of n takes positions k, k+n, k+2n, …
of the learned key sequence (sequence and formatted keys).  Random-format keys (UUIDs,
shapes, labels) come from the shard's own stream and are checked across shards by the
coordinator before the commit (audit.py)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from synthtab_db.distributed.shards import Shard
from synthtab_db.keys import KeyGenerator


class ShardKeys:
    """A learned generator seen through one shard: the same ``generate`` the engine calls."""

    def __init__(self, inner: KeyGenerator, shard: Shard):
        self.inner, self.shard, self.made = inner, shard, 0

    def generate(self, n: int, rng: np.random.Generator, existing=None) -> pa.Array:
        """Positions only move forward, so a regenerated row never repeats a key of this shard."""
        local = np.arange(self.made, self.made + n, dtype=np.int64)
        self.made += n
        return self.inner.at(local * self.shard.count + max(self.shard.index, 0))

    def continues(self) -> bool:
        """New positions only move forward: no key of this shard repeats, so the engine's
        streaming reads none back (keygens' contract, ``KeyGenerator.continues``)."""
        return True


def shard_keygens(keygens: dict[str, KeyGenerator], shard: Shard) -> dict:
    return {c: ShardKeys(g, shard) if g.is_positional() else g for c, g in keygens.items()}


def positional_columns(keygens: dict[str, KeyGenerator]) -> set[str]:
    return {c for c, g in keygens.items() if g.is_positional()}
