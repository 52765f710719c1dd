"""The example dbt project (examples/dbt) run by real dbt: deps, seed, run, test.

dbt runs in this process (``dbtRunner``, the API behind the ``dbt`` command): a
subprocess would import dbt and torch again for every command, several seconds each
on a 2-core machine.  The project is a copy in a temporary folder, pointed at the
package of this checkout by ``synthtab-db dbt init`` (as a user would).
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import duckdb
import pytest

pytest.importorskip("dbt.adapters.duckdb", reason="needs the dbt extra: pip install -e '.[dbt]'")

from dbt.cli.main import dbtRunner  # noqa: E402

from synthtab_db.cli import main as synthtab_cli  # noqa: E402

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "dbt"


def dbt(project: Path, *args: str):
    """One dbt command in ``project``; returns (success, {node name: result})."""
    result = dbtRunner().invoke([*args, "--project-dir", str(project), "--profiles-dir", str(project), "--quiet"])
    if result.exception is not None:
        raise result.exception
    nodes = {r.node.name: r for r in result.result.results} if hasattr(result.result, "results") else {}
    return result.success, nodes


def query(project: Path, sql: str) -> list[tuple]:
    # the configuration dbt-duckdb opened it with: in one process, DuckDB shares the instance
    con = duckdb.connect(str(project / "example.duckdb"))
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    path = tmp_path_factory.mktemp("dbt") / "example"
    shutil.copytree(EXAMPLE, path, ignore=shutil.ignore_patterns("target", "dbt_packages", "logs", "*.duckdb*"))
    mp = pytest.MonkeyPatch()
    mp.setenv("DO_NOT_TRACK", "1")
    mp.chdir(path)  # profiles.yml names the DuckDB file relative to the working directory
    assert synthtab_cli(["dbt", "init", "--project-dir", str(path)]) == 0
    for command in (["deps"], ["seed"], ["run"]):
        ok, nodes = dbt(path, *command)
        assert ok, {name: r.message for name, r in nodes.items()}
    yield path
    mp.undo()


def test_dbt_init_points_packages_yml_at_the_installed_package(project):
    from synthtab_db.dbt import PACKAGE_DIR

    assert f"local: {PACKAGE_DIR.as_posix()}" in (project / "packages.yml").read_text()
    assert (project / "dbt_packages" / "synthtab" / "dbt_project.yml").exists()


def test_synthetic_models_are_tables_of_synthetic_rows(project):
    assert query(project, "SELECT count(*) FROM main.synth_customer") == [(100,)]
    real = query(project, "SELECT count(*) FROM main.customer")[0][0]
    kinds = dict(query(project, "SELECT table_name, table_type FROM information_schema.tables"))
    assert kinds["synth_customer"] == kinds["synth_invoice"] == "BASE TABLE"
    # no row of the real customers is copied through as is
    copied = query(
        project,
        "SELECT count(*) FROM (SELECT first_name, last_name, email FROM main.customer "
        "INTERSECT SELECT first_name, last_name, email FROM main.synth_customer)",
    )[0][0]
    assert real == 59 and copied == 0


def test_child_model_keys_come_from_the_synthetic_parent(project):
    invoices, orphans, parents_used = query(
        project,
        "SELECT count(*), count(*) FILTER (WHERE c.customer_id IS NULL), count(DISTINCT i.customer_id) "
        "FROM main.synth_invoice i LEFT JOIN main.synth_customer c USING (customer_id)",
    )[0]
    assert orphans == 0
    # no ROWS on the child: the learned invoices-per-customer (7 for each of the 59 real
    # customers) over 100 synthetic customers
    assert 600 <= invoices <= 800 and parents_used > 90


def test_dbt_tests_pass_on_the_synthetic_models(project):
    ok, nodes = dbt(project, "test")
    assert ok, {name: r.message for name, r in nodes.items() if r.status != "pass"}
    relationships = [name for name in nodes if name.startswith("relationships_synth_invoice")]
    assert relationships and all(nodes[name].status == "pass" for name in relationships)
    assert any(name.startswith("accepted_values_synth_customer") for name in nodes)


def test_dbt_constraints_are_checked_before_insert(project):
    constraints = {
        (table, text)
        for table, text in query(
            project,
            "SELECT table_name, constraint_text FROM duckdb_constraints() WHERE schema_name = 'main' "
            "AND constraint_type IN ('UNIQUE', 'CHECK', 'FOREIGN KEY')",
        )
    }
    assert ("synth_customer", "UNIQUE(email)") in constraints
    assert ("synth_customer", "CHECK((support_rep_id IN (3, 4, 5)))") in constraints
    staged_fk = query(
        project,
        "SELECT referenced_table FROM duckdb_constraints() WHERE schema_name = 'synthtab_staging' "
        "AND table_name = 'main__synth_invoice' AND constraint_type = 'FOREIGN KEY'",
    )
    assert staged_fk == [("main__synth_customer",)]


def _trained(project: Path) -> dict:
    return dict(query(project, "SELECT name, created FROM synthtab.synthesizers"))


def test_second_run_reuses_synthesizers_until_data_changes_or_full_refresh(project, caplog):
    before = _trained(project)
    assert set(before) == {"dbt__main__synth_customer", "dbt__main__synth_invoice"}
    with caplog.at_level(logging.INFO, logger="synthtab_db"):
        ok, _ = dbt(project, "run")
    assert ok and _trained(project) == before
    progress = [r.getMessage() for r in caplog.records if r.name == "synthtab_db"]
    assert any("generating" in line for line in progress), progress  # dbt runs log their progress too

    con = duckdb.connect(str(project / "example.duckdb"))
    con.execute("DELETE FROM main.invoice WHERE invoice_id % 10 = 0")
    con.close()
    ok, _ = dbt(project, "run")
    after_change = _trained(project)
    assert ok and after_change["dbt__main__synth_customer"] == before["dbt__main__synth_customer"]
    assert after_change["dbt__main__synth_invoice"] > before["dbt__main__synth_invoice"]

    ok, _ = dbt(project, "run", "--full-refresh")
    refreshed = _trained(project)
    assert ok and all(refreshed[name] > after_change[name] for name in refreshed)


def _failing_model(project: Path, name: str, config: str) -> str:
    sql = f"{{{{ config(materialized='synthetic', {config}) }}}}\nselect * from {{{{ ref('customer') }}}}\n"
    ok, nodes = _with_model(project, name, sql)
    assert not ok
    return nodes[name].message


def test_bad_config_fails_the_model_with_our_message(project):
    message = _failing_model(project, "bad_rows", "rows=0")
    assert "synthetic model bad_rows: config 'rows'" in message and "got 0" in message
    message = _failing_model(project, "bad_model", "model='nope'")
    assert "synthetic model bad_model: unknown model 'nope'; available models:" in message
    assert "copula" in message


def test_child_without_depends_on_is_refused_with_the_fix(project):
    (project / "models" / "synth_invoice.sql").write_text(
        "{{ config(materialized='synthetic', seed=7) }}\nselect * from {{ ref('invoice') }}\n"
    )
    try:
        ok, nodes = dbt(project, "run", "-s", "synth_invoice")
    finally:
        shutil.copy(EXAMPLE / "models" / "synth_invoice.sql", project / "models" / "synth_invoice.sql")
    assert not ok
    assert "add `-- depends_on: {{ ref('synth_customer') }}` to synth_invoice.sql" in nodes["synth_invoice"].message


def test_generate_macro_gives_a_relation_of_synthetic_rows(project):
    model = project / "models" / "customer_sample.sql"
    model.write_text(
        "{{ config(materialized='view') }}\n"
        "select * from {{ synthtab.generate(ref('customer'), rows=25, model='copula', seed=3) }}\n"
    )
    try:
        ok, nodes = dbt(project, "run", "-s", "customer_sample")
    finally:
        model.unlink()
    assert ok, {name: r.message for name, r in nodes.items()}
    rows, keys = query(project, "SELECT count(*), count(DISTINCT customer_id) FROM main.customer_sample")[0]
    assert rows == keys == 25


CONTRACT = """
version: 2
models:
  - name: synth_invoice_contract
    config:
      contract: {enforced: true}
    constraints:
      - type: check
        columns: [total]
        expression: "total >= 1 and total < 10"
    columns:
      - name: invoice_id
        data_type: integer
        constraints: [{type: primary_key}]
      - name: customer_id
        data_type: integer
        constraints:
          - type: not_null
          - type: foreign_key
            to: ref('synth_customer')
            to_columns: [customer_id]
      - name: total
        data_type: decimal(10,2)
