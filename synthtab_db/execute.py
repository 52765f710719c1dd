"""Our statements by node type: adding a statement adds one entry to HANDLERS."""

from __future__ import annotations

from typing import Any, Callable

import duckdb
import pyarrow as pa
from sqlglot import exp

from synthtab_db import runs
from synthtab_db.dialect import (
    AttachPostgres,
    DescribeSynthetic,
    DetachPostgres,
    DropSynthesizer,
    EvaluateSynthetic,
    ExplainGenerate,
    GenerateSynthetic,
    PromptDatabase,
    SetPrivacyBudget,
    SetSynthtab,
    ShowPrivacyBudget,
    ShowRuns,
    ShowSynthesizers,
    TrainSynthesizer,
)
from synthtab_db.engine.run import run_generate
from synthtab_db.engine.train import run_drop, run_show, run_train
from synthtab_db.errors import SynthError
from synthtab_db.postgres.attach import attach as attach_postgres
from synthtab_db.postgres.attach import detach as detach_postgres
from synthtab_db.postgres.attach import postgres_alias
from synthtab_db.privacy.budget import run_set_budget, run_show_budget
from synthtab_db.statements import (
    EvaluateStatement,
    GenerateStatement,
    check_clauses,
    evaluate_statement,
    generate_statement,
    literal_value,
    table_ref,
    train_statement,
)

Handler = Callable[[duckdb.DuckDBPyConnection, Any, Any], pa.Table]

HANDLERS: dict[type[exp.Expression], Handler] = {
    GenerateSynthetic: lambda con, tree, progress: _generate(con, tree, progress),
    ExplainGenerate: lambda con, tree, progress: _explain(con, tree.this),
    AttachPostgres: lambda con, tree, progress: attach_postgres(con, tree.this.name, tree.args["alias"].name),
    DetachPostgres: lambda con, tree, progress: detach_postgres(con, tree.this.name, bool(tree.args.get("exists"))),
    TrainSynthesizer: lambda con, tree, progress: run_train(con, train_statement(tree), progress),
    ShowSynthesizers: lambda con, tree, progress: run_show(con),
    DropSynthesizer: lambda con, tree, progress: run_drop(con, tree.this.name, bool(tree.args.get("exists"))),
    EvaluateSynthetic: lambda con, tree, progress: _evaluate(con, tree),
    ShowPrivacyBudget: lambda con, tree, progress: run_show_budget(con, _budget_table(con, tree.this)),
    SetPrivacyBudget: lambda con, tree, progress: run_set_budget(
        con, _budget_table(con, tree.this), literal_value(tree.expression)
    ),
    ShowRuns: lambda con, tree, progress: runs.show(con),
    DescribeSynthetic: lambda con, tree, progress: _describe(con, tree),
}

#: Statements the audit trail records (synthtab.runs), by the verb it files them under.
AUDITED: dict[type[exp.Expression], str] = {
    GenerateSynthetic: "GENERATE",
    TrainSynthesizer: "TRAIN",
    EvaluateSynthetic: "EVALUATE",
    DropSynthesizer: "DROP SYNTHESIZER",
    SetPrivacyBudget: "SET PRIVACY BUDGET",
}


def _describe(con, tree) -> pa.Table:
    from synthtab_db.profile.describe import describe_synthesizer, describe_table
    from synthtab_db.statements import raw_options

    if tree.args.get("synthesizer") is not None:
        return describe_synthesizer(con, tree.args["synthesizer"].name)
    return describe_table(con, table_ref(tree.this), raw_options(tree).get("columns"))


# GENERATE SYNTHETIC DATABASE FROM PROMPT (synthtab_db.prompt; imported on use)
def _prompt(con, tree, progress) -> pa.Table:
    from synthtab_db.prompt.run import prompt_statement, run_prompt

    return run_prompt(con, prompt_statement(tree))


def _set_synthtab(con, tree, progress) -> pa.Table:
    from synthtab_db.prompt.run import run_set

    return run_set(con, tree)


HANDLERS[PromptDatabase] = _prompt
HANDLERS[SetSynthtab] = _set_synthtab


def _generate(con, tree, progress) -> pa.Table:
    """A GENERATE naming an attached PostgreSQL database (pg.public.t) goes through synthtab_db.postgres."""
    if tree.args.get("parquet") is not None or tree.args.get("postgres") is not None:  # synthtab_db/distributed
        from synthtab_db.distributed.run import run_parquet

        return run_parquet(con, generate_statement(tree), progress)
    alias = postgres_alias(con, tree)
    if alias is None:
        return run_generate(con, generate_statement(tree), progress)
    from synthtab_db.postgres import generate_from_tree

    return generate_from_tree(con, tree, alias, progress)


