"""Column meaning found from real public tables (../shared/datasets), and kept in the output.

Each detection is checked on a table that has it and on one that has not; generation
uses the fast copula on small slices.
"""

from __future__ import annotations

import pytest
from conftest import dataset

from synthtab_db import catalog
from synthtab_db.datasets import create_pagila_activity
from synthtab_db.errors import SynthError
from synthtab_db.planner.schema import TableRef
from synthtab_db.profile import profile_from_data


def _load(con, name: str, sql: str) -> None:
    con.execute(f"CREATE TABLE {name} AS {sql}")


def _profile(con, name: str):
    return profile_from_data(con, catalog.read_schema(con).table(name), TableRef(name=name))


@pytest.fixture
def air(con):
    """Beijing hourly air quality (CC BY 4.0), 2,000 rows, plus a row-number column and
    date parts and a station initial that are expressions of other columns."""
    path = dataset("beijing_air_quality") / "air_quality.csv"
    _load(con, "air", f"SELECT row_number() OVER (ORDER BY station, ts) AS rownames, *, year(ts) AS year, "
          f"month(ts) AS month, hour(ts) AS hour, left(station, 1) AS initial FROM read_csv('{path}') "
          "USING SAMPLE reservoir(2000 ROWS) REPEATABLE (1)")
    return con


@pytest.fixture
def pagila(con):
    folder = dataset("pagila")
    for table in ("customer", "rental", "payment", "film"):
        _load(con, table, f"SELECT * FROM read_csv('{folder / (table + '.csv')}')")
    return con


@pytest.fixture
def adult(con, adult_path):
    _load(con, "adult", f"SELECT * FROM read_csv('{adult_path}') USING SAMPLE reservoir(3000 ROWS) REPEATABLE (2)")
    return con


def test_identifier_grain_precision_and_derived_parts_found(air):
    profile = _profile(air, "air")
    assert profile.column("rownames").meaning == "identifier"
    assert profile.column("ts").grain == "hour"
    assert profile.column("dewp").precision == 1
    derived = {d.column: d.sql for d in profile.derived}
    assert set(derived) >= {"month", "hour", "initial"} and "ts" in derived["hour"]


def test_absent_where_the_table_has_none(pagila, adult):
    rental, people = _profile(pagila, "rental"), _profile(adult, "adult")
    assert rental.column("rental_date").grain == "second" and not rental.derived
    assert [c.name for c in people.columns if c.meaning != "value"] == []
    film = _profile(pagila, "film")
    assert film.column("title").meaning == "value" and film.column("rental_rate").precision == 2
    pagila.execute("CREATE TABLE ratio AS SELECT rental_rate / length AS r FROM film")
    assert _profile(pagila, "ratio").column("r").precision is None


def test_generated_rows_keep_id_grain_precision_and_derived_parts(air):
    air.execute("GENERATE SYNTHETIC FROM air INTO s USING copula WITH (seed = 3)")
    ids, on_hour, decimals, parts, initial = air.sql(
        "SELECT count(DISTINCT rownames) = count(*) AND min(rownames) = 1, "
        "avg((date_trunc('hour', ts) = ts)::INT), avg((round(dewp, 1) = dewp)::INT), "
        "avg((year = year(ts) AND month = month(ts) AND hour = hour(ts))::INT), "
        "avg((initial = left(station, 1))::INT) FROM s").fetchall()[0]
    assert ids and on_hour == 1 and decimals == 1 and parts == 1 and initial == 1


def test_functional_dependency_found_and_kept(adult):
    profile = _profile(adult, "adult")
    assert ("education_num", "education") in {(d.column, d.determinant) for d in profile.dependencies}
    assert "workclass" not in {d.column for d in profile.dependencies}
    adult.execute("GENERATE SYNTHETIC FROM adult INTO s USING copula WITH (seed = 1)")
    broken = adult.sql("SELECT count(*) FROM s JOIN (SELECT DISTINCT education, education_num FROM adult) r "
                       "USING (education) WHERE s.education_num <> r.education_num").fetchall()[0][0]
    assert broken == 0


def test_emails_and_names_made_by_shape_never_copied(pagila):
    profile = _profile(pagila, "customer")
    assert profile.column("email").meaning == "email" and profile.column("first_name").meaning == "name"
    assert _profile(pagila, "film").column("description").meaning == "text"
    pagila.execute("GENERATE SYNTHETIC FROM customer INTO s USING copula WITH (seed = 2)")
    shaped, copied_emails = pagila.sql(
        "SELECT avg(regexp_full_match(email, '[a-z0-9.]+@[a-z0-9.]+')::INT), "
        "count(*) FILTER (WHERE email IN (SELECT email FROM customer)) FROM s").fetchall()[0]
    rare = pagila.sql("SELECT count(*) FROM s WHERE first_name IN "
                      "(SELECT first_name FROM customer GROUP BY ALL HAVING count(*) < 5) OR last_name IN "
                      "(SELECT last_name FROM customer GROUP BY ALL HAVING count(*) < 5)").fetchall()[0][0]
    assert shaped == 1 and copied_emails == 0 and rare == 0


