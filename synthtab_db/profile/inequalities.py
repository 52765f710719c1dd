"""Orderings between columns stated by CHECK constraints: ``a <= b``, ``a < b``,
``b >= a``, ``x BETWEEN a AND b`` and sums (``a + b <= c``), read with sqlglot."""

from __future__ import annotations

from typing import Callable

import sqlglot
from sqlglot import exp

from synthtab_db.planner.schema import Table
from synthtab_db.profile.model import Inequality

Pair = tuple[exp.Expression, exp.Expression, bool]  # low, high, strict

#: comparison node -> (low, high, strict)
ORDERINGS: dict[type, Callable[[exp.Expression], list[Pair]]] = {
    exp.LTE: lambda n: [(n.this, n.expression, False)],
    exp.LT: lambda n: [(n.this, n.expression, True)],
    exp.GTE: lambda n: [(n.expression, n.this, False)],
    exp.GT: lambda n: [(n.expression, n.this, True)],
    exp.Between: lambda n: [(n.args["low"], n.this, False), (n.this, n.args["high"], False)],
}


def table_inequalities(table: Table) -> tuple[Inequality, ...]:
    found = []
    for check in table.checks:
        found += check_inequalities(check.sql, {c.name.lower(): c.name for c in table.columns})
    return tuple(found)


def check_inequalities(sql: str, columns: dict[str, str]) -> list[Inequality]:
    """The column orderings a CHECK's top-level AND terms state (others are left to the SQL check)."""
    try:
        tree = sqlglot.parse_one(sql, read="duckdb")
    except sqlglot.errors.ParseError:
        return []
    out = []
    for term in tree.flatten() if isinstance(tree, exp.And) else [tree]:
        for low, high, strict in ORDERINGS.get(type(term.unnest()), lambda n: [])(term.unnest()):
            sides = _columns(low, columns), _columns(high, columns)
            if all(sides) and 1 in (len(sides[0]), len(sides[1])):
                out.append(Inequality(low=sides[0], high=sides[1], strict=strict, check=sql))
    return out


def _columns(node: exp.Expression, columns: dict[str, str]) -> tuple[str, ...]:
    """The columns of ``a`` or ``a + b + …``; () for anything else."""
    node = node.unnest()
    if isinstance(node, exp.Column) and node.name.lower() in columns:
        return (columns[node.name.lower()],)
    if isinstance(node, exp.Add):
        left, right = _columns(node.this, columns), _columns(node.expression, columns)
        return left + right if left and right else ()
    return ()
