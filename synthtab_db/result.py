"""The result set of one of our statements, read like a DuckDB result."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from synthtab_db.errors import SynthError


class Result:
    """fetchall / fetchone / fetchmany / arrow / df over an Arrow table."""

    def __init__(self, table: pa.Table):
        self.table = table
        self._rows = table.to_pylist()
        self._at = 0

    @property
    def columns(self) -> list[str]:
        return self.table.column_names

    @property
    def description(self) -> list[tuple[Any, ...]]:
        return [(f.name, str(f.type), None, None, None, None, None) for f in self.table.schema]

    def fetchall(self) -> list[tuple]:
        rows = [tuple(r.values()) for r in self._rows[self._at :]]
        self._at = len(self._rows)
        return rows

    def fetchone(self) -> tuple | None:
        rows = self.fetchmany(1)
        return rows[0] if rows else None

    def fetchmany(self, size: int = 1) -> list[tuple]:
        rows = [tuple(r.values()) for r in self._rows[self._at : self._at + size]]
        self._at += len(rows)
        return rows

    def arrow(self) -> pa.Table:
        return self.table

    fetch_arrow_table = to_arrow_table = arrow

    def df(self):
        """pandas is optional: without it, say how to get it (or read ``arrow()``)."""
        try:
            import pandas  # noqa: F401, PLC0415
        except ImportError:
            raise SynthError("pandas is not installed: pip install pandas, or read the result with .arrow() "
                             "or .fetchall()") from None
        return self.table.to_pandas()

    fetchdf = df

    def __repr__(self) -> str:
        return f"Result({self.table.num_rows} rows: {', '.join(self.columns)})"
