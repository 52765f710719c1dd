"""The real data of a synthetic model, staged as a table that carries dbt's constraints.

The engine learns constraints from the DuckDB catalog, so the model's SELECT is
copied into ``synthtab_staging.<schema>__<model>`` created with what dbt knows:
``not_null``/``unique``/``accepted_values`` tests and contract constraints become
NOT NULL / UNIQUE / PRIMARY KEY / CHECK, and a ``relationships`` test (or a
contract foreign key) becomes a FOREIGN KEY to the parent's staged real data.
All staging tables live in one schema because DuckDB has no FKs across schemas.
Staging tables are kept between runs: a child model staged later references them.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import sqlglot
from sqlglot import exp

from synthtab_db.dbt.spec import Constraint, SyntheticSpec
from synthtab_db.duck import atomic, run_sql
from synthtab_db.errors import SynthError
from synthtab_db.planner.schema import TableRef
from synthtab_db.sqlbuild import table_exists, table_expr, table_sql

STAGING_SCHEMA = "synthtab_staging"
COPY = "__parent__"  # <staged model>__parent__<schema>__<table>: a real parent's copy


@dataclass
class Staged:
    ref: TableRef  # the staged real data
    parents: dict[str, str]  # staged parent -> table the FK values are drawn from (WITH parents)


def staging_ref(schema: str, identifier: str) -> TableRef:
    return TableRef(schema=STAGING_SCHEMA, name=f"{schema}__{identifier}")


def _ident(name: str) -> exp.Identifier:
    return exp.to_identifier(_unquote(name), quoted=True)


def _unquote(name: str) -> str:
    """dbt may give a quoted column name (``"customer_id"``)."""
    return name[1:-1].replace('""', '"') if len(name) > 1 and name[0] == name[-1] == '"' else name


def _describe(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple[str, str]]:
    return [(row[0], row[1]) for row in con.execute(f"DESCRIBE (\n{sql}\n)").fetchall()]


# -- constraints as DDL items (sqlglot trees) ------------------------------------------


def _accepted_values(c: Constraint) -> exp.Expression:
    values = [exp.Literal.string(str(v)) if c.quote else sqlglot.parse_one(str(v), read="duckdb") for v in c.values]
    return exp.CheckColumnConstraint(this=exp.In(this=exp.column(_ident(c.columns[0])), expressions=values))


def _check(c: Constraint) -> exp.Expression:
    return exp.CheckColumnConstraint(this=sqlglot.parse_one(c.expression, read="duckdb"))


def _key(c: Constraint) -> exp.Expression:
    columns = [_ident(n) for n in c.columns]
    if c.kind == "primary_key":
        return exp.PrimaryKey(expressions=columns)
    return exp.UniqueColumnConstraint(this=exp.Schema(expressions=columns))


def _foreign_key(c: Constraint, parent: TableRef) -> exp.Expression:
    reference = exp.Reference(this=exp.Schema(this=table_expr(parent), expressions=[_ident(f) for f in c.fields]))
    return exp.ForeignKey(expressions=[_ident(n) for n in c.columns], reference=reference)


def _table_items(c: Constraint, parents: dict[str, TableRef]) -> list[exp.Expression]:
    if c.kind in ("unique", "referenced", "primary_key"):
        return [_key(c)]
    if c.kind == "accepted_values":
        return [_accepted_values(c)]
    if c.kind == "check":
        return [_check(c)]
    if c.kind in ("relationships", "foreign_key"):
        return [_foreign_key(c, parents[c.origin])]
    return []  # not_null is a column constraint


def _unique_keys(constraints: list[Constraint]) -> list[Constraint]:
    """One key per column set: a PRIMARY KEY wins over UNIQUE on the same columns."""
    keys: dict[frozenset, Constraint] = {}
    for c in constraints:
        if c.kind in ("unique", "referenced", "primary_key"):
            columns = frozenset(_unquote(n).lower() for n in c.columns)
            if columns not in keys or c.kind == "primary_key":
                keys[columns] = c
    return list(keys.values())


def create_staging_sql(
    ref: TableRef, columns: list[tuple[str, str]], constraints: list[Constraint], parents: dict[str, TableRef]
) -> str:
    not_null = {_unquote(n).lower() for c in constraints if c.kind in ("not_null", "primary_key") for n in c.columns}
    items: list[exp.Expression] = [
        exp.ColumnDef(
            this=exp.to_identifier(name, quoted=True),
            kind=exp.DataType.build(type_sql, dialect="duckdb"),
            constraints=[exp.ColumnConstraint(kind=exp.NotNullColumnConstraint())] if name.lower() in not_null else [],
        )
        for name, type_sql in columns
    ]
    others = [c for c in constraints if c.kind not in ("unique", "referenced", "primary_key")]
    for c in _unique_keys(constraints) + others:
        items += _table_items(c, parents)
    return exp.Create(this=exp.Schema(this=table_expr(ref), expressions=items), kind="TABLE").sql("duckdb")


# -- parents -----------------------------------------------------------------------------


def _parent_staging(con, spec: SyntheticSpec, c: Constraint) -> tuple[TableRef, TableRef | None]:
    """(table the staged FK references, table the synthetic FK values are drawn from).

    A synthetic parent was staged when it was built: reference its real data, draw
    from its synthetic copy.  Any other parent (a seed, a model, a source) is real:
    it is copied with a UNIQUE key on the referenced columns, and keys are drawn from it.
    """
    parent = c.parent
    if parent.synthetic:
        _require_built(con, spec, c)
        return staging_ref(parent.schema_, parent.identifier), TableRef(schema=parent.schema_, name=parent.identifier)
    own = staging_ref(spec.schema_, spec.identifier)
    return TableRef(schema=STAGING_SCHEMA, name=f"{own.name}{COPY}{parent.schema_}__{parent.identifier}"), None


def _require_built(con, spec: SyntheticSpec, c: Constraint) -> None:
    parent = c.parent
    hint = f"add `-- depends_on: {{{{ ref('{parent.name}') }}}}` to {spec.model}.sql so dbt builds {parent.name} first"
    if not parent.upstream:
        raise SynthError(
            f"synthetic model {spec.model}: {c.origin} points at synthetic model {parent.name}, "
            f"which dbt does not know to build first; {hint}"
        )
    if not table_exists(con, staging_ref(parent.schema_, parent.identifier)):
        raise SynthError(f"synthetic model {spec.model}: its parent {parent.name} has not been built yet; {hint}")


def _copy_real_parent(con, spec: SyntheticSpec, uses: list[Constraint], ref: TableRef) -> None:
    """One copy per real parent, with a UNIQUE key for each set of columns referenced."""
    parent = uses[0].parent
    select = f"SELECT * FROM {table_sql(TableRef(schema=parent.schema_, name=parent.identifier))}"
    keys = [Constraint(kind="unique", columns=c.fields, origin=c.origin) for c in uses]
    run_sql(con, create_staging_sql(ref, _describe(con, select), keys, {}))
    _insert(con, spec, ref, select, f"{parent.name} (referenced by {', '.join(c.origin for c in uses)})")


def _insert(con, spec: SyntheticSpec, ref: TableRef, select: str, what: str) -> None:
    try:
        run_sql(con, f"INSERT INTO {table_sql(ref)} SELECT * FROM (\n{select}\n)")
    except duckdb.ConstraintException as err:
        raise SynthError(
            f"synthetic model {spec.model}: the real data of {what} breaks a constraint declared in dbt "
            f"(tests and contracts on a synthetic model must hold on the data it copies): {err}"
        ) from None


# -- the staging table itself ----------------------------------------------------------------


def _dependents(con, ref: TableRef) -> list[TableRef]:
    rows = con.execute(
        "SELECT DISTINCT table_name FROM duckdb_constraints() WHERE constraint_type = 'FOREIGN KEY' "
        "AND schema_name = $s AND referenced_table = $t AND table_name <> $t",
        {"s": ref.schema, "t": ref.name},
    ).fetchall()
    return [TableRef(schema=ref.schema, name=r[0]) for r in rows]


def drop_staged(con, ref: TableRef) -> None:
    """Drop a staged table and, first, the staged children that reference it (each
    child is staged again when its own model runs)."""
    for child in _dependents(con, ref):
        drop_staged(con, child)
    run_sql(con, f"DROP TABLE IF EXISTS {table_sql(ref)}")
    for copy in _parent_copies(con, ref):
        run_sql(con, f"DROP TABLE IF EXISTS {table_sql(copy)}")


def _parent_copies(con, ref: TableRef) -> list[TableRef]:
    rows = con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE schema_name = $s AND starts_with(table_name, $prefix)",
        {"s": ref.schema, "prefix": ref.name + COPY},
    ).fetchall()
    return [TableRef(schema=ref.schema, name=r[0]) for r in rows]


def stage(con: duckdb.DuckDBPyConnection, spec: SyntheticSpec) -> Staged:
    """(Re)create the staged real data of ``spec``, in one transaction."""
    ref = staging_ref(spec.schema_, spec.identifier)
    return atomic(con, lambda: _stage(con, spec, ref), "staging")


def _stage(con, spec: SyntheticSpec, ref: TableRef) -> Staged:
    run_sql(con, f"CREATE SCHEMA IF NOT EXISTS {STAGING_SCHEMA}")
    drop_staged(con, ref)
    referencing = [c for c in spec.constraints if c.kind in ("relationships", "foreign_key")]
    _refuse_self_references(spec, referencing)
    parents, drawn, copies = {}, {}, {}
    for c in referencing:
        parents[c.origin], draw_from = _parent_staging(con, spec, c)
        if draw_from is None:
            copies.setdefault(parents[c.origin], []).append(c)
        else:
            drawn[str(parents[c.origin])] = str(draw_from)
    for ref_copy, uses in copies.items():
        _copy_real_parent(con, spec, uses, ref_copy)
    run_sql(con, create_staging_sql(ref, _describe(con, spec.sql), spec.constraints, parents))
    _insert(con, spec, ref, spec.sql, "its SELECT")
    return Staged(ref=ref, parents=drawn)


def _refuse_self_references(spec: SyntheticSpec, referencing: list[Constraint]) -> None:
    for c in referencing:
        if c.parent.schema_ == spec.schema_ and c.parent.identifier == spec.identifier:
            raise SynthError(
                f"synthetic model {spec.model}: {c.origin} references the model itself; "
                "self-references are not supported by the synthetic materialization yet"
            )

