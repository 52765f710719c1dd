"""Column types: a sqlglot DataType (from DDL) or a DuckDB type string (from the
catalog) reduced to one ``ColumnType``.

Both paths go through ``column_type_from_sqlglot`` so that the DDL reader and the
catalog reader cannot drift apart: the same column gets the same ``kind`` and the
same ``sql`` (DuckDB's own spelling, the one ``CAST(x AS <sql>)`` accepts), whichever
way it was read. Adding a type is one entry in ``_SCALARS``, or one handler in
``_PARAMETRIC`` when the type carries parameters.
"""

from __future__ import annotations

import functools
from typing import Callable, NamedTuple

from sqlglot import exp

from synthtab_db.errors import SynthError
from synthtab_db.planner.schema import ColumnType, Kind

T = exp.DataType.Type

# DuckDB's DECIMAL without parameters; NUMERIC(p) means scale 0.
DEFAULT_DECIMAL = (18, 3)


class UnsupportedType(SynthError):
    """A type the generators cannot produce; callers add the table and column."""


class _Scalar(NamedTuple):
    kind: Kind
    sql: str
    bits: int | None = None


def _ints(*entries: tuple[T, str, int]) -> dict[T, _Scalar]:
    return {t: _Scalar(Kind.INTEGER, sql, bits) for t, sql, bits in entries}


_SCALARS: dict[T, _Scalar] = {
    **_ints(
        (T.TINYINT, "TINYINT", 8),
        (T.SMALLINT, "SMALLINT", 16),
        (T.INT, "INTEGER", 32),
        (T.BIGINT, "BIGINT", 64),
        (T.INT128, "HUGEINT", 128),
        (T.UTINYINT, "UTINYINT", 8),
        (T.USMALLINT, "USMALLINT", 16),
        (T.UINT, "UINTEGER", 32),
        (T.UBIGINT, "UBIGINT", 64),
        (T.UINT128, "UHUGEINT", 128),
        # PostgreSQL's serials are plain integers once the sequence default is gone.
        (T.SMALLSERIAL, "SMALLINT", 16),
        (T.SERIAL, "INTEGER", 32),
        (T.BIGSERIAL, "BIGINT", 64),
    ),
    T.FLOAT: _Scalar(Kind.FLOAT, "FLOAT"),
    T.DOUBLE: _Scalar(Kind.FLOAT, "DOUBLE"),
    T.BOOLEAN: _Scalar(Kind.BOOLEAN, "BOOLEAN"),
    T.DATE: _Scalar(Kind.DATE, "DATE"),
    T.TIME: _Scalar(Kind.TIME, "TIME"),
    T.TIMETZ: _Scalar(Kind.TIME, "TIME WITH TIME ZONE"),
    T.TIMESTAMP: _Scalar(Kind.TIMESTAMP, "TIMESTAMP"),
    T.TIMESTAMPNTZ: _Scalar(Kind.TIMESTAMP, "TIMESTAMP"),
    T.TIMESTAMP_S: _Scalar(Kind.TIMESTAMP, "TIMESTAMP_S"),
    T.TIMESTAMP_MS: _Scalar(Kind.TIMESTAMP, "TIMESTAMP_MS"),
    T.TIMESTAMP_NS: _Scalar(Kind.TIMESTAMP, "TIMESTAMP_NS"),
    T.TIMESTAMPTZ: _Scalar(Kind.TIMESTAMPTZ, "TIMESTAMP WITH TIME ZONE"),
    T.INTERVAL: _Scalar(Kind.INTERVAL, "INTERVAL"),
    T.UUID: _Scalar(Kind.UUID, "UUID"),
    T.VARBINARY: _Scalar(Kind.BLOB, "BLOB"),
    T.BINARY: _Scalar(Kind.BLOB, "BLOB"),
    T.BLOB: _Scalar(Kind.BLOB, "BLOB"),
    T.JSON: _Scalar(Kind.JSON, "JSON"),
    T.JSONB: _Scalar(Kind.JSON, "JSON"),
}

Enums = dict[str, tuple[str, ...]]
_Handler = Callable[[exp.DataType, Enums], ColumnType]


