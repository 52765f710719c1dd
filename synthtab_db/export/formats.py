"""Export formats by name: adding one adds an entry to FORMATS.

CSV and Parquet are written by DuckDB's COPY (one file per table); Excel by
openpyxl (one sheet per table); SQL by ``sql_script`` (DDL + INSERTs in one
transaction, loadable by PostgreSQL and DuckDB).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

import duckdb

from synthtab_db.errors import SynthError
from synthtab_db.export.sql_script import quote, write_script
from synthtab_db.planner.schema import Table


class Writer(Protocol):
    def paths(self, schema: str, tables: list[Table], directory: Path) -> list[Path]: ...

    def write(self, con: duckdb.DuckDBPyConnection, schema: str, tables: list[Table], directory: Path) -> None: ...


def qualified(schema: str, table: Table) -> str:
    return f"{quote(schema)}.{quote(table.name)}"


def literal_path(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


class CopyWriter:
    """One file per table through DuckDB's COPY … TO."""

    def __init__(self, extension: str, options: str):
        self.extension, self.options = extension, options

    def paths(self, schema: str, tables: list[Table], directory: Path) -> list[Path]:
        return [directory / f"{t.name}.{self.extension}" for t in tables]

    def write(self, con, schema: str, tables: list[Table], directory: Path) -> None:
        for table, path in zip(tables, self.paths(schema, tables, directory)):
            con.execute(f"COPY {qualified(schema, table)} TO {literal_path(path)} ({self.options})").fetchall()


EXCEL_TYPES = (bool, int, float, Decimal, str, dt.date, dt.time)


def excel_value(value: Any) -> Any:
    """What a cell can hold as is; anything else (UUID, list, interval, a zoned time) as text."""
    if value is None or (isinstance(value, EXCEL_TYPES) and not _zoned(value)):
        return value
    return str(value)


def _zoned(value: Any) -> bool:
    return isinstance(value, (dt.datetime, dt.time)) and value.tzinfo is not None


class ExcelWriter:
    """One workbook named for the schema, a sheet per table with a header row."""

    def paths(self, schema: str, tables: list[Table], directory: Path) -> list[Path]:
        return [directory / f"{schema}.xlsx"]

    def write(self, con, schema: str, tables: list[Table], directory: Path) -> None:
        try:
            from openpyxl import Workbook  # noqa: PLC0415
        except ImportError as err:
            raise SynthError(f"--format xlsx needs openpyxl: pip install 'synthtab-db[export]' ({err})") from None
        book = Workbook(write_only=True)
        for table in tables:
            sheet = book.create_sheet(title=table.name[:31])
            cursor = con.execute(f"SELECT * FROM {qualified(schema, table)}")
            sheet.append([c.name for c in table.columns])
            while rows := cursor.fetchmany(10_000):
                for row in rows:
                    sheet.append([excel_value(v) for v in row])
        book.save(self.paths(schema, tables, directory)[0])


class SqlWriter:
    def paths(self, schema: str, tables: list[Table], directory: Path) -> list[Path]:
        return [directory / f"{schema}.sql"]

    def write(self, con, schema: str, tables: list[Table], directory: Path) -> None:
        with open(self.paths(schema, tables, directory)[0], "w", encoding="utf-8") as out:
            write_script(con, schema, tables, out)


FORMATS: dict[str, Writer] = {
    "csv": CopyWriter("csv", "FORMAT csv, HEADER"),
    "parquet": CopyWriter("parquet", "FORMAT parquet"),
    "xlsx": ExcelWriter(),
    "sql": SqlWriter(),
}