"""


def _with_model(project: Path, name: str, sql: str, yml: str | None = None, *args: str):
    """Run ``dbt run -s name`` with a model that exists only for this run."""
    files = [project / "models" / f"{name}.sql", project / "models" / f"{name}.yml"]
    files[0].write_text(sql)
    if yml:
        files[1].write_text(yml)
    try:
        return dbt(project, "run", "-s", name, *args)
    finally:
        for path in files:
            path.unlink(missing_ok=True)


def test_contract_constraints_hold_on_the_synthetic_rows(project):
    sql = (
        "{{ config(materialized='synthetic', rows=60, seed=1) }}\n"
        "select invoice_id, customer_id, total from {{ ref('invoice') }} where total >= 1 and total < 10\n"
    )
    ok, nodes = _with_model(project, "synth_invoice_contract", sql, CONTRACT)
    assert ok, {name: r.message for name, r in nodes.items()}
    rows, keys, orphans, out_of_range = query(
        project,
        "SELECT count(*), count(DISTINCT invoice_id), count(*) FILTER (WHERE customer_id NOT IN "
        "(SELECT customer_id FROM main.synth_customer)), count(*) FILTER (WHERE NOT (total >= 1 AND total < 10)) "
        "FROM main.synth_invoice_contract",
    )[0]
    assert (rows, keys, orphans, out_of_range) == (60, 60, 0, 0)


def test_contract_type_mismatch_is_refused_by_dbt(project):
    sql = (
        "{{ config(materialized='synthetic', rows=10) }}\n"
        "select invoice_id::varchar as invoice_id, customer_id, total from {{ ref('invoice') }}\n"
    )
    ok, nodes = _with_model(project, "synth_invoice_contract", sql, CONTRACT)
    assert not ok and "contract" in nodes["synth_invoice_contract"].message.lower()


def test_real_data_breaking_a_declared_test_fails_with_our_message(project):
    yml = """
