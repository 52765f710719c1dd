"""The foreign-key graph: one node per table, an edge parent -> child per referencing
pair, carrying the FKs behind it. Parents come before children in every load order,
so this graph is what the plan sorts and what decides which tables a request needs.
"""

from __future__ import annotations

from typing import Iterable

import networkx as nx

from synthtab_db.errors import SynthError
from synthtab_db.planner.schema import ForeignKey, Schema, Table, TableRef


def fk_graph(schema: Schema, tables: Iterable[TableRef] | None = None) -> nx.DiGraph:
    """Edges ``parent -> child`` with ``fks`` (tuple of ForeignKey); self-references are
    self-loops. Parents outside ``tables`` are left out: they are taken as existing."""
    refs = [resolve_table(schema, r) for r in tables] if tables is not None else _all(schema)
    graph = nx.DiGraph()
    graph.add_nodes_from(refs)
    for child in refs:
        for fk in schema.table(child).foreign_keys:
            parent = parent_ref(schema, fk)
            if parent in graph:
                _add_fk(graph, parent, child, fk)
    return graph


def _all(schema: Schema) -> list[TableRef]:
    return [t.ref for t in schema.tables]


def _add_fk(graph: nx.DiGraph, parent: TableRef, child: TableRef, fk: ForeignKey) -> None:
    if graph.has_edge(parent, child):
        graph[parent][child]["fks"] += (fk,)
    else:
        graph.add_edge(parent, child, fks=(fk,))


def parent_ref(schema: Schema, fk: ForeignKey) -> TableRef:
    """The parent's ref as the schema spells it, so it can serve as a graph node."""
    return schema.table(fk.ref_table).ref if schema.has_table(fk.ref_table) else fk.ref_table


def resolve_table(schema: Schema, ref: TableRef | str) -> TableRef:
    try:
        return schema.table(ref).ref
    except KeyError as err:
        raise SynthError(err.args[0]) from err


def close_under_parents(schema: Schema, tables: Iterable[TableRef | str]) -> list[TableRef]:
    """``tables`` plus every table they reference, directly or not, in schema order:
    generating a child needs its parents generated first."""
    graph = fk_graph(schema)
    wanted = {resolve_table(schema, r) for r in tables}
    for ref in list(wanted):
        wanted |= nx.ancestors(graph, ref)
    return [t.ref for t in schema.tables if t.ref in wanted]


def is_deferrable(table: Table, fk: ForeignKey) -> bool:
    """An FK can be written as NULL first and filled in later only if all its columns
    accept NULL."""
    return all(table.column(c).nullable for c in fk.columns)


def sort_key(ref: TableRef) -> tuple[str, str]:
    """Tables sort by name, then schema: the tie-break that makes plans deterministic."""
    return (ref.name.lower(), (ref.schema or "").lower())
