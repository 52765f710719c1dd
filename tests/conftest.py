"""Shared fixtures: real DuckDB connections and the shared real datasets."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Tests that do not name a model get the fast copula; the neural models have their own tests.
os.environ.setdefault("SYNTHTAB_DEFAULT_MODEL", "copula")

import synthtab_db  # noqa: E402

DATASETS = Path(os.environ.get("SYNTHTAB_DATASETS", Path(__file__).resolve().parents[2] / "shared" / "datasets"))
RELATIONAL = ["chinook", "northwind", "pagila", "berka_financial", "beijing_air_quality"]


def dataset(name: str) -> Path:
    path = DATASETS / name
    if not path.exists():
        pytest.skip(f"shared dataset {name} not found at {path} (set SYNTHTAB_DATASETS)")
    return path


@pytest.fixture
def con():
    connection = synthtab_db.connect()
    yield connection
    connection.close()


@pytest.fixture
def adult_path():
    return dataset("adult") / "adult.csv"


# -- PostgreSQL (issue 7): the real server on this machine, or a clear skip ----------
POSTGRES_DSN = os.environ.get("SYNTHTAB_TEST_POSTGRES", "host=127.0.0.1 port=5432 user=postgres dbname=test")


@pytest.fixture(scope="session")
def postgres_dsn():
    """DSN of the real PostgreSQL the postgres/proxy tests use; they skip, saying why, without it."""
    psycopg = pytest.importorskip("psycopg", reason="psycopg not installed: pip install 'synthtab-db[postgres]'")
    try:
        psycopg.connect(POSTGRES_DSN, connect_timeout=3).close()
    except psycopg.Error as err:
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_DSN!r} (start it, or set SYNTHTAB_TEST_POSTGRES): {err}")
    return POSTGRES_DSN


# -- issue 16 (ledger): a checksum of a whole database, for "refused and unchanged" ------
def database_checksum(con) -> str:
    """sha256 over every table's rows (the ledger and budgets included) and the list of tables; the
    audit trail synthtab.runs is left out: it records refused statements on purpose."""
    import hashlib

    digest = hashlib.sha256()
    tables = con.execute("SELECT schema_name, table_name FROM duckdb_tables() "
                         "WHERE NOT (schema_name = 'synthtab' AND table_name = 'runs') ORDER BY ALL").fetchall()
    for schema, table in tables:
        rows = con.execute(f'SELECT * FROM "{schema}"."{table}"').fetchall()
        digest.update(f"{schema}.{table}:{sorted(map(repr, rows))}".encode())
    return digest.hexdigest()


@pytest.fixture
def checksum():
    return database_checksum
