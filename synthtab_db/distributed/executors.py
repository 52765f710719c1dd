"""Where shards run: one small interface, executors registered by name."""

from __future__ import annotations

from typing import Callable, Protocol

from synthtab_db.errors import SynthError

from .options import ParquetOptions
from .plan import ParquetPlan
from .shards import Shard
from .worker import ShardReport


class Executor(Protocol):
    name: str

    def run(self, plan: ParquetPlan, shards: list[Shard], staging: str) -> list[ShardReport]:
        """Every shard's report, in shard order, whatever order they ran in."""


EXECUTORS: dict[str, Callable[[ParquetOptions], Executor]] = {}


def register_executor(name: str):
    def add(factory):
        EXECUTORS[name] = factory
        return factory

    return add


def get_executor(options: ParquetOptions) -> Executor:
    from . import executor_local, executor_ray  # noqa: F401,PLC0415  (they register themselves)

    factory = EXECUTORS.get(options.engine.lower())
    if factory is None:
        raise SynthError(f"unknown engine {options.engine!r} for INTO PARQUET; available: {', '.join(sorted(EXECUTORS))}")
    return factory(options)
