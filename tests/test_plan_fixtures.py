"""The planner, pinned by fixture files (tests/fixtures/plans/*.txt): DDL, row counts and a
GENERATE statement in, the plan out as stable text (or the refusal it must give).

Sections of a fixture, each after a ``-- <name>`` line:
  ddl        CREATE TABLE statements (DuckDB dialect; unqualified names are in schema main)
  counts     ``<table> <rows>`` per line: the row counts the engine would read
  existing   one table per line that already exists (targets)
  stored     ``<name> <table> <learned rows> <main FK column or -> <model>``: FROM SYNTHESIZER
  statement  the GENERATE statement
  plan       the expected ``plan_text`` (or ``error``: a part of the expected message)

SYNTHTAB_UPDATE_PLAN_FIXTURES=1 rewrites the ``plan`` sections from what the planner gives
(review the diff before committing it).
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest

from synthtab_db.dialect import split_script
from synthtab_db.engine.planning import plan_statement, prepare_statement
from synthtab_db.errors import SynthError
from synthtab_db.planner.ddl import schema_from_ddl
from synthtab_db.planner.explain import plan_text
from synthtab_db.planner.generate import plan_generate
from synthtab_db.planner.schema import TableRef
from synthtab_db.planner.steps import GeneratePlan, PlanInputs, StoredSynthesizer, count_key
from synthtab_db.statements import generate_statement

FIXTURES = Path(__file__).parent / "fixtures" / "plans"
UPDATE = os.environ.get("SYNTHTAB_UPDATE_PLAN_FIXTURES") == "1"


def sections(path: Path) -> dict[str, str]:
    found: dict[str, list[str]] = {}
    current = None
    for line in path.read_text().splitlines():
        if line.startswith("-- ") and line[3:].strip() in SECTION_NAMES:
            current = line[3:].strip()
            found[current] = []
        elif current is not None:
            found[current].append(line)
    return {k: "\n".join(v).strip() + "\n" for k, v in found.items()}


SECTION_NAMES = ("ddl", "counts", "existing", "stored", "statement", "plan", "error")


def ref(name: str) -> TableRef:
    schema, _, table = name.rpartition(".")
    return TableRef(name=table, schema=schema or "main")


def plan_of(case: dict[str, str]) -> GeneratePlan:
    schema = schema_from_ddl(case["ddl"], dialect="duckdb", default_schema="main")
    (piece,) = split_script(case["statement"])
    statement, model = prepare_statement(generate_statement(piece.tree))
    counts = {count_key(ref(n)): int(c) for n, c in (line.split() for line in case.get("counts", "").split("\n") if line)}
    existing = frozenset(count_key(ref(n)) for n in case.get("existing", "").split())
    stored = _stored(schema, case["stored"].split()) if "stored" in case else None
    inputs = PlanInputs(current_schema="main", model=stored[1] if stored else model, counts=counts, existing=existing,
                        stored=stored[0] if stored else None)
    return plan_generate(statement, schema, inputs)


def _stored(schema, fields: list[str]) -> tuple[StoredSynthesizer, str]:
    name, table, rows, main, model = fields
    return StoredSynthesizer(name=name, table=schema.table(ref(table)), source_rows=int(rows),
                             main=None if main == "-" else (main,)), model


CASES = sorted(FIXTURES.glob("*.txt"))


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_plan_as_pinned(path: Path):
    case = sections(path)
    if "error" in case:
        with pytest.raises(SynthError) as err:
            plan_of(case)
        assert case["error"].strip() in str(err.value)
        return
    text = plan_text(plan_of(case))
    if UPDATE and text != case.get("plan"):
        _rewrite(path, text)
        return
    assert text == case["plan"]


def _rewrite(path: Path, text: str) -> None:
    body = path.read_text()
    head = body[: body.index("-- plan\n")] if "-- plan\n" in body else body.rstrip("\n") + "\n\n"
    path.write_text(head + "-- plan\n" + text)


def test_fixtures_cover_every_form():
    forms = {plan_of(sections(p)).form for p in CASES if "error" not in sections(p)}
    assert forms == {"table", "database", "synthesizer"}
    assert len(CASES) >= 12


@pytest.mark.parametrize("path", [p for p in CASES if "error" not in sections(p) and "stored" not in sections(p)],
                         ids=lambda p: p.stem)
def test_plan_round_trips_as_json(path: Path):
    plan = plan_of(sections(path))
    assert GeneratePlan.model_validate_json(plan.model_dump_json()) == plan


def test_engine_reads_the_same_facts_the_fixture_gives():
    """The engine's planning on a real database with those row counts gives the pinned plan."""
    case = sections(FIXTURES / "database_scale.txt")
    con = duckdb.connect()
    con.execute(case["ddl"])
    for line in case["counts"].split("\n"):
        if line:
            name, rows = line.split()
            _fill(con, ref(name), int(rows))
    (piece,) = split_script(case["statement"])
    plan, _ = plan_statement(con, generate_statement(piece.tree))
    assert plan_text(plan) == case["plan"]


def _fill(con: duckdb.DuckDBPyConnection, table: TableRef, rows: int) -> None:
    """Rows whose keys and FKs line up (every FK points at row i % parent rows)."""
    columns = [r[0] for r in con.execute(f"DESCRIBE {table.schema}.{table.name}").fetchall()]
    values = ", ".join("i" if c == "id" else "i % 3" if c.endswith("_id") else "NULL" for c in columns)
    con.execute(f"INSERT INTO {table.schema}.{table.name} SELECT {values} FROM range({rows}) t(i)")
