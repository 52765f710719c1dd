"""EVALUATE SYNTHETIC on a real DuckDB: metrics with known answers, storage, options, HTML.

Adult rows come from ../shared/datasets (skipped when absent); generators with a
known answer are built in SQL/numpy: an identical copy, one column shuffled, every
column shuffled (independent marginals), the training set copied.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from scipy.spatial.distance import jensenshannon
from scipy.stats import ks_2samp, wasserstein_distance

import synthtab_db

pytest.importorskip("sklearn", reason="EVALUATE SYNTHETIC needs the quality extra (scikit-learn)")
pytest.importorskip("matplotlib", reason="EVALUATE SYNTHETIC needs the quality extra (matplotlib)")

from conftest import dataset  # noqa: E402

from synthtab_db.quality import distributions  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
TRAIN_ROWS = HOLDOUT_ROWS = 3000  # equal: the DCR comparison needs no subsampling


def _shuffle(table: pa.Table, columns: list[str], seed: int) -> pa.Table:
    """Each listed column permuted on its own: its marginal kept, its links to the rest cut."""
    rng = np.random.default_rng(seed)
    for name in columns:
        values = table[name].take(pa.array(rng.permutation(table.num_rows)))
        table = table.set_column(table.schema.get_field_index(name), name, values)
    return table


@pytest.fixture(scope="module")
def adult():
    """Adult: `real` (training rows) and `holdout`, disjoint, from one seeded permutation."""
    path = dataset("adult") / "adult.csv"
    con = synthtab_db.connect()
    rows = con.sql(f"SELECT * FROM read_csv('{path}')").to_arrow_table()
    order = np.random.default_rng(0).permutation(rows.num_rows)
    for name, pick in (("real", order[:TRAIN_ROWS]), ("holdout", order[TRAIN_ROWS : TRAIN_ROWS + HOLDOUT_ROWS])):
        con.duckdb.register("__rows", rows.take(pa.array(pick)))
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM __rows")
        con.duckdb.unregister("__rows")
    yield con
    con.close()


def _table(con, name: str, table: pa.Table) -> None:
    con.duckdb.register("__rows", table)
    con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM __rows")
    con.duckdb.unregister("__rows")


def evaluate(con, sql: str) -> dict:
    """Run an EVALUATE; returns {(metric, columns): value} over the stored rows of that run."""
    summary = con.execute(sql).fetchall()
    run_id = summary[0][0]
    rows = con.execute(
        "SELECT metric, columns, value FROM synthtab.quality_reports WHERE run_id = ?", [run_id]
    ).fetchall()
    return {(metric, columns): value for metric, columns, value in rows}


def values(found: dict, metric: str) -> dict:
    return {columns: v for (m, columns), v in found.items() if m == metric}


# -- two-sample statistics in SQL, against scipy --------------------------------------------


def test_sql_statistics_match_scipy(con):
    rng = np.random.default_rng(1)
    a, b = rng.normal(0, 1, 3000), rng.gamma(2.0, 1.0, 2000)
    _table(con, "a", pa.table({"x": a}))
    _table(con, "b", pa.table({"x": b}))
    ks, w1 = distributions.ks_wasserstein(con.duckdb, "SELECT x FROM a", "SELECT x FROM b")
    assert ks == pytest.approx(ks_2samp(a, b).statistic, abs=1e-12)
    assert w1 == pytest.approx(wasserstein_distance(a, b) / (a.max() - a.min()), rel=1e-9)


def test_category_statistics_known_answer(con):
    con.execute("CREATE TABLE r AS SELECT x FROM (VALUES ('a'), ('b'), (NULL)) t(x)")
    con.execute("CREATE TABLE s AS SELECT x FROM (VALUES ('a'), ('a'), ('c')) t(x)")
    stats = distributions.category_stats(con.duckdb, "SELECT x FROM r", "SELECT x FROM s")
    p, q = np.array([0.5, 0.5, 0]), np.array([2 / 3, 0, 1 / 3])
    assert stats["tvd"] == pytest.approx(0.5 * np.abs(p - q).sum())
    assert stats["js"] == pytest.approx(jensenshannon(p, q, base=2))
    assert stats["coverage"] == pytest.approx(0.5)  # 'b' never appears
    assert stats["unseen_share"] == pytest.approx(1 / 3)  # 'c' is invented


def test_dates_booleans_and_nulls_are_compared(con):
    con.execute(
        """
        CREATE TABLE r (id INTEGER PRIMARY KEY, day DATE, stamp TIMESTAMP, flag BOOLEAN, n INTEGER);
        INSERT INTO r SELECT i, DATE '2020-01-01' + i, TIMESTAMP '2020-01-01' + to_hours(i), i % 2 = 0,
                             CASE WHEN i % 5 = 0 THEN NULL ELSE i % 7 END FROM (SELECT CAST(range AS INTEGER) AS i FROM range(500));
        CREATE TABLE s AS SELECT id, day + 100 AS day, stamp, flag, n FROM r;
        """
    )
    found = evaluate(con, "EVALUATE SYNTHETIC s AGAINST r WITH (sample_rows = 1000)")
    assert ("ks", "id") not in found  # a key column is generated, not learned
    assert values(found, "ks")["day"] == pytest.approx(0.2)  # 100 of 500 days shifted out
    assert values(found, "ks")["stamp"] == 0 and values(found, "tvd")["flag"] == 0
    assert values(found, "column_score")["n"] == 1.0


def test_near_unique_text_is_compared_by_length(con):
    con.execute(
        """
        CREATE TABLE r AS SELECT 'user' || i || '@example.com' AS email, ['a', 'b'][1 + i % 2] AS grp
                          FROM range(1000, 2000) t(i);
        CREATE TABLE s AS SELECT 'user' || i || '@example.com' AS email, ['a', 'b'][1 + i % 2] AS grp
                          FROM range(5000, 6000) t(i);
        """
    )
    found = evaluate(con, "EVALUATE SYNTHETIC s AGAINST r WITH (sample_rows = 1000)")
    assert ("tvd", "email") not in found  # as categories every value would differ
    assert values(found, "ks")["email"] == 0 and values(found, "column_score")["email"] == 1.0  # same lengths
    assert values(found, "tvd")["grp"] == 0


# -- fidelity with known answers -------------------------------------------------------------


def test_identical_tables_score_perfect(adult):
    adult.execute("CREATE OR REPLACE TABLE same AS SELECT * FROM real")
    found = evaluate(adult, "EVALUATE SYNTHETIC same AGAINST real WITH (sample_rows = 5000)")
    assert found[("fidelity_score", None)] == pytest.approx(1.0)
    assert min(values(found, "column_score").values()) == pytest.approx(1.0)
    assert min(values(found, "pair_score").values()) == pytest.approx(1.0)
    assert found[("correlation_frobenius", None)] == pytest.approx(0.0, abs=1e-9)
    assert found[("pca_similarity", None)] == pytest.approx(1.0)
    assert max(values(found, "ks").values()) == 0 and max(values(found, "tvd").values()) == 0


def test_shuffled_column_keeps_its_shape_but_breaks_its_pairs(adult):
    _table(adult, "shuffled", _shuffle(adult.sql("SELECT * FROM real").to_arrow_table(), ["relationship"], seed=3))
    found = evaluate(adult, "EVALUATE SYNTHETIC shuffled AGAINST real WITH (sample_rows = 5000)")
    assert min(values(found, "column_score").values()) == pytest.approx(1.0)
    pairs = values(found, "pair_score")
    touched = [v for pair, v in pairs.items() if "relationship" in pair.split(", ")]
    untouched = [v for pair, v in pairs.items() if "relationship" not in pair.split(", ")]
    assert min(untouched) == pytest.approx(1.0)
    assert pairs["relationship, sex"] < 0.75 and np.mean(touched) < 0.93
    assert values(found, "correlation_diff")["relationship, sex"] > 0.5  # Cramér's V ~0.65 real, ~0 shuffled


def test_independent_marginals_score_high_on_columns_low_on_pairs(adult):
    real = adult.sql("SELECT * FROM real").to_arrow_table()
    _table(adult, "independent", _shuffle(real, real.column_names, seed=5))
    found = evaluate(adult, "EVALUATE SYNTHETIC independent AGAINST real WITH (sample_rows = 5000)")
    assert found[("column_shapes", None)] == pytest.approx(1.0)
    assert found[("pair_trends", None)] < 0.85
    assert found[("fidelity_score", None)] < 0.93
    assert found[("correlation_frobenius", None)] > 2.0
    assert found[("pca_similarity", None)] < 0.95


# -- privacy ------------------------------------------------------------------------------------


def test_copied_training_set_is_flagged(adult):
    adult.execute("CREATE OR REPLACE TABLE copied AS SELECT * FROM real")
    summary = adult.execute(
        "EVALUATE SYNTHETIC copied AGAINST real HOLDOUT holdout WITH (sample_rows = 3000, sensitive = 'income')"
    )
    found = {(r[4], r[5]): (r[6], json.loads(r[7])) for r in summary.fetchall()}
    share, detail = found[("dcr_share", None)]
    assert share > 0.95 and detail["p_value"] < 1e-6 and detail["significant"]
    copies, copy_detail = found[("exact_copies", None)]
    assert copies >= TRAIN_ROWS - 5  # every row but Adult's own duplicates
    assert copy_detail["holdout_copies"] < 20
    assert found[("membership_inference_auc", None)][0] > 0.9
    accuracy, ai = found[("attribute_inference_accuracy", "income")]
    assert accuracy == pytest.approx(1.0) and ai["lift_over_baseline"] > 0.2


def test_copula_synthetic_is_useful_and_not_a_copy(adult):
    adult.execute(
        "GENERATE SYNTHETIC FROM real ROWS 3000 INTO copula_synth USING copula WITH (seed = 11, replace = TRUE)"
    )
    found = evaluate(
        adult,
        "EVALUATE SYNTHETIC copula_synth AGAINST real HOLDOUT holdout TARGET income WITH (sample_rows = 2000, seed = 2)",
    )
    assert 0.85 < found[("fidelity_score", None)] < 1.0
    assert found[("trtr_roc_auc", "income")] > 0.85 and found[("tstr_roc_auc", "income")] > 0.7
    assert ("trts_accuracy", "income") in found and ("importance_rank_corr", "income") in found
    assert 0.4 < found[("dcr_share", None)] < 0.6
    assert 0.4 < found[("membership_inference_auc", None)] < 0.6
    assert found[("exact_copies", None)] < 20


def test_numeric_target_without_holdout_tests_on_a_split_and_shows_the_leak(adult):
    adult.execute("CREATE OR REPLACE TABLE same AS SELECT * FROM real")
    rows = adult.execute("EVALUATE SYNTHETIC same AGAINST real TARGET age WITH (sample_rows = 1500)").fetchall()
    found = {r[4]: (r[6], json.loads(r[7])) for r in rows if r[3] == "utility"}
    assert found["trtr_r2"][1]["task"] == "regression" and "real sample" in found["trtr_r2"][1]["test"]
    # the copy holds the test rows, so its model has seen them: the note in the report says so
    assert found["tstr_r2"][0] > found["trtr_r2"][0] + 0.1
    assert "dcr_share" not in {r[4] for r in rows}  # no holdout, no share


# -- storage and the result set ------------------------------------------------------------------


def test_results_land_in_quality_reports_and_into(adult):
    adult.execute("CREATE OR REPLACE TABLE same AS SELECT * FROM real")
    result = adult.execute("EVALUATE SYNTHETIC same AGAINST real INTO my_report WITH (sample_rows = 1000)")
    summary = result.arrow()
    run_id = summary["run_id"][0].as_py()
    assert {"fidelity_score", "column_shapes", "pair_trends", "sample_rows", "dcr_median"} <= set(
        summary["metric"].to_pylist()
    )
    stored = adult.execute(
        "SELECT synthetic_table, real_table, metric_group, metric, columns, value, detail, CAST(created AS VARCHAR) "
        "FROM synthtab.quality_reports WHERE run_id = ? ORDER BY ALL",
        [run_id],
    ).fetchall()
    copied = adult.execute(
        "SELECT synthetic_table, real_table, metric_group, metric, columns, value, detail, "
        "CAST(created AS VARCHAR) FROM my_report ORDER BY ALL"
    ).fetchall()
    assert stored == copied and len(stored) > summary.num_rows
    assert {r[0] for r in stored} == {"same"} and {r[1] for r in stored} == {"real"}
    assert {"column", "pairwise", "table", "privacy", "overall"} <= {r[2] for r in stored}
    sample = next(json.loads(r[6]) for r in stored if r[3] == "sample_rows")
    assert sample["real_sampled"] == 1000 and sample["real_rows"] == TRAIN_ROWS


def test_a_failing_into_stores_nothing(con):
    con.execute(
        "CREATE TABLE r AS SELECT range AS x, range % 3 AS y FROM range(300); CREATE TABLE s AS SELECT * FROM r"
    )
    con.execute("CREATE TABLE occupied (something_else INTEGER)")
    with pytest.raises(Exception, match="occupied|column"):
        con.execute("EVALUATE SYNTHETIC s AGAINST r INTO occupied")
    assert not _stored(con)
    con.execute("BEGIN TRANSACTION")
    with pytest.raises(synthtab_db.SynthError, match="transaction of its own"):
        con.execute("EVALUATE SYNTHETIC s AGAINST r")
    con.execute("ROLLBACK")
    con.execute("EVALUATE SYNTHETIC s AGAINST r").fetchall()
    assert _stored(con)


def _stored(con) -> int:
    """Rows in synthtab.quality_reports, 0 when the table is not there."""
    exists = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'synthtab' AND table_name = 'quality_reports'"
    ).fetchall()[0][0]
    return exists and con.execute("SELECT count(*) FROM synthtab.quality_reports").fetchall()[0][0]


def test_schema_pair_reports_cardinality_and_orphans(con):
    con.execute(
        """
        CREATE TABLE customers (id INTEGER PRIMARY KEY, segment VARCHAR, age INTEGER);
        CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER REFERENCES customers (id), amount DOUBLE);
        INSERT INTO customers SELECT i, ['a', 'b', 'c'][1 + i % 3], 20 + i % 50 FROM range(1, 201) t(i);
        INSERT INTO orders SELECT i, 1 + (i * 7) % 200, i % 97 FROM range(1, 1001) t(i);
        CREATE SCHEMA synth;
        CREATE TABLE synth.customers AS SELECT * FROM customers;
        CREATE TABLE synth.orders AS SELECT id, CASE WHEN id <= 30 THEN 999 ELSE customer_id END AS customer_id, amount FROM orders;
        """
    )
    found = evaluate(con, "EVALUATE SYNTHETIC SCHEMA synth AGAINST SCHEMA main WITH (sample_rows = 1000)")
    edge = "orders(customer_id) -> customers(id)"
    assert found[("fk_orphans", edge)] == 30
    assert found[("children_per_parent_ks", edge)] > 0
    assert found[("integrity_score", None)] == pytest.approx(1 - 30 / 1000)
    assert values(found, "fidelity_score")  # per table and for the schema


def test_generated_database_has_no_orphans(con):
    from synthtab_db.datasets import load_relational

    load_relational(con.duckdb, Path(synthtab_db.__file__).parent / "data" / "chinook")
    con.execute("GENERATE SYNTHETIC FROM DATABASE main INTO SCHEMA synth USING copula WITH (seed = 3)")
    summary = con.execute("EVALUATE SYNTHETIC SCHEMA synth AGAINST SCHEMA main WITH (sample_rows = 500)").arrow()
    rows = summary.to_pylist()
    integrity = next(r for r in rows if r["metric"] == "integrity_score" and r["synthetic"] == "schema synth")
    cardinality = next(r for r in rows if r["metric"] == "cardinality_score")
    assert integrity["value"] == 1.0 and cardinality["value"] > 0.7
    assert sum(r["metric"] == "fk_orphans" for r in rows) >= 10  # one per FK edge


# -- refused input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "clause, message",
    [
        ("WITH (sample_row = 10)", "allowed options: html, sample_rows, seed, sensitive"),
        ("WITH (sample_rows = 5)", "sample_rows"),
        ("WITH (seed = 'x')", "seed"),
        ("TARGET nope", "TARGET column 'nope'"),
        ("WITH (sensitive = 'nope')", "sensitive column 'nope'"),
        ("HOLDOUT missing_table", "missing_table does not exist"),
    ],
)
def test_bad_input_is_refused_with_a_clear_error(adult, clause, message):
    adult.execute("CREATE OR REPLACE TABLE same AS SELECT * FROM real LIMIT 200")
    with pytest.raises(synthtab_db.SynthError, match=message.replace("(", r"\(")):
        adult.execute(f"EVALUATE SYNTHETIC same AGAINST real {clause}")


def test_missing_table_and_schema_holdout_are_refused(con):
    with pytest.raises(synthtab_db.SynthError, match="nothing does not exist"):
        con.execute("EVALUATE SYNTHETIC nothing AGAINST nothing_either")
    con.execute("CREATE TABLE t AS SELECT 1 AS x")
    with pytest.raises(synthtab_db.SynthError, match="HOLDOUT and TARGET apply to one table"):
        con.execute("EVALUATE SYNTHETIC SCHEMA main AGAINST SCHEMA main HOLDOUT t")


# -- the HTML page in a real browser ----------------------------------------------------------------


def test_html_report_renders_in_headless_chromium(adult, tmp_path):
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium) - cannot render the HTML report")
    adult.execute("GENERATE SYNTHETIC FROM real ROWS 3000 INTO html_synth USING copula WITH (seed = 4, replace = TRUE)")
    page = tmp_path / "report.html"
    adult.execute(
        f"EVALUATE SYNTHETIC html_synth AGAINST real HOLDOUT holdout TARGET income "
        f"WITH (html = '{page}', sample_rows = 1500, sensitive = 'sex')"
    ).fetchall()
    html = page.read_text()
    assert html.count('<img alt="distribution of') == 15 and "association heatmaps" in html and "DCR histogram" in html
    assert html.count("data:image/png;base64,") >= 17 and "http://" not in html and "https://" not in html
    assert html.index("Overall scores") < html.index("Weakest columns") < html.index("Columns: real vs synthetic")
    shot = tmp_path / "report.png"
    subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            f"--screenshot={shot}",
            "--window-size=1200,3000",
            page.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    if os.environ.get("SYNTHTAB_ARTIFACTS"):
        shutil.copy(shot, Path(os.environ["SYNTHTAB_ARTIFACTS"]) / "quality_report.png")
    from matplotlib.image import imread

    pixels = imread(shot)
    assert shot.stat().st_size > 50_000 and pixels.shape[:2] == (3000, 1200)
    assert len(np.unique(pixels.reshape(-1, pixels.shape[-1])[::97], axis=0)) > 50  # plots, not a blank page
