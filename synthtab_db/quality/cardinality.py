"""Multi-table fidelity per foreign-key edge, in SQL over the full tables:
how many children each parent has (real vs synthetic, KS) and whether every
synthetic child points at an existing parent (orphans)."""

from __future__ import annotations

from synthtab_db.planner.schema import ForeignKey, Table, TableRef
from synthtab_db.quality import distributions as dist
from synthtab_db.quality.report import MetricRow
from synthtab_db.quality.sql import ident, scalars, table_sql


def edge_name(table: Table, fk: ForeignKey) -> str:
    return f"{table.name}({', '.join(fk.columns)}) -> {fk.ref_table.name}({', '.join(fk.ref_columns)})"


def _join(fk: ForeignKey) -> str:
    return " AND ".join(f"c.{ident(a)} = p.{ident(b)}" for a, b in zip(fk.columns, fk.ref_columns))


def children_per_parent_sql(child: TableRef, parent: TableRef, fk: ForeignKey) -> str:
    """One row per parent: its number of children (parents without children count 0)."""
    keys = ", ".join(f"p.{ident(c)}" for c in fk.ref_columns)
    return (
        f"SELECT CAST(count(c.{ident(fk.columns[0])}) AS DOUBLE) AS x FROM {table_sql(parent)} p "
        f"LEFT JOIN {table_sql(child)} c ON {_join(fk)} GROUP BY {keys}"
    )


def orphans(con, child: TableRef, parent: TableRef, fk: ForeignKey) -> tuple[int, int]:
    """(children with a non-NULL key, those whose parent row does not exist)."""
    present = " AND ".join(f"c.{ident(a)} IS NOT NULL" for a in fk.columns)
    return scalars(
        con,
        f"SELECT count(*), count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM {table_sql(parent)} p WHERE {_join(fk)})) "
        f"FROM {table_sql(child)} c WHERE {present}",
    )


def edge_metrics(con, table: Table, fk: ForeignKey, synthetic_schema: str) -> list[MetricRow]:
    name = edge_name(table, fk)
    syn_child = TableRef(name=table.name, schema=synthetic_schema)
    syn_parent = TableRef(name=fk.ref_table.name, schema=synthetic_schema)
    real_counts = children_per_parent_sql(table.ref, fk.ref_table, fk)
    syn_counts = children_per_parent_sql(syn_child, syn_parent, fk)
    ks, w1 = dist.ks_wasserstein(con, real_counts, syn_counts)
    means = scalars(con, f"SELECT (SELECT avg(x) FROM ({real_counts})), (SELECT avg(x) FROM ({syn_counts}))")
    keyed, lost = orphans(con, syn_child, syn_parent, fk)
    real_keyed, real_lost = orphans(con, table.ref, fk.ref_table, fk)
    return [
        MetricRow(
            "cardinality",
            "children_per_parent_ks",
            ks,
            name,
            {"wasserstein": w1, "real_mean": means[0], "synthetic_mean": means[1]},
        ),
        MetricRow(
            "integrity",
            "fk_orphans",
            float(lost),
            name,
            {"children_with_key": keyed, "share": lost / keyed if keyed else 0.0, "real_orphans": real_lost},
        ),
    ]


def schema_edges(con, tables: list[Table], synthetic_tables: set[str], synthetic_schema: str) -> list[MetricRow]:
    """Every FK edge whose child and parent both have a synthetic counterpart."""
    rows = []
    for table in tables:
        for fk in table.foreign_keys:
            if {table.name.lower(), fk.ref_table.name.lower()} <= synthetic_tables:
                rows += edge_metrics(con, table, fk, synthetic_schema)
    return rows
