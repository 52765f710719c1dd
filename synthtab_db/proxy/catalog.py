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
from dataclasses import dataclass
from typing import Any, Callable

import duckdb
import pyarrow as pa

from synthtab_db.proxy import roles, translate, types
from synthtab_db.proxy.outcome import Outcome, from_cursor
from synthtab_db.proxy.settings import Settings

_CATALOG_NAME = re.compile(
    r"\b(pg_catalog\.|information_schema\.|pg_(class|namespace|attribute|attrdef|type|collation|index|constraint|"
    r"database|settings|roles|user|am|proc|description|inherits|relation_size|total_relation_size|get_expr|"
    r"table_is_visible|type_is_visible)\b|format_type\s*\(|current_setting\s*\(|::\s*regclass)",
    re.IGNORECASE,
)
_REGCLASS = re.compile(r"('(?:[^']|'')*')\s*::\s*(?:pg_catalog\.)?regclass", re.IGNORECASE)
_OID_CAST = re.compile(r"::\s*(?:pg_catalog\.)?(oid|regclass|regtype|regproc|regnamespace|name)\b", re.IGNORECASE)
_OPERATOR = re.compile(r"OPERATOR\s*\(\s*pg_catalog\s*\.\s*(!?~)\s*\)", re.IGNORECASE)
_COLLATE = re.compile(r"\s+COLLATE\s+pg_catalog\.\w+", re.IGNORECASE)
_REGEX_MATCH = re.compile(r"([\w.\"]+)\s*(!?)~\s*('(?:[^']|'')*')")  # PostgreSQL's ~ matches anywhere
_QUALIFIER = re.compile(r'\b(?:"pg_catalog"|pg_catalog)\.', re.IGNORECASE)


def is_catalog_query(sql: str) -> bool:
    """information_schema is DuckDB's own and fine as it is; pg_* names are emulated."""
    found = _CATALOG_NAME.findall(sql)
    return any(not m[0].lower().startswith("information_schema") for m in found)


def rewrite(sql: str) -> str:
    sql = _COLLATE.sub("", _OPERATOR.sub(lambda m: m[1], sql))
    sql = _REGEX_MATCH.sub(lambda m: f"{'NOT ' if m[2] else ''}regexp_matches({m[1]}, {m[3]})", sql)
    sql = _REGCLASS.sub(lambda m: f"__regclass({m[1]})", sql)
    sql = _OID_CAST.sub(lambda m: "::VARCHAR" if m[1].lower() == "name" else "::BIGINT", sql)
    return _QUALIFIER.sub("", sql)


def run(cursor: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None, settings: Settings,
        owner: str = "synth") -> Outcome:
    emulated = build(cursor, settings, owner)
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
        "relforcerowsecurity": False,
        "relchecks": 0,
        "reltablespace": 0,
        "reloftype": 0,
        "relreplident": "d",
        "reltoastrelid": 0,
        "relacl": None,
        "relpartbound": None,
        "reloptions": None,
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


def _defaults(cursor) -> pa.Table:
    """Column defaults as pg_attrdef rows (adbin holds the expression text: pg_get_expr returns it)."""
    rows = cursor.execute(
        "SELECT table_oid * 1000 + column_index, table_oid, column_index, column_default FROM duckdb_columns() "
        "WHERE database_name = current_database() AND NOT internal AND column_default IS NOT NULL"
    ).fetchall()
    names = ["oid", "adrelid", "adnum", "adbin"]
    return pa.table({n: pa.array([r[i] for r in rows], pa.string() if n == "adbin" else pa.int64())
                     for i, n in enumerate(names)})


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
            "typcollation": 0,
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
            "daticulocale": None,
            "datlocprovider": "c",
            "datacl": None,
        }
    ]


def _settings(settings: Settings) -> list[dict]:
    return [{"name": k, "setting": v} for k, v in settings.values.items()]


@dataclass(frozen=True)
class CatalogSource:
    """What the emulated tables are built from."""

    cursor: duckdb.DuckDBPyConnection
    settings: Settings
    owner: str  # the user given to serve: superuser in pg_roles


def _role_row(oid: int, name: str, superuser: bool) -> dict:
    return {"oid": oid, "rolname": name, "rolsuper": superuser, "rolinherit": True, "rolcreaterole": superuser,
            "rolcreatedb": superuser, "rolcanlogin": True, "rolconnlimit": -1, "rolvaliduntil": None,
            "rolreplication": False, "rolbypassrls": superuser, "rolpassword": "********", "rolconfig": None}


def _roles(src: CatalogSource) -> pa.Table:
    rows = [_role_row(10, src.owner, True)]
    rows += [_role_row(16384 + i, name, False) for i, name in enumerate(roles.names(src.cursor))]
    schema = pa.Table.from_pylist(rows[:1]).schema.set(8, pa.field("rolvaliduntil", pa.timestamp("us", "UTC")))
    return pa.Table.from_pylist(rows, schema.set(12, pa.field("rolconfig", pa.list_(pa.string()))))


