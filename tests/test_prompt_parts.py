"""The pure parts of FROM PROMPT: the JSON-prefix automaton, rendering, validation, row counts, shaping."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pytest

from synthtab_db.errors import SynthError
from synthtab_db.planner.ddl import schema_from_ddl
from synthtab_db.prompt.json_prefix import JsonPrefix, schema_keys
from synthtab_db.prompt.proposal import PROPOSAL_SCHEMA, parse_spec, render_ddl
from synthtab_db.prompt.propose import read_reply
from synthtab_db.prompt.rows import row_counts
from synthtab_db.prompt.shape import free_columns, shape_columns
from synthtab_db.prompt.validate import validate


@pytest.mark.parametrize("text", ['{"a":[1,-2.5e3,{"b":null,"c":true}],"d":"x\\"y"}', "{}", ' { "a" : [ ] } '])
def test_json_prefix_accepts_whole_objects(text):
    state = JsonPrefix()
    assert state.feed(text) and state.complete


@pytest.mark.parametrize("text", ["[1]", '{"a" 1}', '{"a":tru3}', '{"a":1]', '{"a":1,}', '{"a":"x\ny"}', '{}{'])
def test_json_prefix_refuses_what_cannot_become_an_object(text):
    assert not JsonPrefix().feed(text)


def test_json_prefix_is_incomplete_until_the_object_closes():
    state = JsonPrefix()
    assert state.feed('{"tables":[') and not state.complete


def test_json_prefix_keeps_keys_to_the_schema():
    keys = schema_keys(PROPOSAL_SCHEMA)
    assert {"tables", "columns", "name", "type", "references", "check", "primary_key"} <= keys
    assert JsonPrefix(keys=keys).feed('{"tables":[{"name":"t","columns":[{"name":"id","type":"INT","check":"a\\"b"}]}]}')
    assert JsonPrefix(keys=keys).feed('{"ta')
    assert not JsonPrefix(keys=keys).feed('{"tab_')
    assert not JsonPrefix(keys=keys).feed('{"tabl":')
    assert JsonPrefix().feed('{"tab_\\n":1}')


ORDERS_FIRST = {"tables": [
    {"name": "orders", "columns": [{"name": "id", "type": "INTEGER", "primary_key": True},
                                   {"name": "customer_id", "type": "INTEGER", "references": "customers"}]},
    {"name": "customers", "columns": [{"name": "id", "type": "INTEGER", "primary_key": True},
                                      {"name": "email", "type": "VARCHAR", "comment": "it's the address"}]}]}


def test_render_puts_parents_first_and_spells_out_the_referenced_key():
    ddl = render_ddl(parse_spec(json.dumps(ORDERS_FIRST)))
    assert ddl.index('CREATE TABLE "customers"') < ddl.index('CREATE TABLE "orders"')
    assert 'REFERENCES "customers" ("id")' in ddl
    assert "IS 'it''s the address'" in ddl
    assert [t.name for t in schema_from_ddl(ddl, dialect="duckdb").tables] == ["customers", "orders"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s: s["tables"][0]["columns"][1].update(references="clients"), "references table clients"),
        (lambda s: s["tables"][1]["columns"][1].update(type="SPACESHIP"), "table customers, column email: unknown type 'SPACESHIP'"),
        (lambda s: s["tables"][1]["columns"][1].update(check="email LIKE"), "CHECK 'email LIKE' does not parse"),
        (lambda s: s["tables"][0].update(colour="red"), "tables.0.colour"),
    ],
)
def test_a_bad_proposal_is_refused_with_a_message_naming_it(change, message):
    spec = json.loads(json.dumps(ORDERS_FIRST))
    change(spec)
    with pytest.raises(SynthError, match=message):
        ddl, _ = read_reply(json.dumps(spec))
        validate(ddl)


def test_a_cycle_of_not_null_keys_is_refused_by_the_planner():
    ddl = ('CREATE TABLE a (id INTEGER PRIMARY KEY, me INTEGER NOT NULL REFERENCES a(id));')
    with pytest.raises(SynthError, match="FK cycle main.a -> main.a has no nullable foreign key"):
        validate(ddl)


@pytest.mark.parametrize(
    ("ddl", "message"),
    [
        ("CREATE TABLE t (id INTEGER PRIMARY KEY, x INTEGER CHECK (x > 10 AND x < 5));", "can't be filled"),
        ("CREATE TABLE t (id INTEGER PRIMARY KEY, x INTEGER NOT NULL UNIQUE CHECK (x = 3));", "only 1 of 5 rows"),
        ("CREATE TABLE t (id INTEGER PRIMARY KEY, x MAP(VARCHAR, INTEGER));", "unsupported type MAP"),
    ],
)
def test_a_schema_that_cannot_be_filled_is_refused_while_the_model_can_fix_it(ddl, message):
    with pytest.raises(SynthError, match=message):
        validate(ddl)


def test_ddl_replies_are_accepted_and_only_schema_statements_pass():
    accepted = validate("```sql\nCREATE TABLE t (id INTEGER PRIMARY KEY, name VARCHAR);\n```")
    assert [t.name for t in accepted.schema.tables] == ["t"]
    with pytest.raises(SynthError, match="only CREATE TABLE.*not DROP"):
        validate("CREATE TABLE t (id INTEGER); DROP TABLE t;")


def test_row_counts_follow_options_then_rows_then_the_model():
    accepted = validate(render_ddl(parse_spec(json.dumps(ORDERS_FIRST))))
    plan = accepted.plan
    assert row_counts(plan, {}, None, {}) == {"customers": 100, "orders": 300}
    assert row_counts(plan, {}, 10, {"customers": 50, "orders": 500}) == {"customers": 10, "orders": 100}
    assert row_counts(plan, {"orders": 7}, None, {"customers": 50}) == {"customers": 50, "orders": 7}


def test_shaping_leaves_constrained_columns_and_nulls_alone():
    table = validate("CREATE TABLE people (id INTEGER PRIMARY KEY, email VARCHAR UNIQUE, "
                     "status VARCHAR CHECK (status IN ('a', 'b')), price DOUBLE, city VARCHAR)").schema.tables[0]
    assert free_columns(table) == {"price", "city"}
    data = pa.table({"id": [1, 2, 3], "email": ["x", None, "z"], "status": ["a", "b", "a"],
                     "price": [1.0, None, 3.0], "city": ["q", "q", None]})
    shaped = shape_columns(table, data, {}, np.random.default_rng(0))
    assert shaped.column("status").to_pylist() == ["a", "b", "a"]
    assert shaped.column("email").to_pylist()[1] is None and shaped.column("email")[0].as_py().endswith("@example.com")
    assert shaped.column("price")[1].as_py() is None and shaped.column("city")[2].as_py() is None
    assert shaped.column("city")[0].as_py() != "q"


def test_create_is_one_transaction_a_failed_insert_leaves_no_schema_and_no_table():
    import duckdb

    from synthtab_db.prompt.create import Filled, create_filled
    from synthtab_db.prompt.propose import Proposal

    accepted = validate("CREATE TABLE p (id INTEGER PRIMARY KEY); CREATE TABLE c (id INTEGER PRIMARY KEY, "
                        "p_id INTEGER NOT NULL REFERENCES p (id));")
    filled = Filled({"p": pa.table({"id": pa.array([1, 2], pa.int32())}),
                     "c": pa.table({"id": pa.array([1], pa.int32()), "p_id": pa.array([9], pa.int32())})})
    con = duckdb.connect()
    with pytest.raises(duckdb.ConstraintException):
        create_filled(con, "fresh", Proposal(accepted, {}, 1), filled)
    assert con.execute("SELECT count(*) FROM duckdb_schemas() WHERE schema_name = 'fresh'").fetchone()[0] == 0
    assert con.execute("SELECT count(*) FROM duckdb_tables()").fetchone()[0] == 0
    assert con.execute("SELECT current_schema()").fetchone()[0] == "main"


def test_a_script_splits_around_explain_prompt_and_set_synthtab():
    from synthtab_db.dialect import PromptDatabase, SetSynthtab, split_script

    pieces = split_script("SET synthtab.llm = NULL; EXPLAIN GENERATE SYNTHETIC DATABASE FROM PROMPT 'a; b' "
                          "INTO SCHEMA s ROWS 3; SELECT 1; explain select 2")
    assert [type(p.tree) for p in pieces] == [SetSynthtab, PromptDatabase, type(None), type(None)]
    assert pieces[1].tree.this.name == "a; b" and pieces[1].tree.args["explain"] is True
    assert pieces[3].text == "explain select 2"
