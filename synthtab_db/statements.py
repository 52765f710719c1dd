"""Typed statements: what a parsed tree means, validated once, before any work starts.

Options are pydantic models with ``extra='forbid'`` so an unknown or mistyped key
is refused with the list of allowed keys; models add their own options through
``Synthesizer.options_model``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlglot import exp

from synthtab_db.dialect import GenerateSynthetic
from synthtab_db.errors import SynthError
from synthtab_db.planner.schema import TableRef
from synthtab_db.sizes import MEMORY_DEFAULT, MEMORY_HELP, is_memory_limit

QUALITY_ROUNDS = 3  # quality rounds of GENERATE … WITH (target_quality = …) when max_rounds is not given


class GenerateOptions(BaseModel):
    """WITH options every GENERATE understands, whatever the model."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    seed: int | None = Field(None, ge=0, le=2**63 - 1, description="a non-negative integer: same seed, same data")
    replace: bool = Field(False, description="overwrite an existing target table")
    append: bool = Field(False, description="add rows to an existing target table")
    max_rounds: int = Field(
        10,
        ge=1,
        le=1000,
        description="regeneration rounds for rejected rows; with target_quality: the quality rounds "
        f"(default {QUALITY_ROUNDS}), and rejected rows get the default 10",
    )
    target_quality: float | None = Field(
        None, description="fidelity score in (0, 1] to reach: refit and retry, keep the best round"
    )
    sample_batch_size: int = Field(250_000, ge=100, le=10_000_000, description="rows sampled and checked per batch")
    memory_limit: str = Field(
        MEMORY_DEFAULT,
        description="DuckDB's memory_limit while the statement runs (its buffer pool would otherwise keep "
        "every block written or read, up to 80% of RAM); a size like '512MB' or '4GB', or 'none' to leave "
        "DuckDB's setting alone",
    )
    device: Literal["auto", "cpu", "cuda"] = "auto"
    allow_non_private: bool = Field(False, description="run without DP on a table that has a privacy budget")
    rows: dict[str, int] = Field({}, description="per-table row counts for root tables, e.g. {'customers': 1000}")
    parents: dict[str, str] = Field(
        {},
        description="FK parent table -> table the FK values are drawn from, e.g. {'customers': 'synth_customers'}",
    )

    @field_validator("memory_limit")
    @classmethod
    def _memory_size(cls, value: str) -> str:
        if not is_memory_limit(value):
            raise ValueError(f"memory_limit is {MEMORY_HELP}; got {value!r}")
        return value

    @field_validator("target_quality", mode="before")
    @classmethod
    def _quality_in_range(cls, value: Any) -> Any:
        number = isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)
        if value is not None and not (number and 0 < value <= 1):
            raise ValueError("target_quality is the fidelity score to reach, a number in (0, 1]")
        return value

    def quality_rounds(self) -> int:
        """With target_quality, max_rounds caps the quality rounds (QUALITY_ROUNDS unless given)."""
        return self.max_rounds if "max_rounds" in self.model_fields_set else QUALITY_ROUNDS

    def constraint_rounds(self) -> int:
        """Regeneration rounds for rejected rows: max_rounds, unless it counts quality rounds."""
        if self.target_quality is None:
            return self.max_rounds
        return GenerateOptions.model_fields["max_rounds"].default

    @field_validator("rows")
    @classmethod
    def _positive_rows(cls, value: dict[str, int]) -> dict[str, int]:
        bad = {k: v for k, v in value.items() if v <= 0}
        if bad:
            raise ValueError(f"row counts must be positive integers, got {bad}")
        return {k.lower(): v for k, v in value.items()}


class GenerateStatement(BaseModel):
    model_config = ConfigDict(frozen=True)

    source: TableRef | None = None
    database: bool = False
    source_schema: str | None = None
    rows: int | None = None
    scale: float | None = None
    into: TableRef | None = None
    into_schema: str | None = None
    using: str | None = None
    where: str | None = None
    options: GenerateOptions = GenerateOptions()
    model_options: dict[str, Any] = {}
    synthesizer: str | None = None  # FROM SYNTHESIZER <name>
    tables: tuple[TableRef, ...] = ()  # FROM (a, b, c): these and the parents they need
    parquet: str | None = None  # INTO PARQUET '<dir>': written by synthtab_db/distributed
    postgres: str | None = None  # INTO POSTGRES '<dsn>': synthtab_db/distributed, staged per shard


