"""The project's state inside the user's database (schema ``synthtab``), so a
.duckdb file carries its trained synthesizers with it."""

from __future__ import annotations

import json
import platform
from datetime import datetime, timezone
from typing import Any

import duckdb

from synthtab_db.duck import first_row, run_sql
from synthtab_db.errors import SynthError
from synthtab_db.planner.schema import TableRef
from synthtab_db.sqlbuild import table_exists

STATE = "synthtab"
SYNTHESIZERS = f"{STATE}.synthesizers"

_DDL = f"""
CREATE SCHEMA IF NOT EXISTS {STATE};
CREATE TABLE IF NOT EXISTS {SYNTHESIZERS} (
    name VARCHAR PRIMARY KEY,
    source VARCHAR NOT NULL,
    model VARCHAR NOT NULL,
    options JSON NOT NULL,
    state JSON NOT NULL,        -- table schema, key generators, FK counts (engine/learn.py)
    weights BLOB NOT NULL,      -- the model's own bytes (Synthesizer.to_bytes)
    seed BIGINT,
    versions JSON NOT NULL,     -- library versions it was trained with
    rows BIGINT NOT NULL,       -- rows it learned from
    created TIMESTAMP WITH TIME ZONE NOT NULL
);
"""


def ensure_state(con: duckdb.DuckDBPyConnection) -> None:
    run_sql(con, _DDL)


def has_state(con: duckdb.DuckDBPyConnection) -> bool:
    return table_exists(con, TableRef(name="synthesizers", schema=STATE))


def versions() -> dict[str, str]:
    import numpy
    import pyarrow
    import sqlglot

    import synthtab_db

    found = {
        "python": platform.python_version(),
        "synthtab_db": synthtab_db.__version__,
        "duckdb": duckdb.__version__,
        "numpy": numpy.__version__,
        "pyarrow": pyarrow.__version__,
        "sqlglot": sqlglot.__version__,
    }
    try:
        import torch

        found["torch"] = torch.__version__
    except ImportError:
        pass
    return found


def save_synthesizer(
    con, name: str, source: str, model: str, options: dict, state: str, weights: bytes, seed: int | None, rows: int
) -> None:
    ensure_state(con)
    run_sql(
        con,
        f"INSERT OR REPLACE INTO {SYNTHESIZERS} VALUES ($name, $source, $model, $options, $state, $weights, $seed, $versions, $rows, $created)",
        {
            "name": name,
            "source": source,
            "model": model,
            "options": json.dumps(options),
            "state": state,
            "weights": weights,
            "seed": seed,
            "versions": json.dumps(versions()),
            "rows": rows,
            "created": datetime.now(timezone.utc),
        },
    )


def synthesizer_exists(con, name: str) -> bool:
    return has_state(con) and bool(
        first_row(con, f"SELECT count(*) FROM {SYNTHESIZERS} WHERE lower(name) = lower($n)", {"n": name})[0]
    )


def load_synthesizer(con, name: str) -> dict[str, Any]:
    cols = ["name", "source", "model", "options", "state", "weights", "seed", "rows"]
    row = has_state(con) and first_row(
        con, f"SELECT {', '.join(cols)} FROM {SYNTHESIZERS} WHERE lower(name) = lower($n)", {"n": name})
    if not row:
        known = ", ".join(list_names(con)) or "(none)"
        raise SynthError(f"unknown synthesizer {name!r}; trained synthesizers: {known}")
    return dict(zip(cols, row))


def load_learned(con, name: str):
    """The stored model with what was learned around it (the column rules a table function applies)."""
    from synthtab_db.engine.learn import learned_from_state  # noqa: PLC0415 (imports the models)

    stored = load_synthesizer(con, name)
    return learned_from_state(json.loads(stored["state"]), stored["weights"])


def load_state(con, name: str) -> str:
    """Only the JSON state (no weights): enough to declare the table function on connect."""
    if not synthesizer_exists(con, name):
        load_synthesizer(con, name)  # raises, listing the known ones
    return first_row(con, f"SELECT state FROM {SYNTHESIZERS} WHERE lower(name) = lower($n)", {"n": name})[0]


def list_names(con) -> list[str]:
    if not has_state(con):
        return []
    return [r[0] for r in con.execute(f"SELECT name FROM {SYNTHESIZERS} ORDER BY name").fetchall()]


def drop_synthesizer(con, name: str) -> None:
    run_sql(con, f"DELETE FROM {SYNTHESIZERS} WHERE lower(name) = lower($n)", {"n": name})