def _explain(con, tree) -> pa.Table:
    """EXPLAIN GENERATE SYNTHETIC …: plan (every refusal included), run nothing."""
    if postgres_alias(con, tree) is not None:
        raise SynthError("EXPLAIN GENERATE SYNTHETIC reads DuckDB tables; a GENERATE over an attached "
                         "PostgreSQL database can't be explained yet")
    from synthtab_db.engine.planning import plan_statement
    from synthtab_db.planner.explain import explain_table

    return explain_table(plan_statement(con, generate_statement(tree))[0])


def _budget_table(con, node) -> str | None:
    """The qualified name of an existing table (budgets are kept per source table)."""
    if node is None:
        return None
    from synthtab_db import catalog
    from synthtab_db.engine.planning import current_schema
    from synthtab_db.planner.generate import qualified, source_table

    return str(source_table(catalog.read_schema(con), qualified(table_ref(node), current_schema(con))).ref)


def _evaluate(con, tree):
    return _run_evaluate(con, evaluate_statement(tree))


def _run_evaluate(con, statement: EvaluateStatement) -> pa.Table:
    """EVALUATE lives in synthtab_db.quality; imported on use (it brings scikit-learn)."""
    try:
        from synthtab_db.quality import run_evaluate
    except ImportError as err:
        raise SynthError(
            f"EVALUATE SYNTHETIC needs the quality extra: pip install 'synthtab-db[quality]' ({err})"
        ) from None
    return run_evaluate(con, statement)


def evaluate_from_python(
    con,
    synthetic: str,
    real: str,
    holdout: str | None = None,
    target: str | None = None,
    options: dict[str, Any] | None = None,
) -> pa.Table:
    """The Python spelling of EVALUATE SYNTHETIC <synthetic> AGAINST <real> …"""
    statement = EvaluateStatement(
        synthetic=_ref(synthetic),
        real=_ref(real),
        holdout=_ref(holdout),
        target=target,
        options={k.lower(): v for k, v in (options or {}).items()},
    )
    return _run_evaluate(con, statement)


def run_statement(con: duckdb.DuckDBPyConnection, tree: exp.Expression, progress=None, text: str | None = None
                  ) -> pa.Table:
    handler = HANDLERS.get(type(tree))
    if handler is None:
        raise SynthError(f"no handler for statement {type(tree).__name__}")
    verb = AUDITED.get(type(tree))
    if verb is None:
        return handler(con, tree, progress)
    return runs.recorded(con, _pending(verb, tree, text), lambda: handler(con, tree, progress))


def _pending(verb: str, tree: exp.Expression, text: str | None) -> runs.Pending:
    """What the trail knows before the work: the statement, its model and seed."""
    using = tree.args.get("using")
    seed = next((literal_value(eq.expression) for eq in tree.args.get("options") or []
                 if isinstance(eq, exp.EQ) and eq.this.name.lower() == "seed"), None)
    return runs.Pending(verb, " ".join((text or verb).split()), model=using.name if using is not None else None,
                        seed=seed if isinstance(seed, int) and not isinstance(seed, bool) else None)


def _positive(name: str, value: Any, kind: type | tuple[type, ...]) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, kind) or value <= 0):
        raise SynthError(f"{name} must be a positive number{' (integer)' if kind is int else ''}, got {value!r}")


def _ref(name: str | None):
    return table_ref(exp.to_table(name, dialect="duckdb")) if name else None


def generate_from_python(
    con,
    source: str,
    rows: int | None = None,
    into: str | None = None,
    using: str | None = None,
    where: str | None = None,
    options: dict[str, Any] | None = None,
    progress=None,
    scale: float | None = None,
) -> pa.Table:
    """The Python API builds the same typed statement the SQL parser does."""
    _positive("rows", rows, int)
    _positive("scale", scale, (int, float))
    statement = GenerateStatement(
        source=_ref(source),
        rows=rows,
        scale=scale,
        into=_ref(into),
        using=using,
        where=where,
        model_options={k.lower(): v for k, v in (options or {}).items()},
    )
    check_clauses(statement)
    return run_generate(con, statement, progress)


def generate_database_from_python(
    con,
    source_schema: str | None,
    into_schema: str | None,
    scale: float | None = None,
    using: str | None = None,
    options: dict[str, Any] | None = None,
    progress=None,
) -> pa.Table:
    _positive("scale", scale, (int, float))
    statement = GenerateStatement(
        database=True,
        source_schema=source_schema,
        into_schema=into_schema,
        scale=scale,
        using=using,
        model_options={k.lower(): v for k, v in (options or {}).items()},
    )
    check_clauses(statement)
    return run_generate(con, statement, progress)
