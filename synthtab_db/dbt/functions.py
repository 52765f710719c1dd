"""The SQL function the dbt package calls: it takes the JSON a macro built and returns a
JSON report, or ``{"error": …}`` that the macro raises as the model's one-line error
(a Python exception would reach dbt wrapped in DuckDB's UDF error text)."""

from __future__ import annotations

import json
import threading

import duckdb

from synthtab_db.dbt.build import build_synthetic
from synthtab_db.dbt.spec import parse_spec
from synthtab_db.errors import SynthError

SYNTHETIC = "synthtab_dbt_synthetic"


def _synthetic(con: duckdb.DuckDBPyConnection):
    """The work runs on the plugin's own connection (dbt queries run on its cursors, never
    on it), one model at a time: the synthesizers' sampling UDFs that TRAIN registers
    are then owned by a connection that lives as long as dbt's database."""
    lock = threading.Lock()

    def run(spec_json: str) -> str:
        spec = None
        try:
            spec = parse_spec(spec_json)
            with lock:
                return json.dumps(build_synthetic(con, spec))
        except SynthError as err:
            return json.dumps({"error": _prefixed(str(err), spec.model if spec else None)})

    return run


def _prefixed(message: str, model: str | None) -> str:
    prefix = f"synthetic model {model}: "
    return message if model is None or message.startswith(prefix) else prefix + message


def register(con: duckdb.DuckDBPyConnection) -> None:
    try:
        con.remove_function(SYNTHETIC)
    except (duckdb.InvalidInputException, duckdb.CatalogException):
        pass
    con.create_function(SYNTHETIC, _synthetic(con), ["VARCHAR"], "VARCHAR", side_effects=True)
