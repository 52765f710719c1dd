"""GENERATE … WITH (target_quality = q, max_rounds = r): rounds scored against a holdout of
the source, the best kept, the rounds' scores in the result, nothing left behind on failure.

Real DuckDB and a real slice of UCI Adult; the scores are recomputed here from the
target table and a re-made holdout, not copied from a run.
"""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
import pytest

import synthtab_db
from synthtab_db.catalog import read_schema
from synthtab_db.engine.adjustments import Adjustment, adjusts
from synthtab_db.engine.feedback import holdout_split, split_source
from synthtab_db.models.base import Synthesizer
from synthtab_db.models.registry import get_model, register
from synthtab_db.planner.schema import TableRef

pytest.importorskip("sklearn", reason="target_quality scores with the quality extra (scikit-learn)")

from synthtab_db.quality import EvaluateOptions, fidelity_report  # noqa: E402

SOURCE_ROWS = 1500
SEED = 3


@pytest.fixture
def adult(con, adult_path):
    con.execute(f"CREATE TABLE adult AS SELECT * FROM read_csv('{adult_path}') LIMIT {SOURCE_ROWS}")
    return con


def _tables(con) -> list[tuple]:
    # synthtab.runs is left out: the audit trail records every statement, refused ones too
    return con.execute("SELECT database_name, schema_name, table_name FROM duckdb_tables() "
                       "WHERE NOT (schema_name = 'synthtab' AND table_name = 'runs') ORDER BY ALL").fetchall()


def _result(con, sql: str) -> dict:
    rows = con.execute(sql).arrow().to_pylist()
    assert len(rows) == 1
    return rows[0]


def _target_score(con, target: str, where: str | None = None) -> float:
    """The target's fidelity against the holdout the loop used, re-made from the same seed."""
    table = read_schema(con.duckdb).table(TableRef(name="adult", schema="main"))
    _, holdout = split_source(con.duckdb, table, table.ref, SEED, where)
    report = fidelity_report(con.duckdb, TableRef(name=target, schema="main"), holdout, EvaluateOptions(seed=SEED))
    return report.value("fidelity_score")


def test_a_reachable_target_stops_after_one_round(adult):
    row = _result(
        adult, f"GENERATE SYNTHETIC FROM adult ROWS 800 INTO out USING copula WITH (seed = {SEED}, target_quality = 0.5)"
    )
    assert len(row["quality_rounds"]) == 1 and row["kept_round"] == 1
    assert row["quality_rounds"][0] >= 0.5
    assert "target 0.5 reached in round 1" in row["note"]
    assert adult.execute("SELECT count(*) FROM out").fetchone() == (800,)
    # nothing of the loop is left: no round tables, no scratch split
    assert [t[2] for t in _tables(adult)] == ["adult", "out", "quality_reports"]
    assert row["quality_rounds"][0] == pytest.approx(_target_score(adult, "out"), abs=1e-4)


def test_an_unreachable_target_runs_max_rounds_and_keeps_the_best(adult):
    row = _result(
        adult,
        f"GENERATE SYNTHETIC FROM adult INTO out USING copula WITH (seed = {SEED}, target_quality = 1, max_rounds = 3)",
    )
    scores = row["quality_rounds"]
    assert len(scores) == 3 and len(row["quality_changes"]) == 3
    assert row["quality_changes"][0] == "as given"
    assert all("shrinkage" in change for change in row["quality_changes"][1:])
    best = max(scores)
    assert row["kept_round"] == scores.index(best) + 1
    assert "not reached in 3 rounds" in row["note"]
    assert row["rows"] == SOURCE_ROWS == adult.execute("SELECT count(*) FROM out").fetchone()[0]
    assert _target_score(adult, "out") == pytest.approx(best, abs=1e-4)
    run_id = re.search(r"run_id (\w+)", row["note"]).group(1)
    stored = adult.execute(
        "SELECT synthetic_table, value FROM synthtab.quality_reports WHERE run_id = ? AND metric = 'fidelity_score'",
        [run_id],
    ).fetchall()
    assert stored[0][0] == "main.out" and stored[0][1] == pytest.approx(best, abs=1e-4)


