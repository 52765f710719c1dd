"""pg_catalog queries answered from DuckDB's own catalog.

Clients such as postgres_fdw (IMPORT FOREIGN SCHEMA, ANALYZE) query pg_class,
pg_attribute, pg_namespace … and call format_type(), pg_get_expr(),
pg_relation_size(). DuckDB's pg_catalog views carry other OIDs and type names, so
each such query runs in a small in-memory DuckDB holding PostgreSQL-shaped copies
of those tables, built from the served database's duckdb_tables()/duckdb_columns()
with the type mapping of types.py. ``pg_catalog.`` qualifiers are dropped and
regclass/oid casts become lookups; adding a catalog table is one entry in TABLES.
"""

from __future__ import annotations

import re
from typing import Any, Callable

import duckdb
import pyarrow as pa

from synthtab_db.proxy import translate, types
from synthtab_db.proxy.outcome import Outcome, from_cursor
from synthtab_db.proxy.settings import Settings

_CATALOG_NAME = re.compile(
    r"\b(pg_catalog\.|information_schema\.|pg_(class|namespace|attribute|attrdef|type|collation|index|constraint|"
    r"database|settings|roles|user|am|proc|description|inherits|relation_size|total_relation_size|get_expr|"
    r"table_is_visible|type_is_visible)\b|format_type\s*\(|current_setting\s*\(|::\s*regclass)",
    re.IGNORECASE,
)
_REGCLASS = re.compile(r"('(?:[^']|'')*')\s*::\s*(?:pg_catalog\.)?regclass", re.IGNORECASE)
_OID_CAST = re.compile(r"::\s*(?:pg_catalog\.)?(oid|regtype|regproc|regnamespace|name)\b", re.IGNORECASE)
_QUALIFIER = re.compile(r'\b(?:"pg_catalog"|pg_catalog)\.', re.IGNORECASE)


def is_catalog_query(sql: str) -> bool:
    """information_schema is DuckDB's own and fine as it is; pg_* names are emulated."""
    found = _CATALOG_NAME.findall(sql)
    return any(not m[0].lower().startswith("information_schema") for m in found)


def rewrite(sql: str) -> str:
    sql = _REGCLASS.sub(lambda m: f"__regclass({m[1]})", sql)
    sql = _OID_CAST.sub(lambda m: "::VARCHAR" if m[1].lower() == "name" else "::BIGINT", sql)
    return _QUALIFIER.sub("", sql)


def run(cursor: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None, settings: Settings) -> Outcome:
    emulated = build(cursor, settings)
    text = rewrite(sql)
    try:
        _execute(emulated, text, params)
    except (duckdb.ParserException, duckdb.BinderException, duckdb.CatalogException):
        translated = translate.translate(text)
        if translated is None:
            raise
        _execute(emulated, rewrite(translated), params)
    if not emulated.description:
        return Outcome(translate.command_tag(sql))
    outcome = from_cursor(emulated)
    outcome.materialize()
    emulated.close()
    return outcome


def _execute(con, sql: str, params) -> None:
    con.execute(sql, params) if params else con.execute(sql)


# -- the emulated tables ----------------------------------------------------------

_NAMESPACE_OIDS = {"pg_catalog": 11, "information_schema": 13, "public": 2200}


def _schemas(cursor) -> list[dict]:
    rows = cursor.execute(
        "SELECT oid, schema_name FROM duckdb_schemas() WHERE database_name = current_database() AND NOT internal "
        "OR schema_name = 'main' AND database_name = current_database()"
    ).fetchall()
    found = {name: oid for oid, name in rows}
    found.update({k: v for k, v in _NAMESPACE_OIDS.items() if k not in found})
    return [{"oid": oid, "nspname": name, "nspowner": 10, "nspacl": None} for name, oid in found.items()]


def _relations(cursor) -> list[dict]:
    tables = cursor.execute(
        "SELECT table_oid, schema_oid, table_name, estimated_size, 'r' FROM duckdb_tables() "
        "WHERE database_name = current_database() AND NOT internal AND NOT temporary "
        "UNION ALL SELECT view_oid, schema_oid, view_name, 0, 'v' FROM duckdb_views() "
        "WHERE database_name = current_database() AND NOT internal AND NOT temporary"
    ).fetchall()
    return [_relation_row(*row) for row in tables]


