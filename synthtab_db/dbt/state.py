"""Which synthesizer a synthetic model trained, and on what: so the next ``dbt run``
reuses it when nothing it learned from has changed (``--full-refresh`` retrains).

The fingerprint covers the staged real data (row count and an order-free sum of
row hashes), its schema with every constraint, the staged parents it learned
children-per-parent counts from, and the training options.  It lives beside the
synthesizers in the database's ``synthtab`` schema, so a .duckdb file carries it.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone

import duckdb

from synthtab_db import catalog, store
from synthtab_db.duck import first_row, run_sql
from synthtab_db.planner.schema import TableRef
from synthtab_db.sqlbuild import table_exists, table_expr

MODELS = f"{store.STATE}.dbt_models"

_DDL = f"""
CREATE TABLE IF NOT EXISTS {MODELS} (
    relation VARCHAR PRIMARY KEY,    -- schema.identifier of the synthetic model
    synthesizer VARCHAR NOT NULL,    -- its row in synthtab.synthesizers
    fingerprint VARCHAR NOT NULL,    -- what it was trained on (see module docstring)
    trained TIMESTAMP WITH TIME ZONE NOT NULL
)
"""


def _data_hash(con: duckdb.DuckDBPyConnection, ref: TableRef) -> list:
    row = first_row(con, f"SELECT count(*), sum(hash(s)::HUGEINT)::VARCHAR FROM {table_expr(ref).sql('duckdb')} s")
    return list(row)


def fingerprint(con: duckdb.DuckDBPyConnection, staged: TableRef, training: dict) -> str:
    table = catalog.read_schema(con, schema=staged.schema).table(staged)
    document = {
        "data": _data_hash(con, staged),
        "table": table.model_dump(mode="json"),
        "parents": {str(fk.ref_table): _data_hash(con, fk.ref_table) for fk in table.foreign_keys},
        "training": training,
    }
    return hashlib.sha256(json.dumps(document, sort_keys=True, default=str).encode()).hexdigest()


def trained_on(con: duckdb.DuckDBPyConnection, relation: str) -> str | None:
    """The fingerprint the model's synthesizer was trained on, if it still exists."""
    if not store.has_state(con) or not _has_models(con):
        return None
    row = first_row(con, f"SELECT synthesizer, fingerprint FROM {MODELS} WHERE relation = $r", {"r": relation})
    return row[1] if row and store.synthesizer_exists(con, row[0]) else None


def remember(con: duckdb.DuckDBPyConnection, relation: str, synthesizer: str, print_: str) -> None:
    store.ensure_state(con)
    run_sql(con, _DDL)
    run_sql(
        con,
        f"INSERT OR REPLACE INTO {MODELS} VALUES ($r, $s, $f, $t)",
        {"r": relation, "s": synthesizer, "f": print_, "t": datetime.now(timezone.utc)},
    )


def _has_models(con) -> bool:
    return table_exists(con, TableRef(name="dbt_models", schema=store.STATE))
