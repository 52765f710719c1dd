"""Models learn from at most ``train_rows`` source rows: a seeded DuckDB reservoir sample.

Reading a 100M-row table into Python to fit a model is what made learning slow and
memory-bound; a model's per-column shapes and dependencies are learned as well from
a sample of a few hundred thousand rows (docs/scale.md has the curve).  What must be
exact does not come from the sample: the row count, children per parent, FK NULL
rates and the key range are SQL aggregates over the whole table.

Under DP the whole table is read, as before: a sample drawn with a public seed is
not a randomisation the accountant may count on (a neighbouring table can shift
which other rows a seeded reservoir keeps), so no sample is taken and no
amplification is claimed.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pyarrow as pa

from synthtab_db.duck import first_row
from synthtab_db.sqlbuild import quote

TRAIN_ROWS = 200_000  # default of the train_rows option: Adult's quality has long flattened by then


@dataclass(frozen=True)
class TrainingRows:
    data: pa.Table
    source_rows: int  # the whole table's count (exact, by SQL)
    note: str | None = None  # what the result should say when a sample was used


def training_rows(con: duckdb.DuckDBPyConnection, query: str, options: dict) -> TrainingRows:
    """The rows a model fits on: all of ``query``'s rows, or a seeded sample of ``train_rows``."""
    total = first_row(con, f"SELECT count(*) FROM ({query})")[0]
    limit = int(options.get("train_rows") or TRAIN_ROWS)
    if total <= limit or options.get("epsilon") is not None:
        return TrainingRows(con.sql(query).to_arrow_table(), total)
    return TrainingRows(con.sql(sample_sql(query, limit, options.get("seed"))).to_arrow_table(), total,
                        f"learned from a seeded sample of {limit:,} of {total:,} source rows "
                        "(train_rows; counts, children per parent and key ranges are exact)")


def sample_sql(query: str, rows: int, seed: int | None) -> str:
    """A reservoir sample of ``rows`` rows; the same seed draws the same rows."""
    repeatable = "" if seed is None else f" REPEATABLE ({int(seed) % 2**31})"
    return f"SELECT * FROM ({query}) USING SAMPLE reservoir({int(rows)} ROWS){repeatable}"


def with_key_range(con: duckdb.DuckDBPyConnection, source_sql: str, column: str, values: pa.ChunkedArray
                   ) -> pa.ChunkedArray:
    """A sample's keys plus the whole table's smallest and largest, so a key generator fitted
    on the sample starts (and is shaped) where the source's keys are."""
    name = quote(column)
    ends = con.sql(f"SELECT min({name}) AS v FROM {source_sql} UNION ALL SELECT max({name}) FROM {source_sql}"
                   ).to_arrow_table().column("v")
    return pa.chunked_array(values.chunks + ends.cast(values.type).chunks, type=values.type)
