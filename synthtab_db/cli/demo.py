"""Load a slice of UCI Adult and the Chinook database (shipped with the package) into
DuckDB, generate synthetic copies with SQL, and audit them for constraint violations."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import synthtab_db
from synthtab_db.audit import audit_schema
from synthtab_db.cli.output import print_result
from synthtab_db.datasets import load_csv, load_relational
from synthtab_db.models.registry import better_missing, default_model
from synthtab_db.progress import default_progress

NAME = "demo"
HELP = "generate synthetic data from bundled real samples (no server needed)"
DATA = Path(__file__).resolve().parents[1] / "data"

STEPS = [
    "GENERATE SYNTHETIC FROM census.adult ROWS 5000 INTO census.synth_adult WITH (seed = 7)",
    "GENERATE SYNTHETIC FROM DATABASE main INTO SCHEMA synth WITH (seed = 7)",
]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database",
        "-d",
        default=":memory:",
        help="DuckDB file to write (default: in memory; an existing file is refused)",
    )


def _load(con: synthtab_db.Connection) -> None:
    con.execute("CREATE SCHEMA census")
    load_csv(con.duckdb, "census.adult", DATA / "adult_sample.csv")
    load_relational(con.duckdb, DATA / "chinook")


def run(args: argparse.Namespace) -> int:
    if args.database != ":memory:" and Path(args.database).exists():
        raise synthtab_db.SynthError(f"{args.database} already exists; the demo writes a new database")
    bars = default_progress()
    print(model_line())
    with synthtab_db.connect(args.database) as con:
        con.progress = bars
        _load(con)
        for sql in STEPS:
            print(f"\n{sql};")
            started = time.perf_counter()
            result = con.execute(sql)
            bars.close()
            print_result(result, hide_empty=True)
            print(f"({time.perf_counter() - started:.1f} s)")
        _show(con)
    return 0


def model_line() -> str:
    """Which model the demo's statements use (they name none), and what would bring a better one."""
    chosen = default_model()
    missing = better_missing()
    return f"model: {chosen} (the default; USING <model> picks another)" + (f"; {missing}" if missing else "")


def _show(con: synthtab_db.Connection) -> None:
    print("\nSELECT * FROM census.synth_adult LIMIT 5;")
    print_result(con.execute("SELECT * FROM census.synth_adult LIMIT 5"))
    print(
        "\nSELECT income, count(*), round(avg(age), 1) AS avg_age FROM census.adult / census.synth_adult GROUP BY income;"
    )
    print_result(
        con.execute(
            "SELECT 'real' AS data, income, count(*) AS n, round(avg(age), 1) AS avg_age FROM census.adult GROUP BY ALL "
            "UNION ALL SELECT 'synthetic', income, count(*), round(avg(age), 1) FROM census.synth_adult GROUP BY ALL ORDER BY 1, 2"
        )
    )
    violations = audit_schema(con.duckdb, "synth", constraints_from="main")
    bad = {k: v for k, v in violations.items() if v}
    print(
        f"\nIndependent audit of schema synth: {len(violations)} constraints checked, {sum(bad.values())} violations."
    )
    for label, count in bad.items():
        print(f"  {label}: {count}")
