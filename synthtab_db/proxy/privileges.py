"""Who may run what through the proxy, decided from the statement's tree.

The owner (the user given to ``serve``) may do anything.  A login role may:
read a table with SELECT on it or on its schema; GENERATE from (and TRAIN on) a
table with GENERATE on it or its schema; create, write and drop tables and views in
a schema with CREATE on it.  Everything else — privacy budgets, ATTACH, settings
(SET GLOBAL, PRAGMA, RESET), server paths in options (``html``, ``pretrained``),
other schemas' DDL, DROP SYNTHESIZER, statements the checks don't understand — is
the owner's alone.  A refusal is SQLSTATE 42501 and names what to grant.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import duckdb
import sqlglot
from sqlglot import exp

from synthtab_db import store
from synthtab_db.dialect import (
    DropSynthesizer,
    EvaluateSynthetic,
    GenerateSynthetic,
    ShowPrivacyBudget,
    ShowSynthesizers,
    TrainSynthesizer,
)
from synthtab_db.proxy import roles
from synthtab_db.proxy.client import ClientInfo
from synthtab_db.proxy.errors import PgError

DEFAULT_SCHEMA = "main"
#: paths on the server's disk, and leave to skip differential privacy on a capped table
OWNER_ONLY_OPTIONS = {"html": "names a path on the server", "pretrained": "names a path on the server",
                      "allow_non_private": "skips differential privacy on a table with a budget",
                      "memory_limit": "sets DuckDB's memory_limit, which every client shares, while it runs"}
_OPEN_SCHEMAS = frozenset({"pg_catalog", "information_schema"})
_OPEN_TABLE_FUNCTIONS = frozenset({"range", "generate_series", "unnest"})
_OWNER_FUNCTIONS = frozenset({"synthtab", "synthtab_dbt_synthetic", "query", "query_table",
                              "json_execute_serialized_sql", "getenv"})
_WRITABLE_KINDS = frozenset({"TABLE", "VIEW", "INDEX", "SEQUENCE"})


def denied(what: str, fix: str = "only the owner may do this") -> PgError:
    return PgError("42501", f"permission denied: {what} ({fix})")


@dataclass(frozen=True)
class Access:
    """One role's grants, read once per statement."""

    role: str
    grants: frozenset[tuple[str, str, str]]
    con: duckdb.DuckDBPyConnection

    def can(self, privilege: str, schema: str, table: str | None = None) -> bool:
        return (privilege, "SCHEMA", schema) in self.grants or (
            table is not None and (privilege, "TABLE", f"{schema}.{table}") in self.grants
        )

    def require(self, privilege: str, schema: str, table: str | None = None) -> None:
        if schema in _OPEN_SCHEMAS and privilege == "SELECT":
            return
        if not self.can(privilege, schema, table):
            what = f"{schema}.{table}" if table else f"schema {schema}"
            on = f"TABLE {what}" if table else f"SCHEMA {schema}"
            raise denied(f"{privilege} on {what} for role {self.role}", f"the owner can GRANT {privilege} ON {on}")


def access_of(con: duckdb.DuckDBPyConnection, client: ClientInfo) -> Access:
    return Access(client.role, roles.grants_of(con, client.role), con)


# -- names -------------------------------------------------------------------------


def _norm(node: exp.Expression | None) -> str | None:
    if node is None or not node.name:
        return None
    return node.name if isinstance(node, exp.Identifier) and node.quoted else node.name.lower()


def _schema_of(table: exp.Table) -> str:
    if table.args.get("catalog") is not None:
        raise denied(f"naming another database ({table.catalog}) in {table.sql('duckdb')}")
    return _norm(table.args.get("db")) or DEFAULT_SCHEMA


def _require_table(access: Access, privilege: str, table: exp.Table | None) -> None:
    if table is not None:
        access.require(privilege, _schema_of(table), _norm(table.this))


def _require_schema(access: Access, privilege: str, schema: str | None) -> None:
    access.require(privilege, (schema or DEFAULT_SCHEMA).lower())


# -- our statements ------------------------------------------------------------------


