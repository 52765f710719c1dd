"""build_plan: parents first, deterministic, self-references and cycles handled."""

from __future__ import annotations

import random

import duckdb
import pytest
from conftest import RELATIONAL, dataset

from synthtab_db.catalog import read_schema
from synthtab_db.errors import SynthError
from synthtab_db.planner.ddl import schema_from_ddl
from synthtab_db.planner.graph import fk_graph
from synthtab_db.planner.plan import Plan, build_plan, close_under_parents
from synthtab_db.planner.schema import Schema, TableRef

WITH_FKS = RELATIONAL


def dataset_schema(name: str) -> Schema:
    return schema_from_ddl((dataset(name) / "schema.sql").read_text())


def position(plan: Plan) -> dict[tuple[str, str], int]:
    return {ref.key(): i for i, ref in enumerate(plan.tables)}


def assert_parents_first(schema: Schema, plan: Plan) -> None:
    where = position(plan)
    for table in schema.tables:
        deferred = plan.step(table.ref).deferred
        for fk in table.foreign_keys:
            parent = schema.table(fk.ref_table).ref
            if parent.key() in where and parent != table.ref and fk not in deferred:
                assert where[parent.key()] < where[table.ref.key()], f"{parent} after {table.ref}"


@pytest.mark.parametrize("name", WITH_FKS)
def test_every_parent_comes_before_its_children(name):
    schema = dataset_schema(name)
    plan = build_plan(schema)
    assert sorted(plan.tables, key=str) == sorted((t.ref for t in schema.tables), key=str)
    assert_parents_first(schema, plan)
    assert all(not step.deferred for step in plan.steps)


@pytest.mark.parametrize("name", WITH_FKS)
def test_plan_does_not_depend_on_declaration_order(name):
    schema = dataset_schema(name)
    shuffled = list(schema.tables)
    random.Random(7).shuffle(shuffled)
    assert build_plan(schema) == build_plan(schema)
    assert build_plan(Schema(tables=tuple(shuffled))) == build_plan(schema)


def test_plan_from_catalog_has_the_same_order():
    ddl = dataset("pagila") / "schema.sql"
    con = duckdb.connect()
    con.execute(ddl.read_text())
    from_catalog = [t.name for t in build_plan(read_schema(con)).tables]
    assert from_catalog == [t.name for t in build_plan(schema_from_ddl(ddl.read_text())).tables]


def test_parents_list_other_tables_once():
    film = build_plan(dataset_schema("pagila")).step(TableRef(name="film"))
    assert film.parents == (TableRef(name="language"),)  # two FKs to language
    assert film.self_references == () and film.deferred == ()


def test_chinook_employee_is_a_self_reference():
    plan = build_plan(dataset_schema("chinook"))
    employee = plan.step(TableRef(name="employee"))
    assert [fk.columns for fk in employee.self_references] == [("reports_to",)]
    assert TableRef(name="employee") not in employee.parents
    assert plan.step(TableRef(name="customer")).self_references == ()


CYCLE = """
    CREATE TABLE dept (id INT PRIMARY KEY, head_id INT REFERENCES person (id));
    CREATE TABLE person (id INT PRIMARY KEY, dept_id INT NOT NULL REFERENCES dept (id));
    CREATE TABLE badge (id INT PRIMARY KEY, person_id INT NOT NULL REFERENCES person);
"""


def test_cycle_is_broken_at_the_nullable_fk():
    schema = schema_from_ddl(CYCLE)
    plan = build_plan(schema)
    dept = plan.step(TableRef(name="dept"))
    assert [fk.columns for fk in dept.deferred] == [("head_id",)]
    assert plan.step(TableRef(name="person")).deferred == ()
    assert [t.name for t in plan.tables] == ["dept", "person", "badge"]
    assert_parents_first(schema, plan)


def test_cycle_breaking_picks_the_nullable_side_whichever_it_is():
    flipped = CYCLE.replace("head_id INT REFERENCES", "head_id INT NOT NULL REFERENCES").replace(
        "dept_id INT NOT NULL", "dept_id INT"
    )
    plan = build_plan(schema_from_ddl(flipped))
    assert [fk.columns for fk in plan.step(TableRef(name="person")).deferred] == [("dept_id",)]
    assert [t.name for t in plan.tables] == ["person", "badge", "dept"]  # ties by name


def test_not_null_cycle_is_refused_with_its_tables():
    ddl = CYCLE.replace("head_id INT REFERENCES", "head_id INT NOT NULL REFERENCES")
    with pytest.raises(SynthError, match=r"FK cycle dept -> person -> dept has no nullable"):
        build_plan(schema_from_ddl(ddl))


def test_three_table_cycle_defers_one_fk():
    ddl = """
        CREATE TABLE a (id INT PRIMARY KEY, c_id INT NOT NULL REFERENCES c (id));
        CREATE TABLE b (id INT PRIMARY KEY, a_id INT NOT NULL REFERENCES a (id));
        CREATE TABLE c (id INT PRIMARY KEY, b_id INT REFERENCES b (id));
    """
    schema = schema_from_ddl(ddl)
    plan = build_plan(schema)
    assert sum(len(s.deferred) for s in plan.steps) == 1
    assert [fk.columns for fk in plan.step(TableRef(name="c")).deferred] == [("b_id",)]
    assert_parents_first(schema, plan)


def test_not_null_self_reference_is_refused():
    ddl = "CREATE TABLE node (id INT PRIMARY KEY, up INT NOT NULL REFERENCES node (id))"
    with pytest.raises(SynthError, match="node -> node"):
        build_plan(schema_from_ddl(ddl))


def test_plan_for_some_tables_only():
    schema = dataset_schema("pagila")
    wanted = [TableRef(name="payment"), TableRef(name="city"), TableRef(name="country")]
    plan = build_plan(schema, wanted)
    assert [t.name for t in plan.tables] == ["country", "city", "payment"]
    assert set(plan.step(TableRef(name="payment")).parents) == {
        TableRef(name=n) for n in ("customer", "rental", "staff")
    }


def test_close_under_parents_adds_every_ancestor():
    schema = dataset_schema("pagila")
    closed = {t.name for t in close_under_parents(schema, [TableRef(name="payment")])}
    graph = fk_graph(schema)
    assert {"payment", "rental", "inventory", "film", "language", "store", "address", "city", "country"} <= closed
    assert "actor" not in closed and "film_actor" not in closed
    for ref in close_under_parents(schema, ["payment"]):
        assert all(p.name in closed for p in graph.predecessors(ref))


def test_unknown_table_is_a_synth_error():
    with pytest.raises(SynthError, match="nope"):
        build_plan(dataset_schema("chinook"), [TableRef(name="nope")])
