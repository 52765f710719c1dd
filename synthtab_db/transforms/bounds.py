"""Simple per-column bounds read from CHECK constraints, ENUM labels and VARCHAR(n).

Schema-only generation needs something better than "any integer", and fitted
transforms clip to the same bounds so a model rarely proposes a row the engine
must reject.  Only conjuncts of the shape ``col <op> literal``, ``col BETWEEN a
AND b``, ``col IN (...)`` and ``length(col) <op> n`` are understood; anything
else (ORs, expressions over several columns) is left to the engine's SQL check.
Literals stay raw (numbers as int/float, everything else as its text); the
transform that uses a bound converts it into its own value space.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterator

import sqlglot
from sqlglot import exp

from synthtab_db.planner.schema import Column, Kind, Table

_FLIP = {exp.GT: exp.LT, exp.GTE: exp.LTE, exp.LT: exp.GT, exp.LTE: exp.GTE, exp.EQ: exp.EQ}


@dataclass(frozen=True)
class Bounds:
    """What a column's values must satisfy, as far as simple CHECKs say."""

    low: Any = None
    low_strict: bool = False
    high: Any = None
    high_strict: bool = False
    values: tuple[Any, ...] | None = None
    min_length: int | None = None
    max_length: int | None = None

    def merge(self, other: "Bounds") -> "Bounds":
        """Both bounds at once (the intersection)."""
        low, low_strict = _tighter(self.low, self.low_strict, other.low, other.low_strict, max)
        high, high_strict = _tighter(self.high, self.high_strict, other.high, other.high_strict, min)
        return Bounds(
            low=low, low_strict=low_strict, high=high, high_strict=high_strict,
            values=_intersect(self.values, other.values),
            min_length=_pick(self.min_length, other.min_length, max),
            max_length=_pick(self.max_length, other.max_length, min),
        )


def column_bounds(table: Table) -> dict[str, Bounds]:
    """Bounds for every column of ``table`` (an empty ``Bounds`` where nothing is known)."""
    found = {col.name: _type_bounds(col) for col in table.columns}
    by_lower = {name.lower(): name for name in found}
    for check in table.checks:
        for name, bounds in _check_bounds(check.sql):
            if name.lower() in by_lower:
                key = by_lower[name.lower()]
                found[key] = found[key].merge(bounds)
    return found


def _type_bounds(column: Column) -> Bounds:
    """What the declared type alone says: ENUM labels, VARCHAR(n)."""
    labels = column.type.enum_values if column.type.kind is Kind.ENUM else None
    return Bounds(values=tuple(labels) if labels else None, max_length=column.type.length)


def _check_bounds(sql: str) -> Iterator[tuple[str, Bounds]]:
    try:
        tree = sqlglot.parse_one(sql, dialect="duckdb")
    except sqlglot.errors.ParseError:
        return
    for conjunct in _conjuncts(tree):
        handler = _HANDLERS.get(type(conjunct))
        found = handler(conjunct) if handler else None
        if found:
            yield found


def _conjuncts(node: exp.Expression) -> Iterator[exp.Expression]:
    node = node.unnest()
    if isinstance(node, exp.And):
        for part in node.flatten():
            yield from _conjuncts(part)
    else:
        yield node


def _comparison(node: exp.Binary) -> tuple[str, Bounds] | None:
    """``col <op> lit`` or ``lit <op> col``, turned so the column is on the left."""
    op, left, right = type(node), node.this.unnest(), node.expression.unnest()
    if _literal(left) is not _NOT_LITERAL:
        op, left, right = _FLIP[op], right, left
    target, value = _target(left), _literal(right)
    if target is None or value is _NOT_LITERAL:
        return None
    name, is_length = target
    return name, (_length_bounds if is_length else _value_bounds)[op](value)


def _between(node: exp.Between) -> tuple[str, Bounds] | None:
    target, low, high = _target(node.this.unnest()), _literal(node.args["low"]), _literal(node.args["high"])
    if target is None or _NOT_LITERAL in (low, high):
        return None
    name, is_length = target
    if is_length:
        return name, Bounds(min_length=int(low), max_length=int(high))
    return name, Bounds(low=low, high=high)


def _in(node: exp.In) -> tuple[str, Bounds] | None:
    target = _target(node.this.unnest())
    values = tuple(_literal(item) for item in node.expressions)
    if target is None or target[1] or not values or _NOT_LITERAL in values:
        return None
    return target[0], Bounds(values=values)


_value_bounds: dict[type, Callable[[Any], Bounds]] = {
    exp.GT: lambda v: Bounds(low=v, low_strict=True),
    exp.GTE: lambda v: Bounds(low=v),
    exp.LT: lambda v: Bounds(high=v, high_strict=True),
    exp.LTE: lambda v: Bounds(high=v),
    exp.EQ: lambda v: Bounds(values=(v,)),
}
_length_bounds: dict[type, Callable[[Any], Bounds]] = {
    exp.GT: lambda v: Bounds(min_length=int(v) + 1),
    exp.GTE: lambda v: Bounds(min_length=int(v)),
    exp.LT: lambda v: Bounds(max_length=int(v) - 1),
    exp.LTE: lambda v: Bounds(max_length=int(v)),
    exp.EQ: lambda v: Bounds(min_length=int(v), max_length=int(v)),
}
_HANDLERS: dict[type, Callable[[Any], tuple[str, Bounds] | None]] = {
    **{op: _comparison for op in _FLIP}, exp.Between: _between, exp.In: _in,
}

_NOT_LITERAL = object()


def _target(node: exp.Expression) -> tuple[str, bool] | None:
    """(column name, whether it is the column's length) or None."""
    if isinstance(node, exp.Column):
        return node.name, False
    if isinstance(node, exp.Length) and isinstance(node.this, exp.Column):
        return node.this.name, True
    return None


def _literal(node: exp.Expression) -> Any:
    """A Python value for a literal (a cast literal keeps its text), else _NOT_LITERAL."""
    node = node.unnest()
    if isinstance(node, exp.Cast):
        node = node.this
    if isinstance(node, exp.Neg):
        value = _literal(node.this)
        return -value if isinstance(value, (int, float)) else _NOT_LITERAL
    if isinstance(node, exp.Boolean):
        return node.this
    if not isinstance(node, exp.Literal):
        return _NOT_LITERAL
    return node.this if node.is_string else _number(node.this)


def _number(text: str) -> int | float:
    try:
        return int(text)
    except ValueError:
        return float(text)


def _tighter(a: Any, a_strict: bool, b: Any, b_strict: bool, choose: Callable) -> tuple[Any, bool]:
    """The tighter of two one-sided bounds; on a tie, strict wins."""
    if a is None or b is None:
        return (a, a_strict) if b is None else (b, b_strict)
    try:
        best = choose(a, b)
    except TypeError:  # incomparable literals: keep the first, the SQL check still applies
        return a, a_strict
    if a == b:
        return a, a_strict or b_strict
    return best, a_strict if best == a else b_strict


def _pick(a: int | None, b: int | None, choose: Callable) -> int | None:
    return b if a is None else a if b is None else choose(a, b)


def _intersect(a: tuple | None, b: tuple | None) -> tuple | None:
    if a is None or b is None:
        return a if b is None else b
    keep = {_key(v) for v in b}
    return tuple(v for v in a if _key(v) in keep)


def _key(value: Any) -> str:
    """Compare set members as text, so 1 (literal) and '1' (ENUM label) meet."""
    return str(value)
