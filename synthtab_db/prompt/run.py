"""GENERATE SYNTHETIC DATABASE FROM PROMPT and its EXPLAIN, from typed statement to result set."""

from __future__ import annotations

from typing import Any

import duckdb
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, PositiveInt
from sqlglot import exp, parse_one

from synthtab_db.errors import SynthError
from synthtab_db.prompt.backends import backend_for
from synthtab_db.prompt.create import create_filled, fill, refuse_existing
from synthtab_db.prompt.propose import Proposal, propose
from synthtab_db.prompt.rows import row_counts
from synthtab_db.prompt.settings import LlmSettings, resolve, set_setting
from synthtab_db.statements import literal_value, raw_options, validate_options


class PromptOptions(BaseModel):
    """WITH options about the data; the rest of WITH picks the model (LlmSettings)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    seed: int | None = None
    rows: dict[str, PositiveInt] = Field({}, description="row counts per table, e.g. {'customers': 1000}")
    max_attempts: int = Field(3, ge=1, le=20, description="proposals asked for before giving up")


class PromptStatement(BaseModel):
    model_config = ConfigDict(frozen=True)

    request: str
    into_schema: str
    rows: int | None = None
    explain: bool = False
    options: dict[str, Any] = {}


RESULT = pa.schema([("table", pa.string()), ("rows", pa.int64()), ("attempts", pa.int64()), ("ddl", pa.string())])


def split(options: dict[str, Any]) -> tuple[PromptOptions, dict[str, Any]]:
    unknown = set(options) - set(PromptOptions.model_fields) - set(LlmSettings.model_fields)
    if unknown:
        allowed = sorted(set(PromptOptions.model_fields) | set(LlmSettings.model_fields))
        raise SynthError(f"unknown option {sorted(unknown)[0]!r} for FROM PROMPT; allowed options: {', '.join(allowed)}")
    data = validate_options(PromptOptions, {k: v for k, v in options.items() if k in PromptOptions.model_fields})
    return data, {k: v for k, v in options.items() if k in LlmSettings.model_fields}


def run_prompt(con: duckdb.DuckDBPyConnection, statement: PromptStatement) -> pa.Table:
    if not statement.request.strip():
        raise SynthError("FROM PROMPT needs a request, e.g. 'customers, orders and order lines for a lesson on joins'")
    options, llm = split(statement.options)
    backend = backend_for(resolve(con, llm))
    proposal = propose(backend, statement.request, options.max_attempts)
    given = {k.lower(): v for k, v in options.rows.items()}
    _refuse_unknown_rows(given, proposal)
    counts = row_counts(proposal.accepted.plan, given, statement.rows, proposal.rows)
    if not statement.explain:
        refuse_existing(con, statement.into_schema, proposal.accepted)
        create_filled(con, statement.into_schema, proposal, fill(proposal.accepted, counts, options.seed))
    result = _result(statement.into_schema, proposal, counts)
    return result if statement.explain else result.drop_columns(["ddl"])


def _refuse_unknown_rows(given: dict[str, int], proposal: Proposal) -> None:
    names = {t.name.lower() for t in proposal.accepted.schema.tables}
    unknown = sorted(set(given) - names)
    if unknown:
        raise SynthError(f"WITH (rows = …) names {unknown}, not tables of the proposal: {sorted(names)}")


def _result(schema: str, proposal: Proposal, counts: dict[str, int]) -> pa.Table:
    accepted = proposal.accepted
    names = [s.table.name for s in accepted.plan.steps]
    ddl = {n.lower(): _ddl_of(accepted.statements, n) for n in names}
    return pa.table({"table": [f"{schema}.{n}" for n in names], "rows": [counts[n.lower()] for n in names],
                     "attempts": [proposal.attempts] * len(names), "ddl": [ddl[n.lower()] for n in names]},
                    schema=RESULT)


def _ddl_of(statements: tuple[str, ...], table: str) -> str:
    """The statements about one table: its CREATE and its COMMENTs."""
    mine = [s for s in statements if _subject(parse_one(s, read="duckdb")) == table.lower()]
    return "\n".join(s.rstrip(";") + ";" for s in mine)


def _subject(tree: exp.Expression) -> str:
    """The table a statement is about (COMMENT ON COLUMN t.c names it as a column's table)."""
    if isinstance(tree, exp.Comment) and isinstance(tree.this, exp.Column):
        return tree.this.table.lower()
    found = tree.find(exp.Table)
    return found.name.lower() if found is not None else ""


def prompt_statement(node: exp.Expression) -> PromptStatement:
    """The typed statement from a parsed PromptDatabase tree."""
    rows = literal_value(node.args["rows"]) if node.args.get("rows") is not None else None
    if rows is not None and (isinstance(rows, bool) or not isinstance(rows, int) or rows <= 0):
        raise SynthError(f"ROWS must be a positive integer, got {node.args['rows'].sql('duckdb')}")
    return PromptStatement(request=node.this.name, into_schema=node.args["into_schema"].name, rows=rows,
                           explain=bool(node.args.get("explain")), options=raw_options(node))


def run_set(con: duckdb.DuckDBPyConnection, node: exp.Expression) -> pa.Table:
    """SET synthtab.<key> = value, for this session only."""
    key, value = node.this.name.lower(), literal_value(node.expression)
    set_setting(con, key, value)
    return pa.table({"setting": [f"synthtab.{key}"], "value": [None if value is None else str(value)]})
