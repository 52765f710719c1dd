"""What a GENERATE statement resolves to: an immutable, serialisable plan of frozen steps.

The planner builds these values once; the engine only executes them, and an executor
elsewhere (Ray) can ship them as JSON (``GeneratePlan.model_dump_json``) and rebuild
them with ``GeneratePlan.model_validate_json``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from synthtab_db.planner.schema import Schema, Table, TableRef


class _Value(BaseModel):
    model_config = ConfigDict(frozen=True)


class RowRule(_Value):
    """How many rows a step makes, decided once here.

    ``fixed``: exactly ``rows`` (spread over the main parent's rows when there is one);
    ``per_parent``: as many as the learned children-per-parent counts give over the parents;
    ``source_scaled``: the learned source row count × ``scale`` (under DP the learned count
    is the released, noisy one, so it can only be read once the table has been learned).
    ``estimate`` is the planner's guess for EXPLAIN and the cost estimates.
    """

    kind: Literal["fixed", "per_parent", "source_scaled"]
    rows: int | None = None
    scale: float = 1.0
    estimate: int = 0
    why: str = ""

    def rows_for(self, source_rows: int) -> int | None:
        """The count to make given what was learned; None: follow the parents."""
        if self.kind == "fixed":
            return self.rows
        if self.kind == "per_parent":
            return None
        # a small lookup table scaled down still keeps one row: its children need a parent
        return max(1, round(source_rows * self.scale)) if source_rows else 0


class ParentLink(_Value):
    """One FK of a step: the source's parent it learns from, and the table its values are drawn from."""

    columns: tuple[str, ...]
    source: TableRef
    drawn_from: TableRef


class GenerateStep(_Value):
    """One table of a plan."""

    table: Table  # the source's shape (columns, keys, checks, FKs)
    source: TableRef
    target: TableRef
    rows: RowRule
    model: str
    model_options: dict[str, Any] = {}  # validated; under DP: this table's share of the budget
    parents: tuple[ParentLink, ...] = ()
    deferred: tuple[ParentLink, ...] = ()  # cycle FKs: NULL at insert, UPDATEd once every table exists
    main: tuple[str, ...] | None = None  # the FK whose parent fixes children-per-parent counts
    where: str | None = None
    append: bool = False
    synthesizer: str | None = None  # a stored synthesizer to load instead of learning
    seed: tuple[int, ...] | None = None  # this step's own random stream
    batch_size: int = 250_000
    train_rows: int | None = None  # the most rows the model learns from (None: all)
    source_rows: int = 0  # rows in the source (or learned by the stored synthesizer)
    note: str | None = None

    def parent_tables(self) -> dict[tuple[str, ...], TableRef]:
        return {p.columns: p.drawn_from for p in self.parents}

    def parent_sources(self) -> dict[tuple[str, ...], TableRef]:
        return {p.columns: p.source for p in self.parents}

    def deferred_tables(self) -> dict[tuple[str, ...], tuple[TableRef, TableRef]]:
        return {p.columns: (p.source, p.drawn_from) for p in self.deferred}


class GeneratePlan(_Value):
    """An ordered tuple of steps, parents first, plus what the statement as a whole asks."""

    form: Literal["table", "database", "synthesizer"]
    steps: tuple[GenerateStep, ...]
    replace: bool = False
    max_rounds: int = 10
    target_quality: float | None = None
    allow_non_private: bool = False
    source_schema: Schema | None = None  # the whole source schema: where a step's context chain is read
    generated: tuple[tuple[TableRef, TableRef], ...] = ()  # source -> target, this statement (FROM DATABASE)

    def generated_map(self) -> dict[tuple[str, str], TableRef]:
        return {source.key(): target for source, target in self.generated}


class StoredSynthesizer(_Value):
    """What the planner needs from a stored synthesizer (never its weights)."""

    name: str
    table: Table
    source_rows: int
    main: tuple[str, ...] | None = None


class PlanInputs(_Value):
    """Facts about the database, read by the engine and handed over as values:
    the planner itself never queries anything."""

    current_schema: str = "main"
    model: str = "copula"
    counts: dict[str, int] = {}  # str(TableRef) lower-cased -> rows
    existing: frozenset[str] = frozenset()  # targets that already exist, str(TableRef) lower-cased
    stored: StoredSynthesizer | None = None

    def count(self, ref: TableRef) -> int:
        return self.counts.get(count_key(ref), 0)

    def exists(self, ref: TableRef) -> bool:
        return count_key(ref) in self.existing


def count_key(ref: TableRef) -> str:
    """The key ``PlanInputs`` uses for a table: case-insensitive, schema-qualified."""
    return f"{(ref.schema or '').lower()}.{ref.name.lower()}"
