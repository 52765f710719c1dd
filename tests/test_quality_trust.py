"""Scores that can be trusted (issue 15): utility on a target that is a function of one
many-valued text column, a ratio only where real-on-real beats a trivial baseline,
multiclass AUC on any model's output, verbatim copies of rare values counted."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import dataset

from synthtab_db.quality.utility import roc_auc


@pytest.fixture
def films(con):
    """pagila films (1,000 titles): the target is the title's first letter."""
    path = dataset("pagila") / "film.csv"
    con.execute(f"CREATE TABLE film AS SELECT title, rating, length, left(title, 1) AS letter FROM read_csv('{path}')")
    con.execute("CREATE TABLE real AS SELECT * FROM film USING SAMPLE reservoir(700 ROWS) REPEATABLE (1)")
    con.execute("CREATE TABLE hold AS SELECT * FROM film EXCEPT SELECT * FROM real")
    return con


def _utility(con, synthetic: str, target: str) -> dict:
    rows = con.execute(f"EVALUATE SYNTHETIC {synthetic} AGAINST real HOLDOUT hold TARGET {target}").fetchall()
    return {(r[4], r[5]): (r[6], json.loads(r[7]) if r[7] else {}) for r in rows}


def test_target_that_is_a_function_of_one_text_column_is_learnable(films):
    films.execute("GENERATE SYNTHETIC FROM real INTO s USING copula WITH (seed = 1)")
    found = _utility(films, "s", "letter")
    assert found[("trtr_accuracy", "letter")][0] > 0.85  # top-30 codes or lengths scored about 0.1
    ratio = found[("utility_ratio", "letter")][0]
    assert 0.8 < ratio <= 1.0
    assert found[("verbatim_rare_copies", "title")][0] >= 0  # counted for near-unique text too


def test_ratio_not_measurable_where_real_on_real_does_not_beat_the_baseline(films):
    films.execute("CREATE TABLE s AS SELECT title, rating, length, letter FROM real ORDER BY random()")
    films.execute("UPDATE real SET letter = CASE WHEN hash(title) % 2 = 0 THEN 'x' ELSE 'y' END")
    films.execute("UPDATE hold SET letter = CASE WHEN hash(title) % 3 = 0 THEN 'x' ELSE 'y' END")
    value, detail = _utility(films, "s", "letter")[("utility_ratio", "letter")]
    assert value is None and "baseline" in detail["not_measurable"]


def test_multiclass_auc_from_a_model_that_never_saw_a_class():
    class OneClass:
        classes_ = np.array([0.0])

        def predict_proba(self, x):
            return np.ones((len(x), 1))

    assert roc_auc(OneClass(), np.zeros((6, 1)), np.array([0.0, 1.0, 2.0, 0.0, 1.0, 2.0])) == pytest.approx(0.5)


def test_rare_personal_values_are_counted_and_zero_after_generation(con):
    path = dataset("pagila") / "customer.csv"
    con.execute(f"CREATE TABLE real AS SELECT first_name, last_name, email, store_id FROM read_csv('{path}')")
    con.execute("CREATE TABLE copied AS SELECT * FROM real")
    con.execute("GENERATE SYNTHETIC FROM real INTO s USING copula WITH (seed = 4)")
    for table, expect_zero in (("s", True), ("copied", False)):
        rows = con.execute(f"EVALUATE SYNTHETIC {table} AGAINST real").fetchall()
        counts = {r[5]: (r[6], json.loads(r[7])["meaning"]) for r in rows if r[4] == "verbatim_rare_copies"}
        assert counts["email"][1] == "email" and counts["first_name"][1] == "name"
        assert (counts["email"][0] == 0 and counts["last_name"][0] == 0) == expect_zero
