"""Verbatim copies per text column: synthetic values equal to a real value that fewer
than RARE_BELOW real rows hold (a rare name, email or note copied is a leak even when
the rest of its row is new).  The column's meaning (profile) is shown beside the count."""

from __future__ import annotations

from synthtab_db.catalog import read_schema
from synthtab_db.errors import SynthError
from synthtab_db.planner.schema import TableRef
from synthtab_db.profile import profile_from_data
from synthtab_db.profile.model import RARE_BELOW
from synthtab_db.quality.columns import ColumnSpec
from synthtab_db.quality.report import MetricRow
from synthtab_db.quality.sql import ident, scalars, table_sql

TEXT_KINDS = ("string", "text_length")


def verbatim_copies(con, specs: list[ColumnSpec], synthetic: TableRef, real: TableRef) -> list[MetricRow]:
    text = [s for s in specs if s.kind in TEXT_KINDS]
    meanings = real_meanings(con, real) if text else {}
    return [_copies(con, s, synthetic, real, meanings.get(s.name, "value")) for s in text]


def real_meanings(con, real: TableRef) -> dict[str, str]:
    """Column -> meaning from the real table's profile ({} for a table the catalog can't describe)."""
    try:
        table = read_schema(con, real.schema).table(real)
    except (KeyError, SynthError):
        return {}
    return {c.name: c.meaning for c in profile_from_data(con, table, table.ref).columns}


def _copies(con, spec: ColumnSpec, synthetic: TableRef, real: TableRef, meaning: str) -> MetricRow:
    sql = (f"SELECT count(*) FROM {table_sql(synthetic)} WHERE CAST({ident(spec.synthetic_name)} AS VARCHAR) IN "
           f"(SELECT CAST({ident(spec.name)} AS VARCHAR) FROM {table_sql(real)} WHERE {ident(spec.name)} IS NOT NULL "
           f"GROUP BY ALL HAVING count(*) < {RARE_BELOW})")
    return MetricRow("privacy", "verbatim_rare_copies", float(scalars(con, sql)[0]), spec.name,
                     {"rare_below_rows": RARE_BELOW, "meaning": meaning})