def test_argn_rounds_get_more_training_and_the_scores_differ(adult):
    row = _result(
        adult,
        "GENERATE SYNTHETIC FROM adult ROWS 600 INTO out USING argn "
        f"WITH (seed = {SEED}, target_quality = 1, max_rounds = 2, epochs = 1, hidden_dim = 32)",
    )
    assert len(row["quality_rounds"]) == 2 and row["quality_rounds"][0] != row["quality_rounds"][1]
    assert "epochs 1 → 2" in row["quality_changes"][1]
    assert _target_score(adult, "out") == pytest.approx(max(row["quality_rounds"]), abs=1e-4)


@pytest.mark.parametrize("value", ["0", "-0.1", "1.5", "'high'", "TRUE"])
def test_a_bad_target_quality_is_refused_and_changes_nothing(adult, value):
    before = _tables(adult)
    with pytest.raises(synthtab_db.SynthError, match=r"option 'target_quality'.*a number in \(0, 1\]"):
        adult.execute(f"GENERATE SYNTHETIC FROM adult INTO out WITH (target_quality = {value})")
    assert _tables(adult) == before


@pytest.mark.parametrize(
    ("statement", "message"),
    [
        ("GENERATE SYNTHETIC FROM DATABASE main INTO SCHEMA s WITH (target_quality = 0.9)", "not FROM DATABASE"),
        ("GENERATE SYNTHETIC FROM (adult) INTO SCHEMA s WITH (target_quality = 0.9)", "not FROM DATABASE"),
        ("GENERATE SYNTHETIC FROM SYNTHESIZER nosuch INTO s WITH (target_quality = 0.9)", "FROM SYNTHESIZER"),
        ("GENERATE SYNTHETIC FROM adult INTO adult2 WITH (target_quality = 0.9, append = true)", "does not append"),
    ],
)
def test_what_the_loop_does_not_cover_is_refused(adult, statement, message):
    adult.execute("CREATE TABLE adult2 AS SELECT * FROM adult LIMIT 5")
    before = _tables(adult)
    with pytest.raises(synthtab_db.SynthError, match=message):
        adult.execute(statement)
    assert _tables(adult) == before


def test_replace_swaps_in_the_kept_round(adult):
    adult.execute("CREATE TABLE out AS SELECT * FROM adult LIMIT 3")
    row = _result(
        adult,
        f"GENERATE SYNTHETIC FROM adult ROWS 500 INTO out USING copula WITH (seed = {SEED}, target_quality = 0.5, replace = true)",
    )
    assert row["kept_round"] == 1 and adult.execute("SELECT count(*) FROM out").fetchone() == (500,)


def test_where_scores_against_the_matching_holdout_rows(adult):
    where = "sex = 'Female'"
    row = _result(
        adult,
        f"GENERATE SYNTHETIC FROM adult ROWS 400 INTO out USING copula WHERE {where} "
        f"WITH (seed = {SEED}, target_quality = 0.5)",
    )
    assert adult.execute("SELECT count(*), count(*) FILTER (WHERE sex = 'Female') FROM out").fetchone() == (400, 400)
    assert row["quality_rounds"][0] == pytest.approx(_target_score(adult, "out", where), abs=1e-4)


class _Copula(Synthesizer):
    """The copula under another name (so no adjuster is known for it)."""

    fits = 0

    def fit(self, data, table, context=None, run=None):
        type(self).fits += 1
        self.inner = get_model("copula")().fit(data, table)
        return self

    def sample(self, n, *, seed=None, context=None):
        return self.inner.sample(n, seed=seed)

    def to_bytes(self):
        return b""

    @classmethod
    def from_bytes(cls, blob):
        return cls()


@register
class NoAdjustments(_Copula):
    name = "no_adjustments_for_tests"


@register
class FailsInRoundTwo(_Copula):
    """Stands for anything that goes wrong after a round has already written its table."""

    name = "fails_in_round_two_for_tests"

    def fit(self, data, table, context=None, run=None):
        if type(self).fits >= 1:
            raise synthtab_db.SynthError("round two failed")
        return super().fit(data, table, context)