class TrainStatement(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    source: TableRef
    using: str | None = None
    replace: bool = False
    allow_non_private: bool = False
    model_options: dict[str, Any] = {}


class EvaluateStatement(BaseModel):
    """What EVALUATE SYNTHETIC asks for; ``schema`` compares two schemas table by table."""

    model_config = ConfigDict(frozen=True)

    synthetic: TableRef | None = None
    real: TableRef | None = None
    synthetic_schema: str | None = None
    real_schema: str | None = None
    holdout: TableRef | None = None
    target: str | None = None
    into: TableRef | None = None
    options: dict[str, Any] = {}


def literal_value(node: exp.Expression) -> Any:
    """A WITH/ROWS value as Python: numbers, strings, booleans, NULL."""
    if isinstance(node, exp.Neg):
        return -literal_value(node.this)
    if isinstance(node, exp.Boolean):
        return node.this
    if isinstance(node, exp.Null):
        return None
    if isinstance(node, exp.Literal):
        return node.this if node.is_string else _number(node.this)
    if isinstance(node, (exp.Column, exp.Identifier, exp.Var)) and node.name:
        return node.name  # bare words: device = cpu
    if isinstance(node, exp.ToMap):
        return literal_value(node.this)
    if isinstance(node, exp.Struct):
        return {item.this.name: literal_value(item.expression) for item in node.expressions}
    raise SynthError(f"unsupported value {node.sql('duckdb')!r}: use a number, a string, TRUE/FALSE or NULL")


def _number(text: str) -> int | float:
    value = Decimal(text)
    return (
        int(value)
        if value == value.to_integral_value() and "." not in text and "e" not in text.lower()
        else float(value)
    )


def table_ref(node: exp.Table | None) -> TableRef | None:
    if node is None:
        return None
    return TableRef(name=node.name, schema=node.db or None)


def _name(node: exp.Expression | None) -> str | None:
    return node.name if node is not None else None


def raw_options(node: exp.Expression) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for item in node.args.get("options") or []:
        key = item.this.name.lower()
        if key in options:
            raise SynthError(f"option {key!r} given twice in WITH")
        options[key] = literal_value(item.expression)
    return options


def _positive_rows(node: exp.Expression | None) -> int | None:
    if node is None:
        return None
    value = literal_value(node)
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise SynthError(f"ROWS must be a positive integer, got {node.sql('duckdb')}")
    return value


def _positive_scale(node: exp.Expression | None) -> float | None:
    if node is None:
        return None
    value = literal_value(node)
    if not isinstance(value, (int, float)) or value <= 0:
        raise SynthError(f"SCALE must be a number greater than 0, got {node.sql('duckdb')}")
    return float(value)


def generate_statement(node: GenerateSynthetic) -> GenerateStatement:
    """Validate the shape of a GENERATE; options are split per model by the engine."""
    statement = GenerateStatement(
        source=table_ref(node.this),
        database=bool(node.args.get("database")),
        source_schema=_name(node.args.get("source_schema")),
        rows=_positive_rows(node.args.get("rows")),
        scale=_positive_scale(node.args.get("scale")),
        into=table_ref(node.args.get("into")),
        into_schema=_name(node.args.get("into_schema")),
        using=_name(node.args.get("using")),
        where=node.args["where"].sql("duckdb") if node.args.get("where") else None,
        model_options=raw_options(node),
        synthesizer=_name(node.args.get("synthesizer")),
        tables=tuple(table_ref(t) for t in node.args.get("tables") or ()),
        parquet=node.args["parquet"].name if node.args.get("parquet") else None,
        postgres=node.args["postgres"].name if node.args.get("postgres") else None,
    )
    check_clauses(statement)
    return statement


def train_statement(node: exp.Expression) -> TrainStatement:
    options = raw_options(node)
    replace = options.pop("replace", False)
    allow_non_private = options.pop("allow_non_private", False)
    for key, value in (("replace", replace), ("allow_non_private", allow_non_private)):
        if not isinstance(value, bool):
            raise SynthError(f"option {key!r} must be TRUE or FALSE, got {value!r}")
    return TrainStatement(
        name=node.this.name,
        source=table_ref(node.args["source"]),
        using=_name(node.args.get("using")),
        replace=replace,
        allow_non_private=allow_non_private,
        model_options=options,
    )


def check_clauses(s: GenerateStatement) -> None:
    if s.rows is not None and s.scale is not None:
        raise SynthError("use ROWS or SCALE, not both")
    if s.database and s.into is not None:
        raise SynthError("GENERATE SYNTHETIC FROM DATABASE writes INTO SCHEMA <schema>, not INTO <table>")
    if s.parquet is not None or s.postgres is not None:
        check_parquet_clauses(s)
        return
    if s.database and not s.into_schema:
        raise SynthError("GENERATE SYNTHETIC FROM DATABASE needs INTO SCHEMA <schema>")
    if s.into is not None and s.into_schema is not None:
        raise SynthError("use INTO <table> or INTO SCHEMA <schema>, not both")
    if s.database and s.where is not None:
        raise SynthError("WHERE applies to one table, not to FROM DATABASE")
    if s.synthesizer and s.using:
        raise SynthError(f"synthesizer {s.synthesizer} already has its model; drop USING")
    if "target_quality" in s.model_options and (s.database or s.tables or s.synthesizer):
        raise SynthError(
            "target_quality applies to GENERATE SYNTHETIC FROM <table>: it refits the model on the source "
            "and scores each round against a holdout of it (not FROM DATABASE, FROM (…) or FROM SYNTHESIZER)"
        )


def check_parquet_clauses(s: GenerateStatement) -> None:
    """INTO PARQUET '<dir>' replaces INTO <table> / INTO SCHEMA (one sub-folder per table)."""
    if s.into is not None or s.into_schema is not None:
        raise SynthError("use INTO PARQUET '<dir>' or INTO <table> / INTO SCHEMA <schema>, not both")
    if s.parquet is not None and s.postgres is not None:
        raise SynthError("use INTO PARQUET '<dir>' or INTO POSTGRES '<dsn>', not both")
    if s.parquet is not None and not s.parquet.strip():
        raise SynthError("INTO PARQUET needs a folder, e.g. INTO PARQUET 'out/'")
    if s.rows is not None and s.scale is not None:
        raise SynthError("use ROWS or SCALE, not both")
    if s.tables:
        raise SynthError("INTO PARQUET writes FROM <table>, FROM DATABASE or FROM SYNTHESIZER, not FROM (a, b, …)")
    if s.database and s.where is not None:
        raise SynthError("WHERE applies to one table, not to FROM DATABASE")
    if s.synthesizer and s.using:
        raise SynthError(f"synthesizer {s.synthesizer} already has its model; drop USING")


def split_options(statement: GenerateStatement, model_options: type[BaseModel] | None) -> GenerateStatement:
    """Common options go to GenerateOptions, the rest to the model's own options model."""
    common = {k: v for k, v in statement.model_options.items() if k in GenerateOptions.model_fields}
    if "rows" in common and not statement.database:
        raise SynthError("WITH (rows = {...}) sets per-table counts for FROM DATABASE or FROM (a, b, …); use ROWS <n> here")
    rest = {k: v for k, v in statement.model_options.items() if k not in common}
    allowed = sorted(set(GenerateOptions.model_fields) | set(model_options.model_fields if model_options else ()))
    unknown = [k for k in rest if not model_options or k not in model_options.model_fields]
    if unknown:
        model = statement.using or "the model"
        raise SynthError(f"unknown option {unknown[0]!r} for {model}; allowed options: {', '.join(allowed)}")
    options = validate_options(GenerateOptions, common)
    if options.replace and options.append:
        raise SynthError("options replace and append exclude each other")
    shared = {k: getattr(options, k) for k in ("seed", "device") if model_options and k in model_options.model_fields}
    # only what was set: a model applies its own defaults, some of which depend on others (DP ones under epsilon)
    checked = validate_options(model_options, {**rest, **shared}).model_dump(exclude_unset=True) \
        if model_options else {}
    return statement.model_copy(update={"options": options, "model_options": checked})


def validate_options(model: type[BaseModel], values: dict[str, Any]) -> BaseModel:
    try:
        return model(**values)
    except ValidationError as err:
        first = err.errors()[0]
        key = ".".join(str(p) for p in first["loc"])
        raise SynthError(f"option {key!r}: {first['msg']} (got {first.get('input')!r})") from None


def evaluate_statement(node: exp.Expression) -> EvaluateStatement:
    if node.args.get("schema"):
        names = {"synthetic_schema": node.this.name, "real_schema": node.args["real"].name}
    else:
        names = {"synthetic": table_ref(node.this), "real": table_ref(node.args["real"])}
    return EvaluateStatement(
        **names,
        holdout=table_ref(node.args.get("holdout")),
        target=_name(node.args.get("target")),
        into=table_ref(node.args.get("into")),
        options=raw_options(node),
    )
