"""WHERE conditions of a GENERATE, as data a model can condition on.

Supported: an AND of per-column predicates — ``col = v``, ``col IN (…)``,
``col > / >= / < / <= v``, ``col BETWEEN a AND b``, ``col IS NULL``.  Models that
sample conditionally (``supports_conditions``) get one Condition per column;
every model's output is still checked against the WHERE in SQL.
"""

from __future__ import annotations

from typing import Any, Callable

import sqlglot
from pydantic import BaseModel, ConfigDict
from sqlglot import exp

from synthtab_db.errors import SynthError


class Condition(BaseModel):
    """Allowed values of one column: a set (``values``), a range, or NULL only."""

    model_config = ConfigDict(frozen=True)

    column: str
    values: tuple[Any, ...] | None = None
    low: Any = None
    low_inclusive: bool = True
    high: Any = None
    high_inclusive: bool = True
    is_null: bool = False

    def merge(self, other: "Condition") -> "Condition":
        """Both must hold (col >= 1 AND col < 5)."""
        data = self.model_dump()
        for key, value in other.model_dump().items():
            if key != "column" and value not in (None, True, False) or (key == "is_null" and value):
                data[key] = value
        if other.low is not None:
            data["low_inclusive"] = other.low_inclusive
        if other.high is not None:
            data["high_inclusive"] = other.high_inclusive
        return Condition(**data)


def _value(node: exp.Expression) -> Any:
    if isinstance(node, exp.Neg):
        return -_value(node.this)
    if isinstance(node, exp.Literal):
        return node.this if node.is_string else float(node.this) if "." in node.this else int(node.this)
    if isinstance(node, exp.Boolean):
        return node.this
    if isinstance(node, exp.Cast):
        return _value(node.this)
    raise SynthError(f"WHERE values must be literals, not {node.sql('duckdb')!r}")


def _column(node: exp.Expression) -> str:
    if not isinstance(node, exp.Column):
        raise SynthError(f"WHERE compares a column with literals; got {node.sql('duckdb')!r}")
    return node.name


def _range(op: str) -> Callable[[exp.Expression], Condition]:
    def build(node: exp.Expression) -> Condition:
        col, value = _column(node.this), _value(node.expression)
        side = {"gt": ("low", False), "gte": ("low", True), "lt": ("high", False), "lte": ("high", True)}[op]
        return Condition(column=col, **{side[0]: value, f"{side[0]}_inclusive": side[1]})

    return build


_PREDICATES: dict[type[exp.Expression], Callable[[exp.Expression], Condition]] = {
    exp.EQ: lambda n: Condition(column=_column(n.this), values=(_value(n.expression),)),
    exp.In: lambda n: Condition(column=_column(n.this), values=tuple(_value(v) for v in n.expressions)),
    exp.GT: _range("gt"),
    exp.GTE: _range("gte"),
    exp.LT: _range("lt"),
    exp.LTE: _range("lte"),
    exp.Between: lambda n: Condition(column=_column(n.this), low=_value(n.args["low"]), high=_value(n.args["high"])),
    exp.Is: lambda n: Condition(column=_column(n.this), is_null=True),
}


def _conjuncts(node: exp.Expression) -> list[exp.Expression]:
    if isinstance(node, exp.Paren):
        return _conjuncts(node.this)
    if isinstance(node, exp.And):
        return _conjuncts(node.this) + _conjuncts(node.expression)
    return [node]


def parse_conditions(where_sql: str) -> dict[str, Condition]:
    """One Condition per column; raises SynthError for what can't be conditioned on."""
    out: dict[str, Condition] = {}
    for node in _conjuncts(sqlglot.parse_one(where_sql, read="duckdb")):
        build = _PREDICATES.get(type(node))
        if build is None:
            raise SynthError(
                f"WHERE {node.sql('duckdb')!r} can't be conditioned on: use =, IN, <, <=, >, >=, BETWEEN, IS NULL joined by AND"
            )
        condition = build(node)
        key = condition.column.lower()
        out[key] = out[key].merge(condition) if key in out else condition
    return out
