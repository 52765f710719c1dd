"""Exceptions as PostgreSQL SQLSTATE codes, so clients can tell a typo from a
constraint violation (psycopg raises the matching ``psycopg.errors`` class)."""

from __future__ import annotations

import duckdb

from synthtab_db.errors import ParseError, StateWriteRefused, SynthError


class PgError(Exception):
    """An error raised by the proxy itself, with its SQLSTATE."""

    def __init__(self, sqlstate: str, message: str):
        super().__init__(message)
        self.sqlstate = sqlstate


_CONSTRAINTS = (
    ("NOT NULL", "23502"),
    ("foreign key", "23503"),
    ("CHECK", "23514"),
    ("unique", "23505"),
    ("primary key", "23505"),
)

# Most specific class first: DuckDB's exception classes form a hierarchy.
_BY_CLASS: tuple[tuple[type[BaseException], str], ...] = (
    (ParseError, "42601"),
    (StateWriteRefused, "42501"),  # synthtab.* is the engine's: insufficient privilege, for anyone
    (SynthError, "22023"),
    (duckdb.ParserException, "42601"),
    (duckdb.CatalogException, "42P01"),
    (duckdb.BinderException, "42703"),
    (duckdb.ConversionException, "22P02"),
    (duckdb.OutOfRangeException, "22003"),
    (duckdb.InvalidInputException, "22023"),
    (duckdb.TransactionException, "25P02"),
    (duckdb.InterruptException, "57014"),
    (duckdb.NotImplementedException, "0A000"),
    (duckdb.PermissionException, "42501"),
    (duckdb.OutOfMemoryException, "53200"),
    (duckdb.IOException, "58030"),
)


def sqlstate_of(err: BaseException) -> str:
    if isinstance(err, PgError):
        return err.sqlstate
    if isinstance(err, duckdb.ConstraintException):
        text = str(err)
        return next((code for word, code in _CONSTRAINTS if word.lower() in text.lower()), "23000")
    if isinstance(err, duckdb.CatalogException) and "function" in str(err).lower():
        return "42883"
    return next((code for cls, code in _BY_CLASS if isinstance(err, cls)), "XX000")


def message_of(err: BaseException) -> str:
    return str(err).strip() or type(err).__name__