def _options_are_safe(tree: exp.Expression) -> None:
    for item in tree.args.get("options") or []:
        if item.this.name.lower() in OWNER_ONLY_OPTIONS:
            raise denied(f"option {item.this.name!r} {OWNER_ONLY_OPTIONS[item.this.name.lower()]}; only the owner may set it")


def _generate(access: Access, tree: exp.Expression) -> None:
    if tree.args.get("source_catalog") or tree.args.get("into_catalog"):
        raise denied("GENERATE with an attached PostgreSQL database")
    if tree.args.get("synthesizer") is not None:
        _require_synthesizer(access, tree.args["synthesizer"].name)
    elif tree.args.get("database"):
        _require_schema(access, "GENERATE", _norm(tree.args.get("source_schema")))
    for table in [tree.this, *(tree.args.get("tables") or [])]:
        _require_table(access, "GENERATE", table)
    into = tree.args.get("into")
    if into is not None:
        _require_schema(access, "CREATE", _schema_of(into))
    elif tree.args.get("into_schema") is not None:
        _require_schema(access, "CREATE", _norm(tree.args["into_schema"]))
    elif tree.this is not None:
        _require_schema(access, "CREATE", _schema_of(tree.this))  # synth_<t> lands next to t


def _require_synthesizer(access: Access, name: str) -> None:
    """Sampling a synthesizer is generating from the table it learned."""
    rows = []
    if store.has_state(access.con):
        rows = access.con.execute(
            f"SELECT source FROM {store.SYNTHESIZERS} WHERE lower(name) = lower($n)", {"n": name}
        ).fetchall()
    if not rows:
        raise denied(f"synthesizer {name} is unknown to role {access.role}", "ask the owner to TRAIN it")
    _require_table(access, "GENERATE", exp.to_table(rows[0][0], dialect="duckdb"))


def _train(access: Access, tree: exp.Expression) -> None:
    _require_table(access, "GENERATE", tree.args["source"])


def _evaluate(access: Access, tree: exp.Expression) -> None:
    if tree.args.get("schema"):
        for schema in (tree.this, tree.args["real"]):
            _require_schema(access, "SELECT", _norm(schema))
    else:
        for table in (tree.this, tree.args["real"], tree.args.get("holdout")):
            _require_table(access, "SELECT", table)
    if tree.args.get("into") is not None:
        _require_schema(access, "CREATE", _schema_of(tree.args["into"]))


def _anyone(access: Access, tree: exp.Expression) -> None:
    return None


OURS: dict[type[exp.Expression], Callable[[Access, exp.Expression], None]] = {
    GenerateSynthetic: _generate,
    TrainSynthesizer: _train,
    EvaluateSynthetic: _evaluate,
    ShowSynthesizers: _anyone,
    ShowPrivacyBudget: _anyone,
}

_OWNER_STATEMENTS = {DropSynthesizer: "DROP SYNTHESIZER"}


def check_ours(con: duckdb.DuckDBPyConnection, client: ClientInfo, tree: exp.Expression) -> None:
    if client.owner:
        return
    rule = OURS.get(type(tree))
    if rule is None:
        name = _OWNER_STATEMENTS.get(type(tree)) or " ".join(tree.key.upper().split("_"))
        raise denied(f"{_statement_name(tree, name)} for role {client.role}")
    _options_are_safe(tree)
    rule(access_of(con, client), tree)


def _statement_name(tree: exp.Expression, fallback: str) -> str:
    names = {"setprivacybudget": "SET PRIVACY BUDGET", "attachpostgres": "ATTACH POSTGRES",
             "detachpostgres": "DETACH POSTGRES"}
    return names.get(tree.key, fallback)


# -- plain SQL -----------------------------------------------------------------------


def check_plain(con: duckdb.DuckDBPyConnection, client: ClientInfo, sql: str) -> None:
    if client.owner:
        return
    try:
        trees = [t for t in sqlglot.parse(sql, read="duckdb") if t is not None]
    except sqlglot.errors.SqlglotError:
        raise denied("a statement the privilege checks cannot read") from None
    access = access_of(con, client)
    for tree in trees:
        rule = PLAIN.get(type(tree))
        if rule is None:
            raise denied(f"{tree.key.upper()} statements for role {client.role}")
        _functions_are_safe(access, tree)
        rule(access, tree)