def _empty(*columns: tuple[str, pa.DataType]) -> Callable:
    schema = pa.schema(list(columns))
    return lambda src: schema.empty_table()


TABLES: dict[str, Callable] = {
    "pg_namespace": lambda src: _schemas(src.cursor),
    "pg_class": lambda src: _relations(src.cursor),
    "pg_attribute": lambda src: _attributes(src.cursor),
    "pg_type": lambda src: _types(src.cursor),
    "pg_database": lambda src: _database(src.cursor),
    "pg_settings": lambda src: _settings(src.settings),
    "pg_attrdef": lambda src: _defaults(src.cursor),
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
    "pg_inherits": _empty(("inhrelid", pa.int64()), ("inhparent", pa.int64()), ("inhseqno", pa.int64()),
                          ("inhdetachpending", pa.bool_())),
    "pg_roles": lambda src: _roles(src),
    "pg_am": lambda src: [{"oid": 2, "amname": "heap", "amtype": "t"}],
    # what psql's \d asks about besides columns: nothing of it exists in DuckDB
    "pg_policy": _empty(("oid", pa.int64()), ("polname", pa.string()), ("polrelid", pa.int64()),
                        ("polpermissive", pa.bool_()), ("polroles", pa.list_(pa.int64())), ("polqual", pa.string()),
                        ("polwithcheck", pa.string()), ("polcmd", pa.string())),
    "pg_statistic_ext": _empty(("oid", pa.int64()), ("stxrelid", pa.int64()), ("stxname", pa.string()),
                               ("stxnamespace", pa.int64()), ("stxkeys", pa.list_(pa.int64())),
                               ("stxkind", pa.list_(pa.string())), ("stxstattarget", pa.int64())),
    "pg_publication": _empty(("oid", pa.int64()), ("pubname", pa.string()), ("puballtables", pa.bool_()),
                             ("pubviaroot", pa.bool_())),
    "pg_publication_rel": _empty(("oid", pa.int64()), ("prpubid", pa.int64()), ("prrelid", pa.int64()),
                                 ("prqual", pa.string()), ("prattrs", pa.list_(pa.int64()))),
    "pg_publication_namespace": _empty(("oid", pa.int64()), ("pnpubid", pa.int64()), ("pnnspid", pa.int64())),
    "pg_trigger": _empty(("oid", pa.int64()), ("tgrelid", pa.int64()), ("tgname", pa.string()),
                         ("tgisinternal", pa.bool_()), ("tgenabled", pa.string()), ("tgparentid", pa.int64())),
    "pg_rewrite": _empty(("oid", pa.int64()), ("ev_class", pa.int64()), ("rulename", pa.string()),
                         ("ev_enabled", pa.string())),
    "pg_partitioned_table": _empty(("partrelid", pa.int64()), ("partstrat", pa.string())),
    "pg_foreign_table": _empty(("ftrelid", pa.int64()), ("ftserver", pa.int64()), ("ftoptions", pa.list_(pa.string()))),
    "pg_auth_members": _empty(("roleid", pa.int64()), ("member", pa.int64()), ("grantor", pa.int64()),
                              ("admin_option", pa.bool_())),
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
    "CREATE MACRO pg_get_userbyid(o) AS (SELECT coalesce(max(rolname), 'unknown (OID=' || o || ')') "
    "FROM pg_roles WHERE oid = o)",
    "CREATE MACRO pg_encoding_to_char(e) AS 'UTF8'",
    "CREATE MACRO pg_get_statisticsobjdef_columns(o) AS NULL::VARCHAR",
    "CREATE MACRO pg_relation_is_publishable(r) AS false",
    "CREATE MACRO array_upper(a, d) AS len(a)",
    "CREATE MACRO pg_get_triggerdef(o, p) AS NULL::VARCHAR",
    "CREATE MACRO pg_get_indexdef(o, n, p) AS NULL::VARCHAR, (o) AS NULL::VARCHAR",
    "CREATE MACRO pg_get_constraintdef(o, p) AS NULL::VARCHAR, (o) AS NULL::VARCHAR",
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


def build(cursor: duckdb.DuckDBPyConnection, settings: Settings, owner: str = "synth") -> duckdb.DuckDBPyConnection:
    """A fresh in-memory DuckDB with the PostgreSQL-shaped catalog of the served database."""
    emulated = duckdb.connect(":memory:")
    source = CatalogSource(cursor, settings, owner)
    for name, make in TABLES.items():
        data = make(source)
        table = data if isinstance(data, pa.Table) else _table(name, data)
        emulated.register("__data", table)
        emulated.execute(f"CREATE TABLE {name} AS SELECT * FROM __data")
        emulated.unregister("__data")
    for macro in MACROS:
        emulated.execute(macro)
    return emulated
