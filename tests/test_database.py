"""GENERATE SYNTHETIC FROM DATABASE on every shared relational database, audited by SQL."""

from __future__ import annotations

import pytest
from conftest import RELATIONAL, dataset

import synthtab_db
from synthtab_db.audit import audit_schema
from synthtab_db.datasets import load_relational


@pytest.fixture(params=RELATIONAL)
def loaded(request):
    con = synthtab_db.connect()
    load_relational(con.duckdb, dataset(request.param))
    yield request.param, con
    con.close()


def _counts(con, schema):
    rows = con.execute(
        "SELECT table_name, estimated_size FROM duckdb_tables() WHERE schema_name = ? ORDER BY table_name", [schema]
    ).fetchall()
    return {t: con.execute(f'SELECT count(*) FROM "{schema}"."{t}"').fetchall()[0][0] for t, _ in rows}


def test_database_copy_has_zero_violations(loaded):
    name, con = loaded
    result = con.execute("GENERATE SYNTHETIC FROM DATABASE main INTO SCHEMA synth WITH (seed = 11)").fetchall()
    real, synth = _counts(con, "main"), _counts(con, "synth")
    assert set(real) == set(synth), f"{name}: every table appears in the copy"
    violations = audit_schema(con.duckdb, "synth", constraints_from="main")
    assert len(violations) > 0
    assert {k: v for k, v in violations.items() if v} == {}, name
    # children follow learned cardinalities: at scale 1 totals stay close to the source
    for table, n in real.items():
        assert abs(synth[table] - n) <= max(5, 0.35 * n), f"{name}.{table}: {synth[table]} rows vs {n} real"
    assert len(result) == len(real)


def test_scale_changes_root_tables(loaded):
    name, con = loaded
    con.execute("GENERATE SYNTHETIC FROM DATABASE main INTO SCHEMA half SCALE 0.5 WITH (seed = 3)")
    violations = audit_schema(con.duckdb, "half", constraints_from="main")
    assert {k: v for k, v in violations.items() if v} == {}, name
    real, half = _counts(con, "main"), _counts(con, "half")
    assert sum(half.values()) < sum(real.values())


def test_self_reference_builds_a_tree():
    con = synthtab_db.connect()
    load_relational(con.duckdb, dataset("chinook"))
    con.execute("GENERATE SYNTHETIC FROM DATABASE main INTO SCHEMA synth WITH (seed = 5)")
    roots, total, orphans = con.execute(
        "SELECT count(*) FILTER (WHERE reports_to IS NULL), count(*), "
        "count(*) FILTER (WHERE reports_to IS NOT NULL AND reports_to NOT IN (SELECT employee_id FROM synth.employee)) "
        "FROM synth.employee"
    ).fetchall()[0]
    assert total == 8 and roots >= 1 and orphans == 0
    # every chain of reports_to ends at a root: no cycles
    depth = con.execute(
        """
        WITH RECURSIVE chain(id, boss, depth) AS (
            SELECT employee_id, reports_to, 0 FROM synth.employee
            UNION ALL SELECT c.id, e.reports_to, c.depth + 1 FROM chain c JOIN synth.employee e ON e.employee_id = c.boss
            WHERE c.depth < 20)
        SELECT max(depth) FROM chain
        """
    ).fetchall()[0][0]
    assert depth < 8


def test_chosen_tables_pull_in_their_parents():
    con = synthtab_db.connect()
    load_relational(con.duckdb, dataset("chinook"))
    rows = con.execute("GENERATE SYNTHETIC FROM (invoice_line) INTO SCHEMA part WITH (seed = 2)").arrow().to_pylist()
    by_table = {r["table"]: r for r in rows}
    assert set(by_table) == {
        f"part.{t}"
        for t in ("artist", "album", "genre", "media_type", "track", "employee", "customer", "invoice", "invoice_line")
    }
    assert by_table["part.customer"]["note"] == "pulled in: parent of a chosen table"
    assert by_table["part.invoice_line"]["note"] is None
    violations = audit_schema(con.duckdb, "part", constraints_from="main")
    assert {k: v for k, v in violations.items() if v} == {}


def test_per_table_rows_and_children_ks():
    con = synthtab_db.connect()
    load_relational(con.duckdb, dataset("chinook"))
    rows = con.execute(
        "GENERATE SYNTHETIC FROM DATABASE INTO SCHEMA s WITH (seed = 2, rows = {'artist': 500})"
    ).fetchall()
    by_table = {r[0]: r for r in rows}
    assert by_table["s.artist"][2] == 500
    assert by_table["s.album"][2] > 347  # children follow the larger parent table
    assert all(0.0 <= ks <= 1.0 for row in rows for ks in dict(row[8]).values())
    # the FK that sets child counts keeps the real children-per-parent distribution
    assert dict(by_table["s.album"][8])["artist_id -> artist"] <= 0.05
    with pytest.raises(synthtab_db.SynthError, match="names \\['nosuch'\\]"):
        con.execute("GENERATE SYNTHETIC FROM DATABASE INTO SCHEMA t WITH (rows = {'nosuch': 5})")


def test_sequential_children_keep_order_and_time_gaps():
    con = synthtab_db.connect()
    load_relational(con.duckdb, dataset("beijing_air_quality"))
    con.execute("GENERATE SYNTHETIC FROM DATABASE INTO SCHEMA s WITH (seed = 4, rows = {'station': 3})")
    gaps = con.execute(
        "SELECT station, count(*) AS n, min(gap) AS lo, max(gap) AS hi FROM ("
        "  SELECT station, ts - lag(ts) OVER (PARTITION BY station ORDER BY ts) AS gap FROM s.air_quality)"
        " WHERE gap IS NOT NULL GROUP BY station"
    ).fetchall()
    assert len(gaps) == 3
    real = con.execute(
        "SELECT DISTINCT ts - lag(ts) OVER (PARTITION BY station ORDER BY ts) FROM main.air_quality"
    ).fetchall()
    real_gaps = {r[0] for r in real if r[0] is not None}
    for _station, n, lo, hi in gaps:
        assert n == 8759 and lo in real_gaps and hi in real_gaps
    starts = con.execute("SELECT DISTINCT min(ts) FROM s.air_quality GROUP BY station").fetchall()
    assert starts == con.execute("SELECT DISTINCT min(ts) FROM main.air_quality GROUP BY station").fetchall()
