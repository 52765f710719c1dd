"""Constraint → SQL check compilation, pinned by fixture files (tests/fixtures/checks/*.sql).

Each case gives a table's DDL, the name of one compiled check, and its violation
predicate as rendered for DuckDB and (where the SQL exists there) PostgreSQL.
The compiled predicates are also run on real DuckDB rows, so a fixture can't pin
a check that does not work.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from sqlglot import exp

from synthtab_db.checks import CheckContext, compile_checks
from synthtab_db.planner.ddl import schema_from_ddl

FIXTURES = Path(__file__).parent / "fixtures" / "checks"


def load_cases():
    for path in sorted(FIXTURES.glob("*.sql")):
        for block in path.read_text().split("\n\n"):
            fields = {}
            for line in block.splitlines():
                key, sep, value = line.removeprefix("-- ").partition(": ")
                if sep and key in ("ddl", "check", "duckdb", "postgres"):
                    fields[key] = value
            if "ddl" in fields:
                yield pytest.param(fields, id=f"{path.stem}:{fields['check']}")


def compiled(ddl):
    table = schema_from_ddl(ddl, default_schema="main").tables[-1]
    parents = {
        fk.columns: exp.table_(
            exp.to_identifier(fk.ref_table.name, quoted=True), db=exp.to_identifier("main", quoted=True)
        )
        for fk in table.foreign_keys
    }
    existing = (
        exp.table_(exp.to_identifier(f"synth_{table.name}", quoted=True), db=exp.to_identifier("main", quoted=True)),
    )
    return table, {c.name: c for c in compile_checks(table, CheckContext(existing=existing, parents=parents))}


@pytest.mark.parametrize("case", list(load_cases()))
def test_check_renders_as_pinned(case):
    _, checks = compiled(case["ddl"])
    assert case["check"] in checks, f"compiled checks: {sorted(checks)}"
    check = checks[case["check"]]
    assert check.sql("duckdb") == case["duckdb"]
    if "postgres" in case:
        assert check.sql("postgres") == case["postgres"]


def test_fixture_files_have_cases():
    assert len(list(load_cases())) >= 10


def test_compiled_checks_flag_exactly_the_bad_rows():
    """Run the compiled predicates on staged rows in real DuckDB."""
    ddl = (
        "CREATE TABLE p (id INTEGER PRIMARY KEY);"
        "CREATE TABLE c (id INTEGER PRIMARY KEY, p_id INTEGER REFERENCES p (id), "
        "score INTEGER CHECK (score BETWEEN 1 AND 5), name VARCHAR(3) NOT NULL)"
    )
    table, checks = compiled(ddl)
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE main.p (id INTEGER); INSERT INTO main.p VALUES (1), (2); CREATE TABLE main.synth_c (id INTEGER); INSERT INTO main.synth_c VALUES (9)"
    )
    con.execute(
        "CREATE TABLE stage AS SELECT * FROM (VALUES "
        "(1, 1, 1, 'abc', 1), (2, 3, 2, 'abc', 2), (3, NULL, 9, 'abc', 3), (4, 2, NULL, NULL, 4), "
        "(4, 2, 2, 'toolong', 5), (9, 1, 1, 'ab', 6)) v(id, p_id, score, name, __row)"
    )
    flagged = {}
    for name, check in checks.items():
        rows = con.execute(
            f"SELECT __row FROM (SELECT s.__row, coalesce(({check.sql()}), FALSE) AS bad FROM stage s) WHERE bad ORDER BY 1"
        ).fetchall()
        flagged[name] = [r[0] for r in rows]
    assert flagged["FOREIGN KEY (p_id) -> main.p"] == [2]
    assert flagged[next(n for n in checks if n.startswith("CHECK"))] == [3]
    assert flagged["NOT NULL (name)"] == [4]
    assert flagged["PRIMARY KEY (id)"] == [5, 6]  # a repeat inside the batch, and a key already in the target
    assert flagged["TYPE name VARCHAR"] == [5]
