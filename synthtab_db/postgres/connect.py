"""psycopg 3 connections, imported on use: PostgreSQL support is an optional extra."""

from __future__ import annotations

from synthtab_db.errors import SynthError

# Fixed session settings so text values round-trip exactly (ISO dates, UTC offsets,
# shortest exact floats) and type names come out schema-qualified.
SESSION = (
    "SET DateStyle = ISO",
    "SET IntervalStyle = postgres",
    "SET TimeZone = 'UTC'",
    "SET extra_float_digits = 3",
    "SET search_path = pg_catalog",
)


def psycopg_module():
    try:
        import psycopg
    except ImportError:
        raise SynthError("PostgreSQL support needs psycopg: pip install 'synthtab-db[postgres]'") from None
    return psycopg


def open_postgres(dsn: str, autocommit: bool = True):
    psycopg = psycopg_module()
    try:
        conn = psycopg.connect(dsn, autocommit=autocommit, connect_timeout=10)
    except psycopg.Error as err:
        raise SynthError(f"cannot connect to PostgreSQL ({_safe(dsn)}): {str(err).strip()}") from None
    for statement in SESSION:
        conn.execute(statement)
    return conn


def _safe(dsn: str) -> str:
    """The DSN without its password, for messages."""
    import re

    return re.sub(r"(password\s*=\s*)('[^']*'|\S+)", r"\1***", re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", dsn))
