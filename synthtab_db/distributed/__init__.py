"""Generation that writes Parquet, from one process or fanned out over a Ray cluster.

The coordinator learns once (engine/learn.py), cuts the output into shards by row
range, and hands each shard, as plain serialisable values, to an executor
(``local`` or ``ray``, registered by name).  A shard runs the engine's own table
generation in an embedded DuckDB, so the same compiled checks hold; a manifest
written last commits the output.  See docs/ray.md.
"""

from synthtab_db.distributed.read import read_parquet_output

__all__ = ["read_parquet_output"]
