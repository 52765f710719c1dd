"""Result sets printed as aligned text tables."""

from __future__ import annotations

from typing import Any


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, list) and value and isinstance(value[0], tuple):
        return ", ".join(f"{k}: {v}" for k, v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    return "" if value is None or value == [] else str(value)


def format_table(columns: list[str], rows: list[tuple]) -> str:
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    line = lambda values: "  ".join(v.ljust(w) for v, w in zip(values, widths)).rstrip()  # noqa: E731
    return "\n".join([line(columns), line(["-" * w for w in widths])] + [line(r) for r in cells])


def print_result(result: Any, hide_empty: bool = False) -> None:
    """``hide_empty`` leaves out columns with no value in any row (a non-DP run's epsilon, say)."""
    if result is None or not hasattr(result, "description") or result.description is None:
        return
    columns, rows = [d[0] for d in result.description], result.fetchall()
    if hide_empty and rows:
        keep = [i for i in range(len(columns)) if any(_cell(row[i]) for row in rows)]
        columns, rows = [columns[i] for i in keep], [tuple(row[i] for i in keep) for row in rows]
    print(format_table(columns, rows))
