"""The Plan: which tables to generate, in which order, and which foreign keys can only
be filled in after the fact.

Order is parents first. Self-references stay on their table (the engine inserts
those rows level by level). A cycle between tables is broken at a nullable FK: that
FK is generated as NULL and set by an UPDATE once its parent exists. A cycle made
only of NOT NULL FKs cannot be loaded at all and is refused up front. Ties are broken
by table name, so the same schema always gives the same plan.
"""

from __future__ import annotations

import networkx as nx
from pydantic import BaseModel, ConfigDict

from synthtab_db.errors import SynthError
from synthtab_db.planner.graph import (
    close_under_parents,
    fk_graph,
    is_deferrable,
    parent_ref,
    sort_key,
)
from synthtab_db.planner.schema import ForeignKey, Schema, Table, TableRef

__all__ = ["Plan", "TableStep", "build_plan", "close_under_parents"]


class TableStep(BaseModel):
    model_config = ConfigDict(frozen=True)

    table: TableRef
    parents: tuple[TableRef, ...] = ()  # other tables it references, in FK order
    self_references: tuple[ForeignKey, ...] = ()
    deferred: tuple[ForeignKey, ...] = ()  # NULL at insert, UPDATEd once the parent exists


class Plan(BaseModel):
    model_config = ConfigDict(frozen=True)

    steps: tuple[TableStep, ...] = ()

    @property
    def tables(self) -> tuple[TableRef, ...]:
        return tuple(s.table for s in self.steps)

    def step(self, ref: TableRef) -> TableStep:
        for step in self.steps:
            if step.table.key() == ref.key():
                return step
        raise KeyError(f"table {ref} is not in the plan")


def build_plan(schema: Schema, tables: list[TableRef] | None = None) -> Plan:
    """A plan for ``tables`` (default: every table); parents outside it are taken as
    already loaded (use ``close_under_parents`` to include them)."""
    graph = fk_graph(schema, tables)
    _refuse_not_null_self_references(schema, graph)
    dag = _without_self_loops(graph)
    deferred = _break_cycles(schema, dag)
    order = nx.lexicographical_topological_sort(dag, key=sort_key)
    return Plan(steps=tuple(_step(schema, ref, deferred.get(ref, ())) for ref in order))


def _without_self_loops(graph: nx.DiGraph) -> nx.DiGraph:
    dag = graph.copy()
    dag.remove_edges_from(list(nx.selfloop_edges(dag)))
    return dag


def _refuse_not_null_self_references(schema: Schema, graph: nx.DiGraph) -> None:
    """DuckDB checks an FK before the row itself exists: a row cannot reference itself."""
    for ref, _ in nx.selfloop_edges(graph):
        table = schema.table(ref)
        if not all(is_deferrable(table, fk) for fk in graph[ref][ref]["fks"]):
            raise _cycle_error([ref])


# -- cycles -------------------------------------------------------------------------


def _break_cycles(schema: Schema, dag: nx.DiGraph) -> dict[TableRef, tuple[ForeignKey, ...]]:
    """Removes one nullable edge per remaining cycle from ``dag``, until none is left."""
    deferred: dict[TableRef, tuple[ForeignKey, ...]] = {}
    condensed = nx.condensation(dag)
    for component in condensed.nodes:
        members = condensed.nodes[component]["members"]
        if len(members) > 1:
            _break_component(schema, dag, members, deferred)
    return deferred


def _break_component(schema: Schema, dag: nx.DiGraph, members, deferred: dict) -> None:
    sub = dag.subgraph(members).copy()
    while (cycle := _first_cycle(sub)) is not None:
        parent, child = _edge_to_defer(schema, sub, cycle)
        deferred[child] = deferred.get(child, ()) + sub[parent][child]["fks"]
        sub.remove_edge(parent, child)
        dag.remove_edge(parent, child)


def _first_cycle(graph: nx.DiGraph) -> list[TableRef] | None:
    """The smallest cycle by name, each rotated to start at its smallest table."""
    cycles = [_rotated(c) for c in nx.simple_cycles(graph)]
    return min(cycles, key=lambda c: (len(c), [sort_key(r) for r in c]), default=None)


def _rotated(cycle: list[TableRef]) -> list[TableRef]:
    start = cycle.index(min(cycle, key=sort_key))
    return cycle[start:] + cycle[:start]


def _edge_to_defer(schema: Schema, graph: nx.DiGraph, cycle: list[TableRef]) -> tuple:
    """The first edge of the cycle whose FKs are all nullable on the child."""
    for parent, child in zip(cycle, cycle[1:] + cycle[:1]):
        table = schema.table(child)
        if all(is_deferrable(table, fk) for fk in graph[parent][child]["fks"]):
            return parent, child
    raise _cycle_error(cycle)


def _cycle_error(cycle: list[TableRef]) -> SynthError:
    path = " -> ".join(str(r) for r in cycle + cycle[:1])
    return SynthError(f"FK cycle {path} has no nullable foreign key to break it")


# -- steps --------------------------------------------------------------------------


def _step(schema: Schema, ref: TableRef, deferred: tuple[ForeignKey, ...]) -> TableStep:
    table = schema.table(ref)
    own = [fk for fk in table.foreign_keys if parent_ref(schema, fk) == ref]
    return TableStep(
        table=ref,
        parents=_parents(schema, table),
        self_references=tuple(own),
        deferred=deferred,
    )


def _parents(schema: Schema, table: Table) -> tuple[TableRef, ...]:
    refs = (parent_ref(schema, fk) for fk in table.foreign_keys)
    return tuple(dict.fromkeys(r for r in refs if r != table.ref))