adjusts(FailsInRoundTwo.name)(lambda options, weakness: Adjustment(options, ("again",)))


@register
class GetsWorse(_Copula):
    """The copula, but its adjusted rounds cut every link between columns (each one shuffled)."""

    name = "gets_worse_for_tests"

    def sample(self, n, *, seed=None, context=None):
        out = self.inner.sample(n, seed=seed)
        if not self.options.get("worse"):
            return out
        rng = np.random.default_rng(seed)
        return pa.table({c: out[c].take(pa.array(rng.permutation(n))) for c in out.column_names})


adjusts(GetsWorse.name)(lambda options, weakness: Adjustment({**options, "worse": True}, ("worse",)))


def test_a_model_without_adjustments_stops_after_round_one_and_says_so(adult):
    row = _result(
        adult,
        f"GENERATE SYNTHETIC FROM adult ROWS 500 INTO out USING {NoAdjustments.name} "
        f"WITH (seed = {SEED}, target_quality = 1, max_rounds = 3)",
    )
    assert len(row["quality_rounds"]) == 1
    assert f"no adjustments known for model {NoAdjustments.name}" in row["note"]


def test_a_worse_later_round_is_not_kept(adult):
    row = _result(
        adult,
        f"GENERATE SYNTHETIC FROM adult ROWS 600 INTO out USING {GetsWorse.name} "
        f"WITH (seed = {SEED}, target_quality = 1, max_rounds = 2)",
    )
    first, second = row["quality_rounds"]
    assert second < first  # shuffled columns lose the pair trends
    assert row["kept_round"] == 1
    assert _target_score(adult, "out") == pytest.approx(first, abs=1e-4)


def test_a_failure_in_a_later_round_leaves_the_database_unchanged(adult):
    FailsInRoundTwo.fits = 0
    before = _tables(adult)
    with pytest.raises(synthtab_db.SynthError, match="round two failed"):
        adult.execute(
            f"GENERATE SYNTHETIC FROM adult ROWS 300 INTO out USING {FailsInRoundTwo.name} "
            "WITH (target_quality = 1, max_rounds = 2)"
        )
    assert FailsInRoundTwo.fits == 1  # round one ran (and wrote its table) before the failure
    assert _tables(adult) == before
    adult.execute("GENERATE SYNTHETIC FROM adult ROWS 5 INTO after_failure")  # the connection is usable


def test_the_holdout_is_a_seeded_fifth_disjoint_from_the_rows_learned():
    fit, holdout = holdout_split(1000, seed=7)
    assert len(holdout) == 200 and len(fit) == 800
    assert not set(fit) & set(holdout) and set(fit) | set(holdout) == set(range(1000))
    assert (holdout_split(1000, seed=7)[1] == holdout).all() and not (holdout_split(1000, seed=8)[1] == holdout).all()


def test_a_table_of_keys_only_has_nothing_to_score_and_stops(con):
    con.execute("CREATE TABLE ids (id INTEGER PRIMARY KEY); INSERT INTO ids SELECT range FROM range(200)")
    row = _result(con, "GENERATE SYNTHETIC FROM ids INTO out WITH (target_quality = 0.9, max_rounds = 3)")
    assert row["quality_rounds"] == [None] and row["kept_round"] == 1
    assert "no learned column to score" in row["note"]
    assert con.execute("SELECT count(DISTINCT id) FROM out").fetchone() == (200,)


def test_a_source_too_small_to_hold_rows_out_is_refused(adult):
    adult.execute("CREATE TABLE tiny AS SELECT * FROM adult LIMIT 60")
    before = _tables(adult)
    with pytest.raises(synthtab_db.SynthError, match=r"leaves 12 holdout rows.*needs 20 \(a source of at least 100"):
        adult.execute("GENERATE SYNTHETIC FROM tiny INTO out WITH (target_quality = 0.9)")
    assert _tables(adult) == before
