"""ATTACH POSTGRES '<dsn>' AS <name>: remembered per DuckDB connection (a session
variable, never written to the database file, so a password in the DSN stays in
memory), and looked up when a GENERATE names <name>.<schema>.<table>."""

from __future__ import annotations

import re

import duckdb
import pyarrow as pa
from sqlglot import exp

from synthtab_db.duck import first_row, run_sql
from synthtab_db.errors import SynthError

_PREFIX = "synthtab_postgres_"


def _variable(alias: str) -> str:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", alias):
        raise SynthError(f"attached name {alias!r} must be a plain identifier (letters, digits, _)")
    return _PREFIX + alias.lower()


def attached_dsn(con: duckdb.DuckDBPyConnection, alias: str | None) -> str | None:
    if not alias or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", alias):
        return None
    return first_row(con, "SELECT getvariable($name)", {"name": _variable(alias)})[0]


def attach(con: duckdb.DuckDBPyConnection, dsn: str, alias: str) -> pa.Table:
    """Checks the DSN by connecting once, so a typo fails here and not mid-GENERATE."""
    from synthtab_db.postgres.connect import open_postgres

    with open_postgres(dsn) as pg:
        version, database = pg.execute("SELECT current_setting('server_version'), current_database()").fetchone()
    run_sql(con, f"SET VARIABLE {_variable(alias)} = $dsn", {"dsn": dsn})
    return pa.table({"name": [alias], "database": [database], "server_version": [version]})


def detach(con: duckdb.DuckDBPyConnection, alias: str, if_exists: bool) -> pa.Table:
    if attached_dsn(con, alias) is None:
        if if_exists:
            return pa.table({"name": pa.array([], pa.string())})
        raise SynthError(f"no PostgreSQL database is attached as {alias}")
    run_sql(con, f"RESET VARIABLE {_variable(alias)}")
    return pa.table({"name": [alias]})


def postgres_alias(con: duckdb.DuckDBPyConnection, tree: exp.Expression) -> str | None:
    """The attached name a GENERATE reads from or writes to, if any."""
    names = [
        node.catalog if isinstance(node, exp.Table) else node.name
        for node in (tree.this, tree.args.get("into"), tree.args.get("source_catalog"), tree.args.get("into_catalog"))
        if node is not None
    ]
    return next((n for n in names if n and attached_dsn(con, n) is not None), None)
