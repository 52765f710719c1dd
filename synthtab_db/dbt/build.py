"""One synthetic model end to end: stage the real data, train its synthesizer (or
reuse the one trained on the same data), generate the copy beside the old table,
then swap them, so a failing model leaves the previous table in place.

The work is done by our own statements (TRAIN SYNTHESIZER, GENERATE SYNTHETIC
FROM SYNTHESIZER), the same ones ``synthtab()`` runs; the report lists them.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

import duckdb
from sqlglot import exp

from synthtab_db import catalog
from synthtab_db.connection import Connection
from synthtab_db.dbt.spec import SyntheticSpec
from synthtab_db.dbt.staging import STAGING_SCHEMA, Staged, stage
from synthtab_db.dbt.state import fingerprint, remember, trained_on
from synthtab_db.duck import atomic, first_row, run_sql
from synthtab_db.errors import SynthError
from synthtab_db.models import default_model, get_model
from synthtab_db.planner.schema import TableRef
from synthtab_db.sqlbuild import create_table_sql, table_sql
from synthtab_db.statements import GenerateOptions

NEW = "__synthtab_new"
_SET_BY_US = {"replace", "append", "rows", "parents"}


def synthesizer_name(spec: SyntheticSpec) -> str:
    return f"dbt__{spec.schema_}__{spec.identifier}"


def literal(value: Any) -> str:
    """A WITH value as SQL: numbers, strings, booleans, NULL and {'key': value} maps."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{literal(str(k))}: {literal(v)}" for k, v in value.items()) + "}"
    if value is None:
        return "NULL"
    return exp.convert(value).sql("duckdb")


def _with(options: dict[str, Any]) -> str:
    return " WITH (" + ", ".join(f"{k} = {literal(v)}" for k, v in options.items()) + ")" if options else ""


def _ident(name: str) -> str:
    return exp.to_identifier(name, quoted=True).sql("duckdb")


def split_options(spec: SyntheticSpec) -> tuple[dict, dict]:
    """(TRAIN options: the model's, GENERATE options: sampling and checking)."""
    clash = sorted(_SET_BY_US & set(spec.options))
    if clash:
        raise SynthError(f"synthtab_options: {clash[0]!r} is set by the synthetic materialization itself")
    named = {"seed": spec.seed, "epsilon": spec.epsilon, "delta": spec.delta}
    train = {k: v for k, v in named.items() if v is not None}
    generate = {"seed": spec.seed} if spec.seed is not None else {}
    for key, value in spec.options.items():
        (generate if key in GenerateOptions.model_fields else train)[key] = value
        if key == "device":
            train[key] = value
    return train, generate


def build_synthetic(con: duckdb.DuckDBPyConnection, spec: SyntheticSpec) -> dict:
    started = time.perf_counter()
    model = get_model(spec.using or default_model()).name
    train_options, generate_options = split_options(spec)
    staged = stage(con, spec)
    name = synthesizer_name(spec)
    train = _train_unless_current(con, spec, staged, model, train_options)
    target = TableRef(schema=spec.schema_, name=spec.identifier)
    statements = [train] if train else []
    statements.append(_generate_sql(name, staged, spec, generate_options, _new(target)))
    result = _generate_beside(con, staged, target, statements[-1])
    return {
        "model": spec.model,
        "relation": str(target),
        "synthesizer": name,
        "using": model,
        "reused": train is None,
        "rows": result["rows"],
        "rejected_rows": result["rejected_rows"],
        "seconds": round(time.perf_counter() - started, 3),
        "statements": statements,
    }


def _train_unless_current(con, spec: SyntheticSpec, staged: Staged, model: str, options: dict) -> str | None:
    """TRAIN the model's synthesizer unless the stored one learned from the same data,
    constraints and options (``--full-refresh`` retrains); returns the statement run."""
    relation, name = f"{spec.schema_}.{spec.identifier}", synthesizer_name(spec)
    trained_print = fingerprint(con, staged.ref, {"model": model, **options})
    if not spec.full_refresh and trained_on(con, relation) == trained_print:
        return None
    statement = f"TRAIN SYNTHESIZER {_ident(name)} ON {table_sql(staged.ref)} USING {model}"
    statement += _with({"replace": True, **options})
    _run(con, statement)
    remember(con, relation, name, trained_print)
    return statement


def _new(target: TableRef) -> TableRef:
    return TableRef(schema=target.schema, name=target.name + NEW)


def _generate_sql(name: str, staged: Staged, spec: SyntheticSpec, options: dict, into: TableRef) -> str:
    rows = f" ROWS {spec.rows}" if spec.rows is not None else ""
    extra = {"append": True, **options, **({"parents": staged.parents} if staged.parents else {})}
    return f"GENERATE SYNTHETIC FROM SYNTHESIZER {_ident(name)}{rows} INTO {table_sql(into)}" + _with(extra)


def _run(con, sql: str):
    _show_progress()
    return Connection(con).execute(sql)


def _show_progress() -> None:
    """dbt routes its own events, not Python logging: with no handler anywhere, the progress
    lines of a long GENERATE would be dropped, so they go to stderr beside dbt's output."""
    log = logging.getLogger("synthtab_db")
    if log.handlers or logging.getLogger().handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s synthtab_db: %(message)s", "%H:%M:%S"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)


def _generate_beside(con, staged: Staged, target: TableRef, generate: str) -> dict:
    """Generate into an empty ``<target>__synthtab_new`` made with the staged table's own
    constraints (no FKs: DuckDB would then refuse to rebuild a parent model), then swap."""
    new = _new(target)
    table = catalog.read_schema(con, schema=STAGING_SCHEMA).table(staged.ref)
    atomic(con, lambda: _create_empty(con, table, new), "dbt")
    try:
        summary = _run(con, generate).arrow().to_pylist()[0]
    except BaseException:
        run_sql(con, f"DROP TABLE IF EXISTS {table_sql(new)}")
        raise
    atomic(con, lambda: _swap(con, new, target), "dbt")
    return summary


def _create_empty(con, table, new: TableRef) -> None:
    run_sql(con, f"CREATE SCHEMA IF NOT EXISTS {_ident(new.schema)}")
    run_sql(con, f"DROP TABLE IF EXISTS {table_sql(new)}")
    run_sql(con, create_table_sql(table, new, lambda fk: None))


def _swap(con, new: TableRef, target: TableRef) -> None:
    kind = _relation_kind(con, target)
    if kind:
        run_sql(con, f"DROP {kind} {table_sql(target)}")
    run_sql(con, f"ALTER TABLE {table_sql(new)} RENAME TO {_ident(target.name)}")


def _relation_kind(con, ref: TableRef) -> str | None:
    row = first_row(
        con,
        "SELECT 'TABLE' FROM duckdb_tables() WHERE schema_name = $s AND table_name = $t "
        "UNION ALL SELECT 'VIEW' FROM duckdb_views() WHERE schema_name = $s AND view_name = $t",
        {"s": ref.schema, "t": ref.name},
    )
    return row[0] if row else None
