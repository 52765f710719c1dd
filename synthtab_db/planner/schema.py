"""The one Schema model every part of synthtab_db reads.

Built two ways (from DDL text in ``planner.ddl``, from the live DuckDB catalog in
``synthtab_db.catalog``) and the two must agree, so everything here is plain,
immutable data: names as written, types reduced to a small set of *kinds* that the
generators and the check compiler dispatch on, constraints as column tuples and
SQL expression text (DuckDB dialect).
"""

from __future__ import annotations

import warnings
from enum import Enum

from pydantic import BaseModel, ConfigDict

from synthtab_db.errors import SynthError


class Kind(str, Enum):
    """What a column holds, as far as generation and checking care."""

    INTEGER = "integer"
    FLOAT = "float"
    DECIMAL = "decimal"
    BOOLEAN = "boolean"
    STRING = "string"
    DATE = "date"
    TIME = "time"
    TIMESTAMP = "timestamp"
    TIMESTAMPTZ = "timestamptz"
    INTERVAL = "interval"
    UUID = "uuid"
    ENUM = "enum"
    BLOB = "blob"
    LIST = "list"
    JSON = "json"


# TableRef.schema is the natural name; pydantic only warns that it hides the deprecated BaseModel.schema().
warnings.filterwarnings("ignore", message='Field name "schema"', category=UserWarning)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class ColumnType(_Frozen):
    """A column type: its kind plus the few parameters a check or generator needs.

    ``sql`` is the DuckDB spelling used to create and cast (``DECIMAL(5,2)``,
    ``ENUM('G', 'PG')``, ``VARCHAR[]``); ``length`` is the declared VARCHAR/CHAR
    length, known only from DDL (DuckDB's catalog does not keep it).
    """

    kind: Kind
    sql: str
    length: int | None = None
    precision: int | None = None
    scale: int | None = None
    enum_values: tuple[str, ...] | None = None
    element: ColumnType | None = None
    bits: int | None = None  # integer width: 8, 16, 32, 64, 128


class Column(_Frozen):
    name: str
    type: ColumnType
    nullable: bool = True
    default: str | None = None  # SQL expression text, DuckDB dialect


class TableRef(_Frozen):
    """A schema-qualified table name; ``schema`` None means "the default schema"."""

    name: str
    schema: str | None = None

    def __str__(self) -> str:
        return f"{self.schema}.{self.name}" if self.schema else self.name

    def key(self) -> tuple[str, str]:
        """Case-insensitive identity, as DuckDB resolves unquoted names."""
        return ((self.schema or "").lower(), self.name.lower())


class Key(_Frozen):
    """A PRIMARY KEY or UNIQUE constraint."""

    columns: tuple[str, ...]
    primary: bool = False
    name: str | None = None


class Check(_Frozen):
    """A CHECK constraint: boolean SQL expression over the row (DuckDB dialect)."""

    sql: str
    columns: tuple[str, ...] = ()
    name: str | None = None


class ForeignKey(_Frozen):
    columns: tuple[str, ...]
    ref_table: TableRef
    ref_columns: tuple[str, ...]
    name: str | None = None


class Table(_Frozen):
    ref: TableRef
    columns: tuple[Column, ...]
    primary_key: Key | None = None
    unique: tuple[Key, ...] = ()
    checks: tuple[Check, ...] = ()
    foreign_keys: tuple[ForeignKey, ...] = ()

    @property
    def name(self) -> str:
        return self.ref.name

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name.lower() == name.lower():
                return col
        allowed = ", ".join(c.name for c in self.columns)
        raise KeyError(f"table {self.ref} has no column {name!r} (columns: {allowed})")

    @property
    def keys(self) -> tuple[Key, ...]:
        """PRIMARY KEY first, then UNIQUE constraints."""
        return ((self.primary_key,) if self.primary_key else ()) + self.unique

    def is_self_reference(self, fk: ForeignKey) -> bool:
        return fk.ref_table.key() == self.ref.key()


class Schema(_Frozen):
    tables: tuple[Table, ...] = ()
    #: Tables left out (a column type the models can't handle), with why: only a statement
    #: that uses one of them fails, naming the column and its type.
    unusable: tuple[tuple[TableRef, str], ...] = ()

    def table(self, ref: TableRef | str) -> Table:
        ref = ref if isinstance(ref, TableRef) else TableRef(name=ref)
        for table in self.tables:
            if _same(table.ref, ref):
                return table
        for bad, reason in self.unusable:
            if _same(bad, ref):
                raise SynthError(reason)
        allowed = ", ".join(str(t.ref) for t in self.tables) or "(none)"
        raise KeyError(f"unknown table {ref} (tables: {allowed})")

    def has_table(self, ref: TableRef | str) -> bool:
        try:
            self.table(ref)
        except KeyError:
            return False
        return True


def _same(have: TableRef, want: TableRef) -> bool:
    """A ref without a schema matches a table of that name in any schema."""
    if have.name.lower() != want.name.lower():
        return False
    return want.schema is None or have.schema is None or have.schema.lower() == want.schema.lower()