@pytest.fixture
def activity(pagila):
    """Per-customer rental counts from pagila, with four CHECK (a <= b) rules between them."""
    folder = dataset("pagila")
    for table in ("inventory", "film_category"):
        _load(pagila, table, f"SELECT * FROM read_csv('{folder / (table + '.csv')}')")
    create_pagila_activity(pagila)
    return pagila


STRONG = [("rentals", "returned"), ("rentals", "films"), ("rentals", "late"), ("rentals", "paid"),
          ("returned", "paid"), ("films", "paid"), ("late", "paid")]


def test_check_orderings_hold_by_construction(activity):
    (row,) = activity.execute("GENERATE SYNTHETIC FROM activity INTO s USING copula WITH (seed = 1)").fetchall()
    rejected = sum(row[7].values()) if row[7] else 0
    assert rejected < 0.05 * 599
    for a, b in STRONG:
        real, synthetic = (activity.sql(f"SELECT corr({a}, {b}) FROM {t}").fetchall()[0][0] for t in ("activity", "s"))
        assert abs(real - synthetic) <= 0.05, (a, b, real, synthetic)


def test_describe_synthetic_overrides_and_stored_profile(pagila):
    rows = {r[0]: r for r in pagila.sql("DESCRIBE SYNTHETIC customer WITH (columns = {'email': 'value', "
                                        "'address_id': 'id'})").fetchall()}
    assert rows["first_name"][2] == "name" and rows["first_name"][5] is True
    assert rows["email"][2] == "value" and rows["address_id"][2:3] + rows["address_id"][7:8] == ("identifier", "override")
    with pytest.raises(SynthError, match="activebool"):
        pagila.sql("DESCRIBE SYNTHETIC customer WITH (columns = {'activebool': 'text'})")
    with pytest.raises(SynthError, match="not a column meaning"):
        pagila.sql("DESCRIBE SYNTHETIC customer WITH (columns = {'email': 'secret'})")
    pagila.execute("TRAIN SYNTHESIZER c ON customer USING copula WITH (seed = 1)")
    stored = {r[0]: r[2] for r in pagila.sql("DESCRIBE SYNTHETIC SYNTHESIZER c").fetchall()}
    assert stored["email"] == "email" and stored["customer_id"] == "identifier"


def test_override_makes_a_column_an_identifier(pagila):
    pagila.execute("GENERATE SYNTHETIC FROM payment INTO s USING copula "
                   "WITH (seed = 1, columns = {'rental_id': 'id'})")
    distinct, total = pagila.sql("SELECT count(DISTINCT rental_id), count(*) FROM s").fetchall()[0]
    assert distinct == total


def test_schema_only_columns_take_the_shape_their_name_says(con):
    con.execute("CREATE TABLE people (id INTEGER PRIMARY KEY, email VARCHAR UNIQUE, full_name VARCHAR, "
                "phone VARCHAR, a INTEGER, b INTEGER, CHECK (a <= b))")
    con.execute("GENERATE SYNTHETIC FROM people ROWS 50 INTO s USING copula WITH (seed = 1)")
    emails, names, ordered = con.sql(
        "SELECT count(DISTINCT email) FILTER (WHERE regexp_full_match(email, '[a-z0-9.]+@[a-z0-9.]+')), "
        "avg(regexp_full_match(full_name, '[A-Z][a-z]+ [A-Z][a-z]+')::INT), bool_and(a <= b) FROM s").fetchall()[0]
    assert emails == 50 and names == 1 and ordered


def test_codes_and_phones_made_by_shape(con):
    path = dataset("pagila") / "address.csv"
    _load(con, "address", f"SELECT * FROM read_csv('{path}', types = {{'postal_code': 'VARCHAR', 'phone': 'VARCHAR'}})")
    profile = _profile(con, "address")
    assert profile.column("postal_code").meaning == "code" and profile.column("postal_code").shapes[0] == "99999"
    assert profile.column("phone").meaning == "phone"
    assert profile.column("district").meaning == "value" and profile.column("address").meaning == "value"
    con.execute("GENERATE SYNTHETIC FROM address INTO s USING copula WITH (seed = 1)")
    shaped, copied = con.sql("SELECT avg(regexp_full_match(postal_code, '[0-9]{4,5}')::INT), count(*) FILTER "
                             "(WHERE phone IN (SELECT phone FROM address)) FROM s").fetchall()[0]
    assert shaped == 1 and copied == 0