def _reads(access: Access, tree: exp.Expression, skip: tuple[exp.Expression, ...] = ()) -> None:
    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    for table in tree.find_all(exp.Table):
        if any(table is s for s in skip):
            continue
        if isinstance(table.this, exp.Func):
            _table_function(access, table.this)
        elif not (table.args.get("db") is None and table.name.lower() in ctes):
            _require_table(access, "SELECT", table)


def _table_function(access: Access, func: exp.Func) -> None:
    name = (func.name if isinstance(func, exp.Anonymous) else func.sql_name()).lower()
    if name in _OPEN_TABLE_FUNCTIONS or name.startswith(("duckdb_", "pg_")) and name != "duckdb_secrets":
        return
    if isinstance(func, exp.Anonymous) and _is_synthesizer(access, name):
        _require_synthesizer(access, name)
        return
    raise denied(f"table function {name}() for role {access.role}")


def _is_synthesizer(access: Access, name: str) -> bool:
    return store.has_state(access.con) and bool(access.con.execute(
        f"SELECT 1 FROM {store.SYNTHESIZERS} WHERE lower(name) = $n", {"n": name}).fetchall())


def _functions_are_safe(access: Access, tree: exp.Expression) -> None:
    for func in tree.find_all(exp.Anonymous):
        name = func.name.lower()
        if name in _OWNER_FUNCTIONS or name.startswith("__synthtab"):
            raise denied(f"function {name}() for role {access.role}")


def _target(tree: exp.Expression) -> exp.Table | None:
    tables = tree.args.get("tables")
    if tables:
        return tables[0] if len(tables) == 1 else None
    node = tree.this
    if isinstance(node, exp.Schema):
        node = node.this
    return node if isinstance(node, exp.Table) else None


def _write(access: Access, tree: exp.Expression) -> None:
    target = _target(tree)
    if target is None:
        raise denied(f"{tree.key.upper()} without a plain table target")
    _require_schema(access, "CREATE", _schema_of(target))
    _reads(access, tree, skip=(target,))


def _ddl(access: Access, tree: exp.Expression) -> None:
    kind = str(tree.args.get("kind") or "").upper()
    if kind not in _WRITABLE_KINDS:
        raise denied(f"{tree.key.upper()} {kind or 'this object'} for role {access.role}")
    target = _target(tree)
    if target is None:
        raise denied(f"{tree.key.upper()} {kind} without a plain name")
    if not _temporary(tree):
        _require_schema(access, "CREATE", _schema_of(target))
    if isinstance(tree, exp.Alter):
        for renamed in tree.find_all(exp.Table):
            if renamed is not target and renamed.args.get("db") is not None:
                _require_schema(access, "CREATE", _schema_of(renamed))
    _reads(access, tree, skip=tuple(t for t in tree.find_all(exp.Table) if t is target or isinstance(tree, exp.Alter)))


def _temporary(tree: exp.Expression) -> bool:
    props = tree.args.get("properties")
    return props is not None and any(isinstance(p, exp.TemporaryProperty) for p in props.expressions)


def _truncate(access: Access, tree: exp.Expression) -> None:
    for table in tree.expressions:
        _require_schema(access, "CREATE", _schema_of(table))


PLAIN: dict[type[exp.Expression], Callable[[Access, exp.Expression], None]] = {
    exp.Select: _reads,
    exp.Union: _reads,
    exp.Intersect: _reads,
    exp.Except: _reads,
    exp.Values: _reads,
    exp.Describe: _reads,
    exp.Show: _anyone,
    exp.Insert: _write,
    exp.Update: _write,
    exp.Delete: _write,
    exp.Merge: _write,
    exp.Create: _ddl,
    exp.Drop: _ddl,
    exp.Alter: _ddl,
    exp.TruncateTable: _truncate,
}
