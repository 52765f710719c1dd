"""The parts of the dbt integration that need no dbt: packages.yml, the spec a
materialization sends, staging DDL from dbt constraints, and GENERATE's ``parents``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from synthtab_db import SynthError
from synthtab_db.cli import main as synthtab_cli
from synthtab_db.dbt import PACKAGE_DIR
from synthtab_db.dbt.project import updated_packages_yml
from synthtab_db.dbt.spec import Constraint, parse_spec
from synthtab_db.dbt.staging import create_staging_sql
from synthtab_db.planner.schema import TableRef


def test_packages_yml_gets_one_local_entry(tmp_path):
    package = Path("/opt/site-packages/synthtab_db/dbt/package")
    assert updated_packages_yml(None, package) == f"packages:\n  - local: {package}\n"
    hub = "packages:\n  - package: dbt-labs/dbt_utils\n    version: 1.1.1\n"
    once = updated_packages_yml(hub, package)
    assert once == f"packages:\n  - local: {package}\n  - package: dbt-labs/dbt_utils\n    version: 1.1.1\n"
    moved = Path("/elsewhere/synthtab_db/dbt/package")
    assert updated_packages_yml(once, moved) == once.replace(str(package), str(moved))
    with pytest.raises(SynthError, match="no top-level 'packages:'"):
        updated_packages_yml("# nothing here\n", package)


def test_dbt_init_writes_the_package_path_and_refuses_a_non_project(tmp_path, capsys):
    assert synthtab_cli(["dbt", "init", "--project-dir", str(tmp_path)]) == 2
    assert "no dbt_project.yml" in capsys.readouterr().err
    (tmp_path / "dbt_project.yml").write_text("name: x\n")
    assert synthtab_cli(["dbt", "init", "--project-dir", str(tmp_path)]) == 0
    assert (tmp_path / "packages.yml").read_text() == f"packages:\n  - local: {PACKAGE_DIR.as_posix()}\n"
    assert (PACKAGE_DIR / "dbt_project.yml").read_text().count("name: synthtab") == 1
    assert "module: synthtab_db.dbt" in capsys.readouterr().out  # no profiles.yml here: say what to add


def _spec(**changes) -> str:
    spec = {"model": "m", "schema": "main", "identifier": "m", "sql": "select 1 as a", **changes}
    return json.dumps(spec)


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"rows": 0}, "synthetic model m: config 'rows': Input should be greater than or equal to 1 (got 0)"),
        ({"rows": "many"}, "config 'rows'"),
        ({"epsilon": -1}, "config 'epsilon'"),
        ({"colour": "red"}, "config 'colour'"),
    ],
)
def test_bad_spec_names_the_model_and_the_config_key(changes, message):
    with pytest.raises(SynthError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_spec(_spec(**changes))


def test_dbt_constraints_become_staging_ddl(con):
    parent = TableRef(schema="synthtab_staging", name="main__p")
    constraints = [
        Constraint(kind="not_null", columns=["id"], origin="t1"),
        Constraint(kind="unique", columns=['"id"'], origin="t2"),
        Constraint(kind="primary_key", columns=["id"], origin="c1"),
        Constraint(kind="accepted_values", columns=["status"], values=["new", "it's"], origin="t3"),
        Constraint(kind="accepted_values", columns=["level"], values=[1, 2], quote=False, origin="t4"),
        Constraint(kind="check", columns=["level"], expression="level > 0", origin="c2"),
        Constraint(kind="relationships", columns=["pid"], fields=["id"], origin="t5"),
    ]
    columns = [("id", "INTEGER"), ("status", "VARCHAR"), ("level", "INTEGER"), ("pid", "INTEGER")]
    ddl = create_staging_sql(TableRef(schema="synthtab_staging", name="main__c"), columns, constraints, {"t5": parent})
    con.execute('CREATE SCHEMA synthtab_staging; CREATE TABLE synthtab_staging.main__p (id INTEGER UNIQUE)')
    con.execute(ddl)
    found = con.execute(
        "SELECT constraint_type, constraint_text FROM duckdb_constraints() WHERE table_name = 'main__c' "
        "ORDER BY constraint_index"
    ).fetchall()
    texts = [text for _, text in found]
    assert "PRIMARY KEY(id)" in texts and not any(t.startswith("UNIQUE") for t in texts)  # PK wins over UNIQUE
    assert "CHECK((status IN ('new', 'it''s')))" in texts
    assert "CHECK((\"level\" IN (1, 2)))" in texts or "CHECK((level IN (1, 2)))" in texts
    assert "CHECK((\"level\" > 0))" in texts or "CHECK((level > 0))" in texts
    assert "FOREIGN KEY (pid) REFERENCES synthtab_staging.main__p(id)" in texts


def test_generate_draws_keys_from_the_named_parent(con):
    con.execute(
        "CREATE TABLE cust (id INTEGER PRIMARY KEY, x DOUBLE);"
        "CREATE TABLE ord (oid INTEGER PRIMARY KEY, cid INTEGER NOT NULL REFERENCES cust (id), v DOUBLE);"
        "INSERT INTO cust SELECT i, random() FROM range(40) t(i);"
        "INSERT INTO ord SELECT i, i % 40, random() FROM range(200) t(i);"
        # a generated parent has the parent's columns (a child may be conditioned on them)
        "CREATE TABLE other (id INTEGER PRIMARY KEY, x DOUBLE); INSERT INTO other SELECT 1000 + i, random() FROM range(10) t(i);"
    )
    con.execute("GENERATE SYNTHETIC FROM ord ROWS 50 INTO so WITH (seed = 1, parents = {'cust': 'other'})")
    assert con.execute("SELECT count(*), min(cid) >= 1000 FROM so").fetchall() == [(50, True)]
    con.execute("TRAIN SYNTHESIZER s_ord ON ord")
    # from a stored synthesizer, without ROWS: each of the 10 generated parents gets the learned 5 children
    con.execute("GENERATE SYNTHETIC FROM SYNTHESIZER s_ord INTO so2 WITH (seed = 1, parents = {'main.cust': 'other'})")
    assert con.execute("SELECT count(*), count(DISTINCT cid), min(cid) >= 1000 FROM so2").fetchall() == [(50, 10, True)]
    with pytest.raises(SynthError, match="names nope, not a parent of this table; its FK parents: main.cust"):
        con.execute("GENERATE SYNTHETIC FROM ord ROWS 5 INTO so3 WITH (parents = {'nope': 'other'})")
    with pytest.raises(SynthError, match="table main.missing does not exist"):
        con.execute("GENERATE SYNTHETIC FROM ord ROWS 5 INTO so3 WITH (parents = {'cust': 'missing'})")


def test_dbt_progress_goes_to_stderr_when_nothing_else_shows_it(monkeypatch):
    """dbt does not route Python logging; where no handler exists, ours prints to stderr."""
    import logging  # noqa: PLC0415

    from synthtab_db.dbt.build import _show_progress  # noqa: PLC0415

    root, ours = logging.getLogger(), logging.getLogger("synthtab_db")
    monkeypatch.setattr(root, "handlers", [])
    monkeypatch.setattr(ours, "handlers", [])
    monkeypatch.setattr(ours, "level", logging.NOTSET)
    _show_progress()
    assert [type(h).__name__ for h in ours.handlers] == ["StreamHandler"] and ours.level == logging.INFO
    _show_progress()  # once only
    assert len(ours.handlers) == 1
