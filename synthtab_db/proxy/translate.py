"""PostgreSQL-dialect SQL for DuckDB.

DuckDB understands most of what PostgreSQL clients send, so a statement runs as
written first; only when DuckDB cannot parse or bind it is it translated with
sqlglot (postgres -> duckdb) and tried once more.
"""

from __future__ import annotations

import re

import sqlglot
from sqlglot.errors import SqlglotError

_COMMENTS = re.compile(r"^\s*(--[^\n]*\n|/\*.*?\*/|\s|\()*", re.DOTALL)
_WORD = re.compile(r"[A-Za-z]+")


def translate(sql: str) -> str | None:
    """The DuckDB spelling of a PostgreSQL statement, or None when sqlglot can't read it."""
    try:
        trees = sqlglot.parse(sql, read="postgres")
    except SqlglotError:
        return None
    if len(trees) != 1 or trees[0] is None:
        return None
    try:
        return trees[0].sql(dialect="duckdb", identify=True)  # a PostgreSQL non-keyword may be a DuckDB keyword
    except SqlglotError:
        return None


def words(sql: str, count: int = 8) -> list[str]:
    """The leading keywords, upper-cased, after comments and opening parentheses."""
    body = sql[_COMMENTS.match(sql).end() :]
    return [w.upper() for w in _WORD.findall(body[:200])[:count]]


_QUALIFIERS = {"OR", "REPLACE", "TEMP", "TEMPORARY", "UNIQUE", "IF", "NOT", "EXISTS", "UNLOGGED", "GLOBAL", "LOCAL"}
ROW_VERBS = {"SELECT", "WITH", "VALUES", "TABLE", "SHOW", "DESCRIBE", "PRAGMA", "FROM", "SUMMARIZE", "EXPLAIN", "CALL"}
COUNT_VERBS = {"INSERT": "INSERT 0 {n}", "UPDATE": "UPDATE {n}", "DELETE": "DELETE {n}", "MERGE": "MERGE {n}"}


def command_tag(sql: str) -> str:
    """PostgreSQL's tag for a statement that returns no rows: CREATE TABLE, DROP VIEW, …"""
    found = words(sql)
    if not found:
        return "OK"
    if found[0] in ("CREATE", "DROP", "ALTER"):
        noun = next((w for w in found[1:] if w not in _QUALIFIERS), "")
        return f"{found[0]} {noun}".strip()
    return found[0]


def is_ctas(sql: str) -> bool:
    found = words(sql, 12)
    return bool(found) and found[0] == "CREATE" and "TABLE" in found and "AS" in found


def returns_rows(sql: str) -> bool:
    found = words(sql, 60)
    if not found:
        return False
    return found[0] in ROW_VERBS or (found[0] in COUNT_VERBS and "RETURNING" in re.findall(r"[A-Za-z]+", sql.upper()))
