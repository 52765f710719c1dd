"""WITH options of GENERATE … INTO PARQUET: where shards run and how big they are."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from synthtab_db.statements import validate_options

DEFAULT_ROWS_PER_SHARD = 1_000_000


class ParquetOptions(BaseModel):
    """Options that shape the distributed run, never its rows (except ``rows_per_shard``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    engine: str = Field("local", description="executor: 'local' (this process) or 'ray'")
    workers: int | None = Field(None, ge=1, description="shards run at once (default: what the cluster offers)")
    rows_per_shard: int = Field(DEFAULT_ROWS_PER_SHARD, ge=1, description="root rows per shard (part of the output)")
    address: str | None = Field(None, description="Ray cluster address (default: RAY_ADDRESS, else a local cluster)")
    pg_schema: str = Field("public", alias="schema", description="INTO POSTGRES: the PostgreSQL schema of the tables")
    gpus_per_shard: float = Field(0, ge=0, description="GPUs each Ray task requests (torch models sample on CUDA)")


def take_parquet_options(raw: dict[str, Any]) -> tuple[ParquetOptions, dict[str, Any]]:
    """Split the WITH options into ours and the rest (checked later as GENERATE's own)."""
    names = {f.alias or name for name, f in ParquetOptions.model_fields.items()}
    ours = {k: v for k, v in raw.items() if k in names}
    rest = {k: v for k, v in raw.items() if k not in ours}
    return validate_options(ParquetOptions, ours), rest
