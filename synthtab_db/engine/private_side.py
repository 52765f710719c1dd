"""Under DP, what a table's generation learns besides its model, each a released statistic.

The same statistics the plain path learns (the row count, other FKs' counts and
NULL rates, self-reference NULL rates, sequence starts and gaps, inherited-key
agreement), read from a bounded copy of the source - at most
``max_rows_per_parent`` rows per main parent (``privacy.units``; a root table's
unit is its row) - and each passed through one Gaussian mechanism of the side
budget (``privacy.side_statistics``), which the model composes with its own.
Which releases run depends on the schema alone, so the reservation is made
before anything is read.  Keys come from the declared type (``keys.schema_key_generator``).
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa

from synthtab_db.engine import foreign_keys as fks
from synthtab_db.engine.inherited_keys import twins
from synthtab_db.engine.sequences import SequenceModel
from synthtab_db.planner.schema import ForeignKey, Kind, Schema, Table, TableRef
from synthtab_db.privacy import side_statistics
from synthtab_db.privacy.accountant import Gaussian
from synthtab_db.privacy.foreign_key_counts import release_fk_counts
from synthtab_db.privacy.plan import noise_seed
from synthtab_db.privacy.sequence_gaps import release_sequence
from synthtab_db.privacy.units import bound_contributions, unit_ids

BOUNDED = TableRef(name="__synthtab_dp_side")
WEIGHTS = {"rows": 4.0}  # a release's share of the side budget's precision (others weigh 1)
_MICROSECONDS_PER_DAY = 86_400_000_000


@dataclass
class PrivateSide:
    """The side releases of one DP table: their mechanisms, the bound per unit, the noise."""

    mechanisms: dict[tuple, Gaussian]
    contribution: int  # rows one unit may add (max_rows_per_parent for a child table, else 1)
    rows: int  # rows of the bounded copy
    rng: np.random.Generator

    @property
    def reserved(self) -> list[Gaussian]:
        return list(self.mechanisms.values())


def releases(schema: Schema | None, table: Table, main: ForeignKey | None, parent_sources: dict,
             sequence_col: str | None, deferred: tuple = ()) -> list[tuple]:
    """What is released, from the schema alone: one key per Gaussian mechanism (``deferred``:
    the columns of FKs a cycle fills after the insert)."""
    found: list[tuple] = [("rows",)]
    found += [("fk", cols) for cols in [*parent_sources, *deferred] if main is None or cols != main.columns]
    found += [("self", fk.columns) for fk in table.foreign_keys if table.is_self_reference(fk)]
    found += [("sequence",)] if sequence_col is not None else []
    found += [("inherit", fk.columns) for fk, _ in twins(schema, table, main, parent_sources)]
    return found


def open_side(con: duckdb.DuckDBPyConnection, data: pa.Table, table: Table, main: ForeignKey | None,
              keys: list[tuple], options: dict) -> PrivateSide:
    """Reserve the mechanisms and register the bounded copy as ``BOUNDED`` (``close_side`` drops it)."""
    cap = int(options.get("max_rows_per_parent", 8)) if main is not None else 1
    rng = np.random.default_rng([noise_seed(options), 11])
    units = unit_ids([data.column(c) for c in main.columns] if main is not None else None, data.num_rows)
    kept, _ = bound_contributions(units, cap, rng)
    reserved = side_statistics.reserve(options["epsilon"], options.get("delta"), data.num_rows,
                                       [WEIGHTS.get(key[0], 1.0) for key in keys])
    con.register(BOUNDED.name, data.select([c.name for c in table.columns]).take(pa.array(kept, pa.int64())))
    return PrivateSide(dict(zip(keys, reserved)), cap, int(kept.size), rng)


def close_side(con: duckdb.DuckDBPyConnection) -> None:
    con.unregister(BOUNDED.name)


def source_rows(side: PrivateSide) -> int:
    return side_statistics.release_count(side.rows, side.contribution, side.mechanisms[("rows",)], side.rng)


def sampler(con, side: PrivateSide, table: Table, parent: TableRef, fk: ForeignKey) -> fks.ForeignKeySampler:
    """A non-main FK's counts per parent and NULL rate, released."""
    learned = fks.ForeignKeySampler.learn(con, table, BOUNDED, parent, fk)
    null_rows = int(round(learned.null_rate * side.rows))
    learned.counts, learned.null_rate = release_fk_counts(
        learned.counts, null_rows, side.contribution, side.mechanisms[("fk", fk.columns)], side.rng)
    return learned


def self_null_rate(con, side: PrivateSide, fk: ForeignKey) -> float:
    """A self-reference's share of roots, released (0 when the noise swamps it: one tree)."""
    nulls = int(round(fks.learned_null_rate(con, BOUNDED, fk) * side.rows))
    rate = side_statistics.release_share(nulls, side.rows - nulls, side.contribution,
                                         side.mechanisms[("self", fk.columns)], side.rng)
    return 0.0 if rate is None else rate


def sequence(con, side: PrivateSide, source: TableRef, main: ForeignKey, column: str, kind: Kind) -> SequenceModel:
    """Starts and gaps from each parent's first rows in time order, released on fixed grids."""
    model = SequenceModel.learn(con, source, main, column, kind, per_parent=side.contribution)
    day = 1 if kind is Kind.DATE else _MICROSECONDS_PER_DAY
    model.starts, model.gaps = release_sequence(model.starts, model.gaps, day, side.contribution,
                                                side.mechanisms[("sequence",)], side.rng)
    return model


def agreement(side: PrivateSide):
    """``noisy`` for ``learn_inherited``: the share of rows copying their parent's key, released."""

    def noisy(columns: tuple[str, ...], agreeing: int, rows: int) -> float:
        rate = side_statistics.release_share(agreeing, rows - agreeing, side.contribution,
                                             side.mechanisms[("inherit", columns)], side.rng)
        return 0.0 if rate is None else rate

    return noisy
