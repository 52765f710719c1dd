"""The privacy ledger through SQL: budgets, refusals that leave the database unchanged, the
result set of a DP run, a multi-table split, and persistence across processes."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytest.importorskip("opacus")

import synthtab_db  # noqa: E402

N = 3000


@pytest.fixture
def people(tmp_path):
    """A table of N rows with a categorical and a numeric column, in a file database."""
    con = synthtab_db.connect(str(tmp_path / "people.duckdb"))
    con.execute(f"""CREATE TABLE people AS
        SELECT i AS id, ['red', 'green', 'blue'][1 + i % 3] AS colour, 20 + (i * 7919) % 50 AS age,
               round(1000 + (i * 104729) % 5000, 2) AS income
        FROM range({N}) t(i)""")
    yield con, tmp_path / "people.duckdb"
    con.close()


def _rows(con, sql: str) -> list[dict]:
    return con.execute(sql).arrow().to_pylist()


def _ledger(con) -> list[tuple]:
    return con.execute("SELECT source, epsilon, delta FROM synthtab.privacy_ledger ORDER BY recorded_at").fetchall()


def test_dp_generate_reports_and_records_its_spend(people):
    con, _ = people
    (row,) = _rows(con, "GENERATE SYNTHETIC FROM people USING copula WITH (epsilon = 2, seed = 1)")
    assert 2 * 0.99 <= row["epsilon"] <= 2.0
    assert 0 < row["delta"] < 1 / N
    assert row["noise_multiplier"] > 0 and row["max_grad_norm"] > 0
    (entry,) = _ledger(con)
    assert entry[0] == "main.people" and entry[1] == pytest.approx(row["epsilon"])
    (budget,) = _rows(con, "SHOW PRIVACY BUDGET FOR people")
    assert budget["epsilon_spent"] == pytest.approx(row["epsilon"]) and budget["epsilon_cap"] is None


def test_a_run_past_the_cap_is_refused_and_changes_nothing(people):
    con, _ = people
    con.execute("SET PRIVACY BUDGET FOR people = 3")
    con.execute("GENERATE SYNTHETIC FROM people INTO first USING copula WITH (epsilon = 2)")
    before = _ledger(con)
    with pytest.raises(synthtab_db.SynthError, match=r"epsilon 2 but only 1\.0\d* of its budget 3 remains"):
        con.execute("GENERATE SYNTHETIC FROM people INTO second USING copula WITH (epsilon = 2)")
    assert _ledger(con) == before
    assert not con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'second'").fetchall()[0][0]
    (budget,) = _rows(con, "SHOW PRIVACY BUDGET FOR people")
    assert budget["epsilon_remaining"] == pytest.approx(3 - before[0][1])


def test_a_non_private_run_on_a_capped_table_needs_allow_non_private(people):
    con, _ = people
    con.execute("SET PRIVACY BUDGET FOR people = 5")
    with pytest.raises(synthtab_db.SynthError, match="allow_non_private"):
        con.execute("GENERATE SYNTHETIC FROM people USING copula")
    with pytest.raises(synthtab_db.SynthError, match="allow_non_private"):
        con.execute("TRAIN SYNTHESIZER s ON people USING copula")
    (row,) = _rows(con, "GENERATE SYNTHETIC FROM people USING copula WITH (allow_non_private = true)")
    assert row["epsilon"] is None and _ledger(con) == []


def test_models_without_dp_are_refused_by_name(people):
    """Every shipped model has DP now, so a model without it is registered here (the copula with
    options that have no epsilon, as a third-party model might)."""
    from synthtab_db.models import get_model
    from synthtab_db.models.options import ModelOptions
    from synthtab_db.models.registry import register

    register(type("NoPrivacyForTests", (get_model("copula"),), {"name": "no_privacy_for_tests", "dp_mechanism": None,
                                                                "options_model": ModelOptions}))
    con, _ = people
    with pytest.raises(synthtab_db.SynthError,
                       match="USING no_privacy_for_tests has no differential privacy; models with it: .*ctgan.*tvae"):
        con.execute("GENERATE SYNTHETIC FROM people USING no_privacy_for_tests WITH (epsilon = 1)")
    assert con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'synth_people'"
                       ).fetchone()[0] == 0


def test_train_spends_once_and_generating_from_it_spends_nothing(people):
    con, _ = people
    (row,) = _rows(con, "TRAIN SYNTHESIZER s ON people USING copula WITH (epsilon = 1.5, delta = 1e-6)")
    assert row["epsilon"] == pytest.approx(1.5, rel=0.01) and row["delta"] <= 1e-6
    con.execute("GENERATE SYNTHETIC FROM SYNTHESIZER s ROWS 100 INTO out")
    assert len(_ledger(con)) == 1


def test_the_ledger_survives_reopening_in_another_process(people):
    con, path = people
    con.execute("SET PRIVACY BUDGET FOR people = 4")
    con.execute("GENERATE SYNTHETIC FROM people USING copula WITH (epsilon = 1)")
    con.close()
    script = (
        "import synthtab_db\n"
        f"con = synthtab_db.connect({str(path)!r})\n"
        "row = con.execute('SHOW PRIVACY BUDGET FOR people').arrow().to_pylist()[0]\n"
        "print(row['epsilon_cap'], round(row['epsilon_spent'], 6))\n"
        "try:\n"
        "    con.execute('GENERATE SYNTHETIC FROM people INTO again USING copula WITH (epsilon = 3.5)')\n"
        "except synthtab_db.SynthError as err:\n"
        "    print('refused', err)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    cap, spent = out.splitlines()[0].split()
    assert float(cap) == 4.0 and 0.99 <= float(spent) <= 1.0
    assert "refused" in out and "of its budget 4 remains" in out


def test_a_database_statement_splits_the_budget_across_its_tables():
    con = synthtab_db.connect()
    con.execute("CREATE TABLE owner (id INTEGER PRIMARY KEY, region VARCHAR)")
    con.execute("CREATE TABLE pet (id INTEGER PRIMARY KEY, owner_id INTEGER REFERENCES owner(id), kind VARCHAR)")
    con.execute("INSERT INTO owner SELECT i, ['n', 's'][1 + i % 2] FROM range(2000) t(i)")
    con.execute("INSERT INTO pet SELECT i, i % 2000, ['cat', 'dog'][1 + i % 2] FROM range(3000) t(i)")
    rows = _rows(con, "GENERATE SYNTHETIC FROM DATABASE main INTO SCHEMA synth USING copula WITH (epsilon = 4)")
    assert sorted(r["source"] for r in rows) == ["main.owner", "main.pet"]
    assert all(2 * 0.99 <= r["epsilon"] <= 2.0 for r in rows)
    assert len(_ledger(con)) == 2


def test_set_budget_names_unknown_tables_and_bad_values(people):
    con, _ = people
    with pytest.raises(synthtab_db.SynthError, match="unknown source table main.nosuch"):
        con.execute("SET PRIVACY BUDGET FOR nosuch = 1")
    with pytest.raises(synthtab_db.SynthError, match="positive epsilon"):
        con.execute("SET PRIVACY BUDGET FOR people = -1")


def test_prv_accountant_spends_the_same_epsilon_with_less_noise(people):
    con, _ = people
    (rdp,) = _rows(con, "GENERATE SYNTHETIC FROM people INTO by_rdp USING copula WITH (epsilon = 1, seed = 1)")
    (prv,) = _rows(con, "GENERATE SYNTHETIC FROM people INTO by_prv USING copula "
                        "WITH (epsilon = 1, seed = 1, accountant = 'prv')")
    assert 0.99 <= prv["epsilon"] <= 1.0
    assert prv["noise_multiplier"] < rdp["noise_multiplier"] * 0.97
    assert [e for _, e, _ in _ledger(con)] == pytest.approx([rdp["epsilon"], prv["epsilon"]])


def test_an_unknown_accountant_is_refused_by_name(people):
    con, _ = people
    with pytest.raises(synthtab_db.SynthError, match=r"accountant.*'rdp'.*'prv'"):
        con.execute("GENERATE SYNTHETIC FROM people INTO x USING copula WITH (epsilon = 1, accountant = 'gdp')")
    assert con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'x'").fetchone()[0] == 0
