"""A failure on the third table of a plan leaves no new table and no partial rows."""

from __future__ import annotations

import pyarrow as pa
import pytest

import synthtab_db
from synthtab_db.models.base import Synthesizer
from synthtab_db.models.registry import get_model, register

DDL = """
CREATE TABLE a (id INTEGER PRIMARY KEY, v INTEGER);
CREATE TABLE b (id INTEGER PRIMARY KEY, a_id INTEGER NOT NULL REFERENCES a (id), w INTEGER);
CREATE TABLE c (id INTEGER PRIMARY KEY, b_id INTEGER NOT NULL REFERENCES b (id), tag VARCHAR NOT NULL CHECK (tag = 'only'));
INSERT INTO a SELECT i, i FROM range(1, 21) t(i);
INSERT INTO b SELECT i, 1 + i % 20, i FROM range(1, 61) t(i);
INSERT INTO c SELECT i, 1 + i % 60, 'only' FROM range(1, 121) t(i);
"""

# synthtab is left out: the audit trail (synthtab.runs) records a failed statement on purpose.
USER_TABLES = ("SELECT schema_name, table_name, estimated_size FROM duckdb_tables() WHERE schema_name <> 'synthtab' "
               "ORDER BY ALL")
USER_TABLE_NAMES = "SELECT schema_name, table_name FROM duckdb_tables() WHERE schema_name <> 'synthtab' ORDER BY ALL"


class CopulaWrapper(Synthesizer):
    """The copula, with one table's sampling changed by a subclass."""

    def fit(self, data, table, context=None, run=None):
        self.table = table.name
        self.inner = get_model("copula")().fit(data, table)
        return self

    def to_bytes(self):
        return b""

    @classmethod
    def from_bytes(cls, blob):
        return cls()


@register
class BreaksTableC(CopulaWrapper):
    """The copula everywhere, except that table c's tag never satisfies its CHECK."""

    name = "breaks_table_c_for_tests"

    def sample(self, n, *, seed=None, context=None):
        out = self.inner.sample(n, seed=seed)
        if self.table == "c":
            out = out.set_column(out.column_names.index("tag"), "tag", pa.array(["nope"] * n))
        return out


def test_failure_on_third_table_rolls_back_everything(con):
    con.execute(DDL)
    con.execute("CREATE SCHEMA synth; CREATE TABLE synth.keep (x INTEGER); INSERT INTO synth.keep VALUES (1)")
    before = con.execute(USER_TABLES).fetchall()
    with pytest.raises(synthtab_db.SynthError, match=r"table synth\.c: only 0 of \d+ rows.*CHECK"):
        con.execute(
            "GENERATE SYNTHETIC FROM DATABASE main INTO SCHEMA synth USING breaks_table_c_for_tests WITH (seed = 1, max_rounds = 2)"
        )
    after = con.execute(USER_TABLES).fetchall()
    assert after == before
    assert con.execute("SELECT count(*) FROM synth.keep").fetchone() == (1,)
    # the plan itself is fine: with a working model all three tables appear
    con.execute("GENERATE SYNTHETIC FROM DATABASE main INTO SCHEMA synth WITH (seed = 1)")
    assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'synth'").fetchone() == (4,)


@register
class InterruptedWhileSampling(CopulaWrapper):
    """Stands for a user pressing Ctrl-C in the middle of a GENERATE."""

    name = "interrupted_for_tests"

    def sample(self, n, *, seed=None, context=None):
        if self.table == "b":
            raise KeyboardInterrupt
        return self.inner.sample(n, seed=seed)


def test_ctrl_c_writes_nothing(con):
    con.execute(DDL)
    before = con.execute(USER_TABLE_NAMES).fetchall()
    with pytest.raises(KeyboardInterrupt):
        con.execute("GENERATE SYNTHETIC FROM DATABASE main INTO SCHEMA synth USING interrupted_for_tests")
    assert con.execute(USER_TABLE_NAMES).fetchall() == before
    con.execute("GENERATE SYNTHETIC FROM a ROWS 5 INTO after_interrupt")  # the connection is usable again
