"""Is a proposed schema one we can create and fill?  sqlglot parses it, a scratch
in-memory DuckDB runs it (types, references, CHECK syntax), the planner orders it
(cycles, NOT NULL self-references).  Any refusal is a SynthError whose text goes
back to the model unchanged."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
from sqlglot import exp, parse_one
from sqlglot.errors import ParseError as SqlglotParseError

from synthtab_db import catalog
from synthtab_db.dialect import split_script
from synthtab_db.errors import SynthError
from synthtab_db.planner.plan import Plan, build_plan
from synthtab_db.planner.schema import Schema

ALLOWED = (exp.Create, exp.Comment)  # CREATE TABLE / CREATE TYPE, COMMENT ON


@dataclass(frozen=True)
class Accepted:
    """A schema that ran in the scratch database: its statements, tables and plan."""

    statements: tuple[str, ...]
    schema: Schema
    plan: Plan

    @property
    def ddl(self) -> str:
        return "\n".join(s.rstrip(";") + ";" for s in self.statements)


DRY_RUN_ROWS = 5  # rows per table generated to prove the schema can be filled (CHECKs that exclude everything)


def validate(ddl: str) -> Accepted:
    from synthtab_db.connection import connect  # noqa: PLC0415 (the connection imports the statements that import this)

    statements = tuple(_statements(ddl))
    with connect() as scratch:
        for text in statements:
            _run(scratch.duckdb, text)
        schema = catalog.read_schema(scratch.duckdb)
        for _, reason in schema.unusable:  # a column type the models can't fill: the model can still fix it
            raise SynthError(reason)
        if not schema.tables:
            raise SynthError("the proposal has no CREATE TABLE statement")
        accepted = Accepted(statements, schema, build_plan(schema))
        _dry_run(scratch, schema)
    return accepted


def _dry_run(scratch, schema: Schema) -> None:
    """A few rows per table, so a schema that can't be filled is refused while the model can still fix it."""
    rows = {t.name.lower(): DRY_RUN_ROWS for t in schema.tables}
    try:
        scratch.generate_database("dry_run", source_schema="main", using="copula", seed=0, rows=rows, max_rounds=3)
    except (ValueError, SynthError) as err:  # e.g. a CHECK range with no values in it (x > 10 AND x < 5)
        raise SynthError(f"the schema can't be filled: {err}") from None


def _statements(ddl: str) -> list[str]:
    """Each statement parsed with sqlglot; only schema statements may pass."""
    texts = [p.text for p in split_script(_without_fences(ddl)) if p.text.strip()]
    for text in texts:
        try:
            tree = parse_one(text, read="duckdb")
        except SqlglotParseError as err:
            raise SynthError(f"statement does not parse: {text[:80]!r}: {err}") from None
        if not isinstance(tree, ALLOWED) and not text.upper().lstrip().startswith("CREATE TYPE"):
            raise SynthError(f"only CREATE TABLE, CREATE TYPE and COMMENT ON statements may be proposed, not "
                             f"{text.split()[0].upper()} ({text[:60]!r})")
    return texts


def _without_fences(text: str) -> str:
    """Models like wrapping DDL in ```sql … ``` fences."""
    lines = [line for line in text.strip().splitlines() if not line.strip().startswith("```")]
    return "\n".join(lines)


def _run(scratch: duckdb.DuckDBPyConnection, text: str) -> None:
    try:
        scratch.execute(text).fetchall()
    except duckdb.Error as err:
        raise SynthError(f"DuckDB refused {text.splitlines()[0][:80]!r}: {err}") from None