version: 2
models:
  - name: synth_countries
    columns:
      - name: country
        data_tests: [unique]
"""
    sql = "{{ config(materialized='synthetic', rows=10) }}\nselect country from {{ ref('customer') }}\n"
    ok, nodes = _with_model(project, "synth_countries", sql, yml)
    message = nodes["synth_countries"].message
    assert not ok and "synthetic model synth_countries: the real data of its SELECT breaks a constraint" in message


def test_a_failing_rebuild_leaves_the_previous_table(project):
    before = query(project, "SELECT count(*), count(DISTINCT email) FROM main.synth_customer")
    model = project / "models" / "synth_customer.sql"
    # email has a unique test: the real countries repeat, so staging the real data fails
    model.write_text(
        "{{ config(materialized='synthetic', rows=100, seed=7) }}\n"
        "select customer_id, first_name, last_name, company, city, state, country, country as email, support_rep_id\n"
        "from {{ ref('customer') }}\n"
    )
    try:
        ok, nodes = dbt(project, "run", "-s", "synth_customer")
    finally:
        shutil.copy(EXAMPLE / "models" / "synth_customer.sql", model)
    assert not ok and "breaks a constraint" in nodes["synth_customer"].message
    assert query(project, "SELECT count(*), count(DISTINCT email) FROM main.synth_customer") == before == [(100, 100)]


def test_stored_synthesizers_are_table_functions_in_models(project):
    sql = "{{ config(materialized='table') }}\nselect * from dbt__main__synth_customer(40, seed := 5)\n"
    ok, nodes = _with_model(project, "more_customers", sql)
    assert ok, {name: r.message for name, r in nodes.items()}
    rows, names = query(project, "SELECT count(*), count(DISTINCT first_name) FROM main.more_customers")[0]
    assert rows == 40 and names > 5


def test_a_real_parent_gives_its_own_keys(project):
    yml = """
version: 2
models:
  - name: invoices_of_real_customers
    columns:
      - name: customer_id
        data_tests:
          - relationships: {arguments: {to: ref('customer'), field: customer_id}}
"""
    sql = (
        "{{ config(materialized='synthetic', rows=80, seed=4) }}\n"
        "select invoice_id, customer_id, total from {{ ref('invoice') }}\n"
    )
    ok, nodes = _with_model(project, "invoices_of_real_customers", sql, yml)
    assert ok, {name: r.message for name, r in nodes.items()}
    rows, orphans = query(
        project,
        "SELECT count(*), count(*) FILTER (WHERE customer_id NOT IN (SELECT customer_id FROM main.customer)) "
        "FROM main.invoices_of_real_customers",
    )[0]
    assert (rows, orphans) == (80, 0)
    copies = query(
        project,
        "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'synthtab_staging' "
        "AND table_name LIKE 'main__invoices_of_real_customers__parent__%'",
    )
    assert copies == [("main__invoices_of_real_customers__parent__main__customer",)]
