"""engine = 'local': every shard in this process, one after the other (the reference
the Ray runs are compared with)."""

from __future__ import annotations

from dataclasses import dataclass

from .executors import register_executor
from .options import ParquetOptions
from .plan import ParquetPlan
from .shards import Shard
from .worker import ShardReport, run_shard


@dataclass(frozen=True)
class LocalExecutor:
    name = "local"
    options: ParquetOptions

    def run(self, plan: ParquetPlan, shards: list[Shard], staging: str) -> list[ShardReport]:
        return [run_shard(plan, shard, staging) for shard in shards]


register_executor("local")(LocalExecutor)