def column_type_from_sqlglot(dt: exp.DataType, enums: Enums | None = None) -> ColumnType:
    """``enums`` maps lower-cased type names (``CREATE TYPE … AS ENUM``) to labels."""
    handler = _PARAMETRIC.get(dt.this)
    if handler is not None:
        return handler(dt, enums or {})
    scalar = _SCALARS.get(dt.this)
    if scalar is None:
        raise UnsupportedType(f"unsupported type {dt.sql(dialect='duckdb')}")
    return ColumnType(kind=scalar.kind, sql=scalar.sql, bits=scalar.bits)


@functools.lru_cache(maxsize=4096)
def column_type_from_duckdb(type_text: str) -> ColumnType:
    """Read a ``duckdb_columns().data_type`` string, e.g. ``DECIMAL(4,2)``.  Cached (types are
    frozen): parsing each column's type with sqlglot was a fifth of a statement's fixed cost."""
    try:
        dt = exp.DataType.build(type_text, dialect="duckdb")
    except Exception as err:  # sqlglot raises several error types here
        raise UnsupportedType(f"unsupported type {type_text}") from err
    return column_type_from_sqlglot(dt)


def _params(dt: exp.DataType) -> list[int]:
    return [int(p.this.this) for p in dt.expressions if isinstance(p, exp.DataTypeParam)]


def _string(dt: exp.DataType, enums: Enums) -> ColumnType:
    """DuckDB has one string type; the declared length is kept for the length check."""
    params = _params(dt)
    return ColumnType(kind=Kind.STRING, sql="VARCHAR", length=params[0] if params else None)


def _decimal(dt: exp.DataType, enums: Enums) -> ColumnType:
    params = _params(dt)
    precision, scale = (params + [0])[:2] if params else DEFAULT_DECIMAL
    return ColumnType(
        kind=Kind.DECIMAL, sql=f"DECIMAL({precision},{scale})", precision=precision, scale=scale
    )


def _array(dt: exp.DataType, enums: Enums) -> ColumnType:
    element = column_type_from_sqlglot(dt.expressions[0], enums)
    size = dt.args.get("values") or []
    suffix = f"[{size[0].name}]" if size else "[]"
    return ColumnType(kind=Kind.LIST, sql=element.sql + suffix, element=element)


def _enum(dt: exp.DataType, enums: Enums) -> ColumnType:
    return enum_type(tuple(label.name for label in dt.expressions))


def _user_defined(dt: exp.DataType, enums: Enums) -> ColumnType:
    """An ENUM declared in the same DDL, or a DuckDB type name that another dialect
    does not know (``UTINYINT`` read as PostgreSQL)."""
    kind = dt.args.get("kind")
    name = kind.sql() if isinstance(kind, exp.Expression) else str(kind)
    for key in (name.lower(), name.lower().rsplit(".", 1)[-1]):
        if key in enums:
            return enum_type(enums[key])
    builtin = _duckdb_builtin(name)
    if builtin is None:
        raise UnsupportedType(f"unsupported type {name} (not a known ENUM type)")
    return column_type_from_sqlglot(builtin)


def _duckdb_builtin(name: str) -> exp.DataType | None:
    try:
        dt = exp.DataType.build(name, dialect="duckdb")
    except Exception:  # not a type name at all
        return None
    return None if dt.this == T.USERDEFINED else dt


def enum_type(labels: tuple[str, ...]) -> ColumnType:
    """DuckDB spells an enum column by its labels; the type's name is not kept."""
    literals = [exp.Literal.string(label) for label in labels]
    sql = exp.DataType(this=T.ENUM, expressions=literals).sql(dialect="duckdb")
    return ColumnType(kind=Kind.ENUM, sql=sql, enum_values=labels)


_STRINGS = (T.TEXT, T.VARCHAR, T.CHAR, T.NCHAR, T.NVARCHAR, T.BPCHAR, T.NAME)

_PARAMETRIC: dict[T, _Handler] = {
    **{t: _string for t in _STRINGS},
    T.DECIMAL: _decimal,
    T.ARRAY: _array,
    T.LIST: _array,
    T.ENUM: _enum,
    T.USERDEFINED: _user_defined,
}
