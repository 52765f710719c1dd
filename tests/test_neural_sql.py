"""The torch models through SQL: default model, conditional WHERE, persistence, bad options."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from conftest import dataset

import synthtab_db
from synthtab_db.datasets import load_csv

pytest.importorskip("torch")

FAST = "epochs = 3, max_seconds = 20"


@pytest.fixture(scope="module")
def adult():
    con = synthtab_db.connect()
    load_csv(con.duckdb, "adult_all", dataset("adult") / "adult.csv")
    con.execute("CREATE TABLE adult AS SELECT * FROM adult_all USING SAMPLE 6000 ROWS (reservoir, 1)")
    yield con
    con.close()


def snapshot(con):
    # synthtab.runs is left out: the audit trail records every statement, refused ones too
    return con.execute("SELECT schema_name, table_name, estimated_size FROM duckdb_tables() "
                       "WHERE NOT (schema_name = 'synthtab' AND table_name = 'runs') ORDER BY ALL").fetchall()


def test_argn_is_the_default_where_torch_is_installed(monkeypatch):
    from synthtab_db.models import auto, default_model

    monkeypatch.delenv("SYNTHTAB_DEFAULT_MODEL", raising=False)
    assert default_model() == "auto" and auto.choose(auto.COPULA_BELOW_ROWS, 1.0).model.name == "argn"


@pytest.mark.parametrize("model", ["argn", "ctgan", "tvae"])
def test_generate_with_each_neural_model(adult, model):
    extra = ", batch_size = 500" if model == "ctgan" else ""
    (row,) = adult.execute(
        f"GENERATE SYNTHETIC FROM adult ROWS 2000 INTO s_{model} USING {model} WITH (seed = 1, {FAST}{extra})"
    ).fetchall()
    assert row[2] == 2000 and row[3] == model
    assert adult.execute(f"SELECT count(DISTINCT education) > 5, count(*) FROM s_{model}").fetchall() == [(True, 2000)]


def test_rare_condition_is_sampled_not_filtered(adult):
    """A value seen in ~1% of rows: every generated row has it, and the other columns
    follow the real conditional distribution rather than the marginal (all of Adult:
    a few dozen rows of a country are too few to learn from)."""
    # the ~1% country whose race mix differs most from everyone's (so conditioning is visible)
    rare = adult.execute(
        """
        WITH c AS (SELECT native_country AS k FROM adult_all WHERE native_country IS NOT NULL GROUP BY native_country
                   HAVING count(*) / (SELECT count(*) FROM adult_all) BETWEEN 0.005 AND 0.03),
             m AS (SELECT race, count(*) / sum(count(*)) OVER () AS p FROM adult_all GROUP BY race),
             r AS (SELECT native_country AS k, race, count(*) / sum(count(*)) OVER (PARTITION BY native_country) AS p
                   FROM adult_all GROUP BY native_country, race),
             d AS (SELECT c.k, sum(abs(coalesce(r.p, 0) - m.p)) AS gap
                   FROM c CROSS JOIN m LEFT JOIN r ON r.k = c.k AND r.race = m.race GROUP BY c.k)
        SELECT k FROM d ORDER BY gap DESC LIMIT 1
        """
    ).fetchall()[0][0]
    adult.execute(
        f"GENERATE SYNTHETIC FROM adult_all ROWS 1000 INTO cond USING argn WHERE native_country = '{rare}' "
        f"WITH (seed = 2, epochs = 15, max_seconds = 3600)"  # bounded by epochs, never the clock
    )
    (n, off) = adult.execute(
        f"SELECT count(*), count(*) FILTER (WHERE native_country <> '{rare}') FROM cond"
    ).fetchall()[0]
    assert n == 1000 and off == 0
    gap = adult.execute(
        f"""
        WITH r AS (SELECT race, count(*) / sum(count(*)) OVER () AS p FROM adult_all WHERE native_country = '{rare}' GROUP BY race),
             m AS (SELECT race, count(*) / sum(count(*)) OVER () AS p FROM adult_all GROUP BY race),
             s AS (SELECT race, count(*) / sum(count(*)) OVER () AS p FROM cond GROUP BY race)
        SELECT sum(abs(coalesce(s.p, 0) - coalesce(r.p, 0))) / 2, sum(abs(coalesce(s.p, 0) - coalesce(m.p, 0))) / 2
        FROM (SELECT race FROM r UNION SELECT race FROM m UNION SELECT race FROM s) k
        LEFT JOIN r USING (race) LEFT JOIN m USING (race) LEFT JOIN s USING (race)
        """
    ).fetchall()[0]
    to_conditional, to_marginal = gap
    assert to_conditional < to_marginal


def test_unknown_condition_value_lists_allowed(adult):
    before = snapshot(adult)
    with pytest.raises(synthtab_db.SynthError, match="(?i)allowed"):
        adult.execute(f"GENERATE SYNTHETIC FROM adult ROWS 10 INTO bad USING argn WHERE race = 'Martian' WITH ({FAST})")
    assert snapshot(adult) == before


@pytest.mark.parametrize(
    "options, message",
    [("epochs = 0", "epochs"), ("device = 'cuda'", "no CUDA GPU"), ("colour = 1", "unknown option 'colour'")],
)
def test_bad_neural_options_leave_the_database_unchanged(adult, options, message):
    from synthtab_db.device import cuda_available

    if "cuda" in options and cuda_available():
        pytest.skip("a GPU is present here")
    before = snapshot(adult)
    with pytest.raises(synthtab_db.SynthError, match=message):
        adult.execute(f"GENERATE SYNTHETIC FROM adult ROWS 10 INTO bad USING argn WITH ({options})")
    assert snapshot(adult) == before


def test_argn_synthesizer_reloads_in_a_new_process(tmp_path):
    db = tmp_path / "a.duckdb"
    with synthtab_db.connect(str(db)) as con:
        load_csv(con.duckdb, "adult", dataset("adult") / "adult.csv")
        con.execute("DELETE FROM adult WHERE rowid >= 3000")
        con.execute(f"TRAIN SYNTHESIZER census ON adult USING argn WITH (seed = 3, {FAST})")
        expected = con.sql("SELECT * FROM census(200, seed := 9)").fetchall()
    script = textwrap.dedent(
        f"""
        import synthtab_db
        con = synthtab_db.connect({str(db)!r})
        con.execute("GENERATE SYNTHETIC FROM SYNTHESIZER census ROWS 300 INTO fresh WITH (seed = 1)")
        print(con.execute("SELECT count(*) FROM fresh").fetchall()[0][0])
        print(con.sql("SELECT * FROM census(200, seed := 9)").fetchall() == {expected!r})
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["300", "True"]
