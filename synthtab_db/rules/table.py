"""A table's rules, learned from its profile and source rows, applied around the model.

``to_model`` turns source rows into what the model learns (gaps instead of
ordered columns); the model never sees derived columns, functional dependents or
strings made by shape.  ``from_model`` turns a sampled batch back into rows:
ordered columns rebuilt, derived ones recomputed, dependents looked up, formatted
and personal strings made by shape, values put back on their grain and precision.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import sqlglot
from sqlglot import exp

from synthtab_db.planner.schema import Table
from synthtab_db.profile.model import TableProfile
from synthtab_db.rules import gaps as gap_rules
from synthtab_db.rules import lookup
from synthtab_db.rules.derive import recompute
from synthtab_db.rules.personal import learn_hints, not_allowed
from synthtab_db.rules.rare import REMAKE_ROUNDS
from synthtab_db.rules.rounding import round_column
from synthtab_db.rules.values import make_values, replace_where
from synthtab_db.transforms.codecs import arrow_type


@dataclass
class TableRules:
    profile: TableProfile
    gaps: tuple[gap_rules.Gap, ...] = ()
    mappings: dict[str, tuple[str, pa.Table]] = field(default_factory=dict)  # column -> (determinant, A->B)
    hints: dict[str, dict] = field(default_factory=dict)  # string columns made or guarded -> what they may reuse
    shaped: tuple[str, ...] = ()  # made by shape, not modelled
    guarded: tuple[str, ...] = ()  # modelled; values rarer than RARE_BELOW rows made anew

    # -- learning --------------------------------------------------------------------
    @staticmethod
    def learn(profile: TableProfile, table: Table, data: pa.Table, free: tuple[str, ...]) -> "TableRules":
        """Rules for the ``free`` (model) columns of ``table``, fitted on the source ``data``."""
        derived = tuple(d for d in profile.derived if d.column in free)
        deps = [d for d in profile.dependencies if d.column in free and d.determinant in data.column_names]
        shaped = tuple(c.name for c in profile.columns if c.by_shape and c.name in free)
        guarded = tuple(c.name for c in profile.columns if c.personal and not c.by_shape and c.name in free)
        taken = {d.column for d in derived} | {d.column for d in deps} | set(shaped)
        rest = {c for c in free if c not in taken}
        return TableRules(
            profile=profile.model_copy(update={"derived": derived, "dependencies": tuple(deps)}),
            gaps=gap_rules.plan_gaps(table, profile.inequalities, rest,
                                      gap_rules.spreads(data, table, profile.inequalities)),
            mappings={d.column: (d.determinant, lookup.learn_mapping(data, d.determinant, d.column)) for d in deps},
            hints={c: learn_hints(data.column(c) if c in data.column_names else pa.array([], pa.string()),
                                  profile.column(c)) for c in shaped + guarded},
            shaped=shaped, guarded=guarded,
        )

    def unmodelled(self) -> set[str]:
        return {d.column for d in self.profile.derived} | set(self.mappings) | set(self.shaped)

    def streamed(self, table: Table, model_columns: tuple[str, ...]) -> list[str]:
        """The columns a synthesizer's table function returns: the model's and those the rules make."""
        made = set(model_columns) | self.unmodelled()
        return [c.name for c in table.columns if c.name in made]

    def reads(self) -> set[str]:
        """Model columns whose sampled values ``from_model`` reads or replaces (they must come as
        plain Arrow values, not dictionary-encoded)."""
        derived = {s for d in self.profile.derived for s in d.sources}
        determinants = {d for d, _ in self.mappings.values()}
        return derived | determinants | set(self.shaped) | set(self.guarded) | {g.column for g in self.gaps}

    def model_columns(self, free: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(c for c in free if c not in self.unmodelled())

    def to_model(self, data: pa.Table, table: Table) -> pa.Table:
        return gap_rules.to_gaps(data, table, self.gaps) if self.gaps else data

    def model_table(self, table: Table) -> Table:
        """The schema the model sees: gap columns as numbers, no CHECK on a rebuilt column."""
        changed = {g.column for g in self.gaps}
        if not changed:
            return table
        columns = tuple(c.model_copy(update={"type": gap_rules.gap_type(c)}) if c.name in changed else c
                        for c in table.columns)
        checks = tuple(c for c in table.checks if not changed.intersection(_check_columns(c.sql)))
        return table.model_copy(update={"columns": columns, "checks": checks})

    # -- generation ------------------------------------------------------------------
    def from_model(self, columns: dict[str, pa.Array], table: Table, n: int, rng: np.random.Generator,
                   rare: dict[str, pa.Array] | None = None) -> dict[str, pa.Array]:
        """Rows from a sampled batch; ``rare``: the source's rare personal values (``rules.rare``),
        never to be emitted."""
        out = self._round(columns)
        out = self._round(gap_rules.from_gaps(out, table, self.gaps)) if self.gaps else out
        out = self._derived(out, table, n, rng)
        out = self._made(out, n, rng)
        for column, values in (rare or {}).items():
            out[column] = self._avoid(column, out[column], values, rng)
        return out

    def _derived(self, out: dict[str, pa.Array], table: Table, n: int,
                 rng: np.random.Generator) -> dict[str, pa.Array]:
        """Derived columns recomputed, dependents looked up (NULL where a source is not in the batch)."""
        out = recompute(out, table, tuple(d for d in self.profile.derived if set(d.sources) <= set(out)))
        for column, (determinant, mapping) in self.mappings.items():
            fallback = out.get(column, lookup.any_of(mapping, n, rng))  # for an A the source never had
            out[column] = lookup.look_up(mapping, out[determinant], fallback) if determinant in out else fallback
        out.update({d.column: pa.nulls(n, arrow_type(table.column(d.column).type))
                    for d in self.profile.derived if d.column not in out})
        return out

    def _made(self, out: dict[str, pa.Array], n: int, rng: np.random.Generator) -> dict[str, pa.Array]:
        """Shaped columns made; guarded ones keep only values many source rows share."""
        for column in self.shaped:
            out[column] = make_values(self.profile.column(column).meaning, n, rng, self.hints[column])
        for column in self.guarded:
            values, hints = out[column], self.hints[column]
            out[column] = replace_where(values, not_allowed(values, hints), self.profile.column(column).meaning,
                                        rng, hints)
        return out

    def personal_columns(self) -> tuple[str, ...]:
        return self.shaped + self.guarded

    def _avoid(self, column: str, values: pa.Array, rare: pa.Array, rng: np.random.Generator) -> pa.Array:
        """Values made again while any equals a rare source value."""
        meaning = self.profile.column(column).meaning
        for _ in range(REMAKE_ROUNDS):
            hit = pc.fill_null(pc.is_in(pc.cast(values, pa.string()), value_set=rare), False)
            if not pc.any(hit).as_py():
                break
            values = replace_where(values, hit.to_numpy(zero_copy_only=False), meaning, rng, self.hints[column])
        return values

    def _round(self, columns: dict[str, pa.Array]) -> dict[str, pa.Array]:
        """Values on the source's grain and precision (before anything is computed from them)."""
        return {name: _rounded(values, self.profile, name) for name, values in columns.items()}

    # -- storage ---------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {
            "profile": self.profile.model_dump(mode="json"),
            "gaps": [g.to_dict() for g in self.gaps],
            "mappings": {c: [d, lookup.dump_mapping(m)] for c, (d, m) in self.mappings.items()},
            "hints": self.hints, "shaped": list(self.shaped), "guarded": list(self.guarded),
        }

    @staticmethod
    def from_dict(data: dict) -> "TableRules":
        return TableRules(
            profile=TableProfile.model_validate(data["profile"]),
            gaps=tuple(gap_rules.Gap.from_dict(g) for g in data["gaps"]),
            mappings={c: (d, lookup.load_mapping(m)) for c, (d, m) in data["mappings"].items()},
            hints=data["hints"], shaped=tuple(data["shaped"]), guarded=tuple(data["guarded"]),
        )


def _rounded(values: pa.Array, profile: TableProfile, name: str) -> pa.Array:
    column = profile.column(name)
    if column.grain is None and column.precision is None:
        return values
    return round_column(pa.chunked_array([values]).combine_chunks() if isinstance(values, pa.ChunkedArray)
                        else values, column)


def _check_columns(sql: str) -> set[str]:
    try:
        return {c.name for c in sqlglot.parse_one(sql, read="duckdb").find_all(exp.Column)}
    except sqlglot.errors.ParseError:
        return set()