def _relation_row(oid, schema_oid, name, rows, kind) -> dict:
    return {
        "oid": oid,
        "relname": name,
        "relnamespace": schema_oid,
        "relkind": kind,
        "reltuples": float(rows or 0),
        "relpages": max(1, (rows or 0) * 64 // 8192) if kind == "r" else 0,
        "relowner": 10,
        "relpersistence": "p",
        "relhasindex": False,
        "relispartition": False,
        "reltype": 0,
        "relam": 2,
        "relnatts": 0,
        "relhasrules": False,
        "relhastriggers": False,
        "relrowsecurity": False,
    }


def _attributes(cursor) -> list[dict]:
    rows = cursor.execute(
        "SELECT c.table_oid, c.column_name, c.data_type, c.column_index, c.is_nullable, c.column_default "
        "FROM duckdb_columns() c WHERE c.database_name = current_database() AND NOT c.internal"
    ).fetchall()
    return [_attribute_row(*row) for row in rows]


def _attribute_row(relid, name, data_type, index, nullable, default) -> dict:
    pg = types.pg_type(data_type)
    return {
        "attrelid": relid,
        "attname": name,
        "atttypid": pg.oid,
        "atttypmod": pg.modifier,
        "attnum": index,
        "attnotnull": not nullable,
        "attisdropped": False,
        "attcollation": 0,
        "attgenerated": "",
        "atthasdef": default is not None,
        "attlen": pg.size,
        "attidentity": "",
        "attndims": 0,
        "attstattarget": -1,
        "attinhcount": 0,
        "attislocal": True,
        "__typname": pg.name,
    }


def _types(cursor) -> list[dict]:
    known = list(types.BY_OID.values()) + [types._array_of(t) for t in types.BY_OID.values() if t.array_oid]
    return [
        {
            "oid": t.oid,
            "typname": t.name,
            "typnamespace": 11,
            "typlen": t.size,
            "typtype": "b",
            "typelem": 0,
            "typarray": t.array_oid,
            "typbasetype": 0,
            "typtypmod": -1,
            "typnotnull": False,
            "typcategory": "U",
            "typdelim": ",",
            "typrelid": 0,
            "typinput": "",
            "typoutput": "",
        }
        for t in known
    ]


def _database(cursor) -> list[dict]:
    name = cursor.execute("SELECT current_database()").fetchall()[0][0]
    return [
        {
            "oid": 1,
            "datname": name,
            "datdba": 10,
            "encoding": 6,
            "datcollate": "C",
            "datctype": "C",
            "datallowconn": True,
            "datistemplate": False,
        }
    ]


def _settings(settings: Settings) -> list[dict]:
    return [{"name": k, "setting": v} for k, v in settings.values.items()]


def _empty(*columns: tuple[str, pa.DataType]) -> Callable:
    schema = pa.schema(list(columns))
    return lambda cursor, settings: schema.empty_table()


TABLES: dict[str, Callable] = {
    "pg_namespace": lambda cursor, settings: _schemas(cursor),
    "pg_class": lambda cursor, settings: _relations(cursor),
    "pg_attribute": lambda cursor, settings: _attributes(cursor),
    "pg_type": lambda cursor, settings: _types(cursor),
    "pg_database": lambda cursor, settings: _database(cursor),
    "pg_settings": lambda cursor, settings: _settings(settings),
    "pg_attrdef": _empty(("oid", pa.int64()), ("adrelid", pa.int64()), ("adnum", pa.int64()), ("adbin", pa.string())),
    "pg_collation": _empty(("oid", pa.int64()), ("collname", pa.string()), ("collnamespace", pa.int64())),
    "pg_index": _empty(
        ("indexrelid", pa.int64()),
        ("indrelid", pa.int64()),
        ("indisprimary", pa.bool_()),
        ("indisunique", pa.bool_()),
        ("indkey", pa.string()),
    ),
    "pg_constraint": _empty(
        ("oid", pa.int64()),
        ("conname", pa.string()),
        ("conrelid", pa.int64()),
        ("contype", pa.string()),
        ("connamespace", pa.int64()),
    ),
    "pg_description": _empty(
        ("objoid", pa.int64()), ("classoid", pa.int64()), ("objsubid", pa.int64()), ("description", pa.string())
    ),
    "pg_inherits": _empty(("inhrelid", pa.int64()), ("inhparent", pa.int64()), ("inhseqno", pa.int64())),
    "pg_roles": lambda cursor, settings: [{"oid": 10, "rolname": "synth", "rolsuper": False}],
}

MACROS = [
    "CREATE MACRO format_type(o, m) AS coalesce((SELECT max(__typname) FROM pg_attribute "
    "WHERE atttypid = o AND atttypmod = m), (SELECT max(typname) FROM pg_type WHERE oid = o), '???')",
    "CREATE MACRO pg_get_expr(e, r) AS e, (e, r, p) AS e",
    "CREATE MACRO __regclass(name) AS (SELECT max(c.oid) FROM pg_class c JOIN pg_namespace n "
    "ON c.relnamespace = n.oid WHERE n.nspname || '.' || c.relname = replace(name, '\"', '') "
    "OR c.relname = replace(name, '\"', ''))",
    "CREATE MACRO pg_relation_size(r) AS (SELECT coalesce(max(relpages), 0) * 8192 FROM pg_class WHERE oid = r), "
    "(r, f) AS (SELECT coalesce(max(relpages), 0) * 8192 FROM pg_class WHERE oid = r)",
    "CREATE MACRO pg_total_relation_size(r) AS (SELECT coalesce(max(relpages), 0) * 8192 FROM pg_class WHERE oid = r)",
    "CREATE MACRO current_setting(n) AS (SELECT max(setting) FROM pg_settings WHERE lower(name) = lower(n)), "
    "(n, missing_ok) AS (SELECT max(setting) FROM pg_settings WHERE lower(name) = lower(n))",
    "CREATE MACRO pg_table_is_visible(r) AS true",
    "CREATE MACRO pg_type_is_visible(r) AS true",
]


def _table(name: str, rows: list[dict]) -> pa.Table:
    """An empty list still needs its columns: typed from one made-up row, then emptied."""
    if rows:
        return pa.Table.from_pylist(rows)
    if name == "pg_class":
        sample = _relation_row(0, 0, "", 0, "r")
    else:
        sample = _attribute_row(0, "", "INTEGER", 0, True, None)
    return pa.Table.from_pylist([sample]).slice(0, 0)


def build(cursor: duckdb.DuckDBPyConnection, settings: Settings) -> duckdb.DuckDBPyConnection:
    """A fresh in-memory DuckDB with the PostgreSQL-shaped catalog of the served database."""
    emulated = duckdb.connect(":memory:")
    for name, make in TABLES.items():
        data = make(cursor, settings)
        table = data if isinstance(data, pa.Table) else _table(name, data)
        emulated.register("__data", table)
        emulated.execute(f"CREATE TABLE {name} AS SELECT * FROM __data")
        emulated.unregister("__data")
    for macro in MACROS:
        emulated.execute(macro)
    return emulated
