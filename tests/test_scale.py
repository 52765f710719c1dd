"""Size is a non-event: streaming in bounded memory, learning from a seeded sample,
refusing what cannot fit, a kill that leaves nothing, progress and stop reasons, a
light start-up (issue 14: items 1, 2, 7, 8)."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import numpy as np
import pytest

import synthtab_db
from synthtab_db import SynthError
from synthtab_db.catalog import read_schema
from synthtab_db.engine.learn import learn_table
from synthtab_db.engine.stop_note import EpochWatch
from synthtab_db.models import get_model, registry
from synthtab_db.planner.schema import TableRef
from synthtab_db.progress import BarProgress, LogProgress, default_progress

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ("SELECT setseed(0.5); CREATE TABLE src AS SELECT (random() * 100)::INT AS a, random() AS b, "
          "'c' || (random() * 50)::INT AS c, DATE '2020-01-01' + (random() * 1000)::INT AS d, "
          "'a somewhat longer text value number ' || (random() * 200)::INT AS e FROM range(5000)")


def _python(code: str, *args: str, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), *args], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs)


MEMORY_CHILD = f"""
    import resource, sys, synthtab_db
    rows, path = int(sys.argv[1]), sys.argv[2]
    con = synthtab_db.connect(path)
    con.execute({SOURCE!r})
    con.execute(f"GENERATE SYNTHETIC FROM src ROWS {{rows}} INTO out USING copula "
                "WITH (seed = 1, sample_batch_size = 20000)")
    assert con.execute("SELECT count(*) FROM out").fetchone()[0] == rows
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def _peak_kb(rows: int, path: Path) -> int:
    child = _python(MEMORY_CHILD, str(rows), str(path))
    out, err = child.communicate(timeout=600)
    assert child.returncode == 0, err
    return int(out.split()[-1])


def test_memory_does_not_grow_with_rows(tmp_path):
    """16 times the rows, same batch: peak RSS grows by far less than the rows written.
    Measured: +~40 MB streaming; +~330 MB when every batch was kept until COMMIT (the
    accepted copy, a temp table replaced per batch, registered Arrow views)."""
    small = _peak_kb(50_000, tmp_path / "small.duckdb")
    large = _peak_kb(800_000, tmp_path / "large.duckdb")
    assert large - small < 150_000, f"peak RSS {small} kB -> {large} kB"


KILL_CHILD = """
    import sys, synthtab_db
    con = synthtab_db.connect(sys.argv[1])
    con.execute("CREATE TABLE src AS SELECT range AS a, random() AS b FROM range(2000)")
    def progress(table, done, total):
        if done:
            print("streaming", flush=True)
    con.progress = progress
    con.execute("GENERATE SYNTHETIC FROM src ROWS 50000000 INTO out USING copula WITH (sample_batch_size = 10000)")
"""


def test_a_kill_mid_stream_leaves_nothing(tmp_path):
    path = tmp_path / "killed.duckdb"
    child = _python(KILL_CHILD, str(path))
    assert child.stdout.readline().strip() == "streaming", child.stderr.read()
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=60)
    con = duckdb.connect(str(path))
    user_tables = "SELECT table_name FROM duckdb_tables() WHERE schema_name <> 'synthtab' ORDER BY 1"  # not the audit trail
    assert [r[0] for r in con.execute(user_tables).fetchall()] == ["src"]
    assert con.execute("SELECT count(*) FROM src").fetchone()[0] == 2000


def test_rows_beyond_the_disk_are_refused_before_anything_runs(tmp_path):
    con = synthtab_db.connect(str(tmp_path / "db.duckdb"))
    con.execute(SOURCE)
    tables = ("SELECT table_name, estimated_size FROM duckdb_tables() WHERE schema_name <> 'synthtab' "
              "ORDER BY 1")  # the audit trail records the refusal on purpose
    before = con.execute(tables).fetchall()
    with pytest.raises(SynthError, match=r"about [\d.]+ TB .*src: 900,000,000,000 rows x ~\d+ bytes.* free"):
        con.execute("GENERATE SYNTHETIC FROM src ROWS 900000000000 INTO out USING copula")
    assert con.execute(tables).fetchall() == before


@pytest.fixture
def shop():
    con = synthtab_db.connect()
    con.execute("""
        SELECT setseed(0.25);
        CREATE TABLE customer (id INTEGER PRIMARY KEY, region VARCHAR);
        INSERT INTO customer SELECT range + 1, ['n', 's', 'e'][1 + range % 3] FROM range(200);
        CREATE TABLE orders (order_id INTEGER PRIMARY KEY, customer_id INTEGER REFERENCES customer (id),
                             amount DOUBLE, kind VARCHAR);
        INSERT INTO orders SELECT 1000 + range, 1 + (random() * random() * 199)::INT, random() * 100,
                                  ['a', 'b', 'c', 'd'][1 + (range % 4)] FROM range(6000);
    """)
    yield con
    con.close()


def test_a_sample_is_used_above_train_rows_and_exact_aggregates_match(shop):
    schema = read_schema(shop.duckdb)
    table = schema.table(TableRef(name="orders", schema="main"))
    parents = {("customer_id",): TableRef(name="customer", schema="main")}
    learned = learn_table(shop.duckdb, table, table.ref, parents, get_model("copula"), {"seed": 3, "train_rows": 500})
    assert learned.source_rows == 6000
    assert any("sample of 500 of 6,000 source rows" in n for n in learned.notes)
    real = sorted(r[0] for r in shop.execute("SELECT count(o.order_id) FROM customer c LEFT JOIN orders o "
                                             "ON o.customer_id = c.id GROUP BY c.id").fetchall())
    assert sorted(learned.samplers[("customer_id",)].counts.tolist()) == real  # children per parent: exact
    assert learned.keygens["order_id"].generate(1, None).to_pylist() == [1000]  # the key range: exact


def test_a_sample_is_seeded_and_its_size_is_in_the_note(shop):
    def run(into: str, seed: int) -> tuple:
        result = shop.execute(f"GENERATE SYNTHETIC FROM orders INTO {into} USING copula "
                              f"WITH (seed = {seed}, train_rows = 300)").fetchall()[0]
        rows = shop.execute(f"SELECT sum(amount), string_agg(kind, '' ORDER BY order_id) FROM {into}").fetchall()
        return result, rows

    (first, same), (_, again), (_, other) = run("a1", 1), run("a2", 1), run("a3", 2)
    assert first[2] == 6000 and "sample of 300 of 6,000" in first[9]
    assert same == again and same != other


def test_under_dp_the_whole_table_is_read_and_the_spend_is_as_asked():
    con = synthtab_db.connect()
    con.execute(SOURCE)
    result = con.execute("GENERATE SYNTHETIC FROM src INTO p USING copula "
                         "WITH (seed = 1, train_rows = 300, epsilon = 2.0)").arrow().to_pylist()[0]
    assert "sample" not in (result["note"] or "")  # no sample: no amplification to account for
    whole = con.execute("GENERATE SYNTHETIC FROM src INTO q USING copula WITH (seed = 1, epsilon = 2.0)").arrow()
    assert result["epsilon"] == whole.column("epsilon")[0].as_py() <= 2.0  # the same spend as without train_rows
    spent = con.execute("SELECT sum(epsilon) FROM synthtab.privacy_ledger").fetchone()[0]
    assert spent == pytest.approx(2 * result["epsilon"])
    same = "SELECT count(*) FROM (SELECT * FROM p EXCEPT ALL SELECT * FROM q)"
    assert con.execute(same).fetchone()[0] == 0  # the same rows learned: train_rows is ignored under DP


def test_keys_stay_unique_across_many_batches_and_appends(shop):
    for into, extra in (("k", ""), ("k", ", append = true")):
        shop.execute(f"GENERATE SYNTHETIC FROM orders ROWS 2500 INTO {into} USING copula "
                     f"WITH (seed = 4, sample_batch_size = 300{extra})")
    counts = shop.execute("SELECT count(*), count(DISTINCT order_id), min(order_id) FROM k").fetchall()
    assert counts == [(5000, 5000, 1000)]
    orphans = shop.execute("SELECT count(*) FROM k WHERE customer_id NOT IN (SELECT id FROM customer)").fetchone()[0]
    assert orphans == 0


def test_random_keys_stay_unique_across_batches():
    con = synthtab_db.connect()
    con.execute("CREATE TABLE t (id UUID PRIMARY KEY, v INTEGER); "
                "INSERT INTO t SELECT uuid(), range % 7 FROM range(300)")
    con.execute("GENERATE SYNTHETIC FROM t ROWS 3000 INTO u USING copula WITH (seed = 1, sample_batch_size = 100)")
    assert con.execute("SELECT count(*), count(DISTINCT id) FROM u").fetchall() == [(3000, 3000)]


# -- progress and stop reasons ------------------------------------------------------------
class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_log_progress_says_rows_per_second_and_time_left(caplog):
    clock = Clock()
    progress = LogProgress(interval=5, clock=clock)
    with caplog.at_level(logging.INFO, logger="synthtab_db"):
        for step in range(1, 11):
            clock.now = step * 2.0
            progress("main.out", step * 100, 1000)
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0] == "main.out: generating 1,000 rows"
    assert lines[1:3] == ["main.out: 400 of 1,000 rows, 67 rows/s, about 9 s left",  # at t = 8 and 14:
                          "main.out: 700 of 1,000 rows, 58 rows/s, about 5 s left"]  # 5 s apart at least
    assert lines[-1] == "main.out: 1,000 rows in 18.0 s (56 rows/s)" and len(lines) == 4


def test_a_table_done_in_its_first_report_gets_no_made_up_rate(caplog):
    """Rows reported once, all at once: the elapsed time is ~0, so a rows/s figure would be noise."""
    progress = LogProgress(interval=5, clock=Clock())
    with caplog.at_level(logging.INFO, logger="synthtab_db"):
        progress("main.small", 3503, 3503)
    assert [r.getMessage() for r in caplog.records] == ["main.small: generating 3,503 rows",
                                                        "main.small: 3,503 rows written"]


def test_a_terminal_gets_a_bar_and_anything_else_log_lines(tmp_path):
    class Tty:
        def isatty(self) -> bool:
            return True

    assert isinstance(default_progress(Tty()), BarProgress)
    with open(tmp_path / "log", "w") as file:
        assert isinstance(default_progress(file), LogProgress)


def test_a_fit_cut_by_the_clock_while_improving_says_so():
    argn = get_model("argn")
    watch = EpochWatch()
    for epoch, loss in enumerate([3.0, 2.5, 2.2, 2.1], start=1):
        watch({"epoch": epoch, "loss": loss, "val_loss": loss, "seconds": 40.0 * epoch})
    note = watch.note(argn, {"max_seconds": 150, "epochs": 100})
    assert note.startswith("training stopped by max_seconds (150 s) after 4 of 100 epochs with the loss still falling")
    assert "max_seconds = 600" in note
    assert watch.note(argn, {"max_seconds": 500, "epochs": 100}) is None  # not cut by the clock
    losses = [2, 1, 1.5, 1.6, 1.7]
    flat = EpochWatch(epochs=[{"epoch": i, "val_loss": v, "seconds": 60.0 * i} for i, v in enumerate(losses, 1)])
    assert flat.note(argn, {"max_seconds": 150}) is None  # no longer improving


# -- start-up and the command line ----------------------------------------------------------
HEAVY = ("torch", "transformers", "opacus", "sklearn")


def test_import_and_help_load_no_heavy_module():
    child = _python("""
        import sys
        import synthtab_db
        from synthtab_db.cli import main
        try:
            main(["--help"])
        except SystemExit:
            pass
        print(sorted(m for m in ("torch", "transformers", "opacus", "sklearn") if m in sys.modules))
    """)
    out, err = child.communicate(timeout=120)
    assert out.strip().splitlines()[-1] == "[]", err


def test_lazy_models_declare_their_class_preference():
    for name, lazy in registry.LAZY.items():
        if lazy.installed():
            assert get_model(name).preference == lazy.preference


def test_a_model_whose_packages_are_missing_names_the_extra(monkeypatch):
    ghost = registry.LazyModel("no.such.module", ("no_such_package_x",), "ghost", 1)
    monkeypatch.setitem(registry.LAZY, "ghost", ghost)
    with pytest.raises(SynthError, match=r"model 'ghost' needs no_such_package_x: pip install 'synthtab-db\[ghost\]'"):
        get_model("ghost")
    assert "ghost" not in registry.available_models()


def test_sql_prints_every_statement_and_refuses_a_missing_database(tmp_path, capsys):
    from synthtab_db.cli import main

    script = tmp_path / "s.sql"
    script.write_text("SELECT 1 AS first; SELECT 2 AS second;")
    assert main(["sql", str(script)]) == 0
    out = capsys.readouterr().out
    assert "first" in out and "second" in out
    assert main(["sql", str(script), "--database", str(tmp_path / "missing.duckdb")]) == 2
    assert "does not exist; to create it, add --create" in capsys.readouterr().err
    assert not (tmp_path / "missing.duckdb").exists()
    assert main(["sql", str(script), "--database", str(tmp_path / "new.duckdb"), "--create"]) == 0


def test_result_to_pandas_without_pandas_says_what_to_do(monkeypatch):
    con = synthtab_db.connect()
    con.execute("CREATE TABLE t AS SELECT range AS a FROM range(50)")
    result = con.execute("GENERATE SYNTHETIC FROM t ROWS 5 INTO s USING copula")
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(SynthError, match="pandas is not installed: pip install pandas"):
        result.df()


def test_the_demo_says_which_model_it_uses():
    from synthtab_db.cli.demo import model_line

    line = model_line()
    assert line.startswith(f"model: {registry.default_model()} (the default")
    if not registry.LAZY["argn"].installed():
        assert "pip install 'synthtab-db[torch]'" in line


def _memory_limit(con) -> str:
    duck = getattr(con, "duckdb", con)  # a synthtab_db connection or a plain DuckDB one
    return duck.execute("SELECT current_setting('memory_limit')").fetchone()[0]


def test_a_generate_bounds_duckdbs_buffer_pool_and_gives_the_setting_back(tmp_path):
    """DuckDB's cache kept every block written (~13 MB per million rows) up to 80% of RAM; the
    statement runs under memory_limit (default 1GB) and puts the user's setting back after,
    also when it fails."""
    from synthtab_db.sizes import size_bytes  # noqa: PLC0415

    con = synthtab_db.connect(str(tmp_path / "db.duckdb"))
    con.execute(SOURCE)
    before = _memory_limit(con)
    cursor = con.duckdb.cursor()  # the setting is the database's: another connection sees it
    seen: list[str] = []
    con.progress = lambda table, done, total: seen.append(_memory_limit(cursor))
    con.execute("GENERATE SYNTHETIC FROM src ROWS 20000 INTO out USING copula "
                "WITH (seed = 1, sample_batch_size = 5000, memory_limit = '256MB')")
    assert seen and all(size_bytes(s) <= 256 * 10**6 for s in seen), seen
    assert _memory_limit(con) == before

    con.duckdb.execute("SET memory_limit = '200MB'")  # a user's own lower limit is kept, and stays
    seen.clear()
    con.execute("GENERATE SYNTHETIC FROM src ROWS 20000 INTO out2 USING copula WITH (seed = 1, sample_batch_size = 5000)")
    assert set(seen) == {_memory_limit(con)} and size_bytes(_memory_limit(con)) <= 200 * 10**6

    con.duckdb.execute("RESET memory_limit")
    with pytest.raises(SynthError, match="only 0 of"):  # fails inside the bounded run
        con.execute("GENERATE SYNTHETIC FROM src ROWS 1000 INTO out3 USING copula "
                    "WITH (seed = 1, max_rounds = 1) WHERE a < -5")
    assert _memory_limit(con) == before


@pytest.mark.parametrize("bad", ["lots", "10MB", "-1GB", "1 parsec"])
def test_a_bad_memory_limit_is_refused_naming_the_option(bad):
    con = synthtab_db.connect()
    con.execute(SOURCE)
    with pytest.raises(SynthError, match=r"option 'memory_limit': .*at least 64MB like '512MB'"):
        con.execute(f"GENERATE SYNTHETIC FROM src ROWS 10 INTO out USING copula WITH (memory_limit = '{bad}')")
    assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'out'").fetchone()[0] == 0


def test_an_in_memory_database_keeps_its_limit():
    """Its tables live in the buffer pool: bounding it would push them into a temp folder."""
    con = synthtab_db.connect()
    con.execute(SOURCE)
    before = _memory_limit(con)
    cursor = con.duckdb.cursor()
    seen: list[str] = []
    con.progress = lambda table, done, total: seen.append(_memory_limit(cursor))
    con.execute("GENERATE SYNTHETIC FROM src ROWS 2000 INTO out USING copula WITH (seed = 1, sample_batch_size = 500)")
    assert set(seen) == {before}


def test_batches_start_small_only_when_there_are_several():
    from synthtab_db.engine.table_job import _batch_sizes  # noqa: PLC0415

    for want in (0, 1, 999, 1000, 1001, 10_000, 12_345):
        sizes = _batch_sizes(want, 1000, first_round=True)
        assert sum(sizes) == want and all(0 < s <= 1000 for s in sizes)
        assert sizes[:1] == ([125] if want > 1000 else [want] if want else [])
    assert _batch_sizes(5000, 1000, first_round=False) == [1000] * 5


def test_a_last_piece_under_a_row_group_joins_the_batch_before_it():
    from synthtab_db.engine.table_job import ROW_GROUP_ROWS, _batch_sizes  # noqa: PLC0415

    for want, batch in ((1_000_000, 250_000), (1_000_000, 300_000), (600_000, 250_000), (250_001, 250_000)):
        sizes = _batch_sizes(want, batch, first_round=True)
        assert sum(sizes) == want and sizes[0] == batch // 8
        assert sizes[-1] >= ROW_GROUP_ROWS and max(sizes) < batch + ROW_GROUP_ROWS
    assert _batch_sizes(1_000_000, 300_000, first_round=True) == [37_500, 300_000, 300_000, 362_500]


def _wal_bytes(path: Path) -> int:
    wal = Path(f"{path}.wal")
    return wal.stat().st_size if wal.exists() else 0


CHILD_SOURCE = ("SELECT setseed(0.5); CREATE TABLE parent (id INTEGER PRIMARY KEY, region VARCHAR); "
                "INSERT INTO parent SELECT range, 'r' || (random() * 5)::INT FROM range(20000); "
                "CREATE TABLE src (id INTEGER, parent_id INTEGER REFERENCES parent (id), amount DOUBLE, "
                "kind VARCHAR, t1 VARCHAR, t2 VARCHAR); INSERT INTO src SELECT range, (random() * 19999)::INT, "
                "random() * 100, 'k' || (random() * 3)::INT, 'some text ' || (random() * 100)::INT, "
                "'other ' || (random() * 100)::INT FROM range(60000)")


@pytest.mark.parametrize(("source", "rows", "batch"), [(SOURCE, 400_000, 300_000), (CHILD_SOURCE, 600_000, 250_000)],
                         ids=["table", "child table"])
def test_a_generate_writes_its_rows_to_the_file_not_to_the_wal(tmp_path, source, rows, batch):
    """Batches of 300,000 for 400,000 rows would end with an INSERT of 62,500 (of 250,000 for a
    child table's 600,000, whose rows are made for their planned parents: 100,000): DuckDB then
    logs the last row groups to the WAL (about 5 MB each here), and a later commit pays for a
    checkpoint."""
    path = tmp_path / "db.duckdb"
    con = synthtab_db.connect(str(path))
    con.execute(source)
    con.duckdb.execute("SET wal_autocheckpoint = '1GB'")
    con.duckdb.execute("CHECKPOINT")
    before = _wal_bytes(path)
    con.execute(f"GENERATE SYNTHETIC FROM src ROWS {rows} INTO out USING copula WITH (seed = 1, sample_batch_size = {batch})")
    assert con.execute("SELECT count(*) FROM out").fetchone()[0] == rows
    assert _wal_bytes(path) - before < 1_000_000


def test_a_batch_of_several_sampled_blocks_keeps_a_rare_bucket_and_nulls():
    """Above 2**18 rows a copula batch comes back in blocks, each string column a dictionary
    of its own (its block's rare values, and an empty slot where the rare bucket sits): the
    engine joins them without decoding, and every share comes out as in the source."""
    con = synthtab_db.connect()
    con.execute("SELECT setseed(0.25); CREATE TABLE src AS SELECT CASE WHEN random() < 0.1 THEN NULL "
                "WHEN random() < 0.03 THEN 'rare' || (random() * 100000)::INT "
                "ELSE 'c' || (random() * 4)::INT END AS c, (random() * 10)::INT AS n FROM range(20000)")
    con.execute("GENERATE SYNTHETIC FROM src ROWS 300000 INTO out USING copula WITH (seed = 1, sample_batch_size = 300000)")
    share = ("SELECT coalesce(CASE WHEN c LIKE 'c%' THEN c END, CASE WHEN c IS NULL THEN 'null' END, 'rare') AS k, "
             "count(*) / sum(count(*)) OVER () AS p FROM {} GROUP BY ALL")
    source = dict(con.execute(share.format("src")).fetchall())
    made = dict(con.execute(share.format("out")).fetchall())
    assert made.keys() == source.keys()
    assert all(abs(made[k] - source[k]) < 0.01 for k in source)


def test_train_learns_under_the_bound_and_refuses_a_bad_one(tmp_path):
    con = synthtab_db.connect(str(tmp_path / "db.duckdb"))
    con.execute(SOURCE)
    before = _memory_limit(con)
    cursor = con.duckdb.cursor()
    seen: list[str] = []

    class Watch:  # a progress object that also follows training epochs
        def __call__(self, *args):
            pass

        def epoch(self, table, info):
            seen.append(_memory_limit(cursor))

    con.progress = Watch()
    con.execute("TRAIN SYNTHESIZER m ON src USING tvae WITH (seed = 1, epochs = 2, memory_limit = '300MB')")
    from synthtab_db.sizes import size_bytes  # noqa: PLC0415

    assert seen and all(size_bytes(s) <= 300 * 10**6 for s in seen), seen
    assert _memory_limit(con) == before
    with pytest.raises(SynthError, match=r"option 'memory_limit': a size of at least 64MB"):
        con.execute("TRAIN SYNTHESIZER m2 ON src USING copula WITH (memory_limit = 'plenty')")


def test_a_sampled_copula_has_the_whole_tables_categories_null_rate_and_range():
    """train_rows 500 of 20,000: the marginals come from SQL over every row, not the sample."""
    con = synthtab_db.connect()
    con.execute("""
        SELECT setseed(0.125);
        CREATE TABLE t AS SELECT range AS i,
            CASE WHEN range % 200 = 7 THEN 'rare' WHEN random() < 0.6 THEN 'a' ELSE 'b' END AS kind,
            CASE WHEN range % 100 < 7 THEN NULL ELSE random() * 100 END AS amount,
            CASE WHEN range = 12345 THEN 100000 ELSE (random() * 50)::INT END AS n
        FROM range(20000)
    """)
    table = read_schema(con.duckdb).table(TableRef(name="t", schema="main"))
    learned = learn_table(con.duckdb, table, table.ref, {}, get_model("copula"), {"seed": 1, "train_rows": 500})
    assert any("sample of 500 of 20,000" in n for n in learned.notes)
    codecs = dict(zip([c.name for c in learned.model.columns], learned.model.codecs))
    kind = codecs["kind"].transform
    real = dict(con.execute("SELECT kind, count(*) / 20000 FROM t GROUP BY kind").fetchall())
    assert dict(zip(kind.labels.to_pylist(), kind.probabilities)) == pytest.approx(real, abs=1e-12)
    assert codecs["amount"].nulls.rate == pytest.approx(0.07, abs=1e-12)
    n = codecs["n"].transform
    assert n.reverse(np.array([-9.0, 9.0])).to_pylist() == [0, 100000]  # the table's range, with its one outlier
    out = con.execute("GENERATE SYNTHETIC FROM t ROWS 20000 INTO s USING copula WITH (seed = 2, train_rows = 500)")
    assert "sample of 500" in out.fetchall()[0][9]
    share = con.execute("SELECT avg((kind = 'rare')::INT), avg((amount IS NULL)::INT) FROM s").fetchone()
    assert share[0] == pytest.approx(0.005, abs=0.003) and share[1] == pytest.approx(0.07, abs=0.015)
    # the outlier the sample missed is in range, at its table frequency (1 in 20,000), not the sample's 1 in 500
    assert con.execute("SELECT count(*) FROM s WHERE n > 1000").fetchone()[0] <= 6



@pytest.mark.parametrize("model", ["argn", "tvae", "ctgan"])
def test_a_sampled_neural_model_has_the_whole_tables_categories_and_null_rate(model):
    """The quality default too: its encoding comes from the whole table's statistics (a category
    the 500-row sample holds too few of to keep is a category of its own), and after training its
    output layer is moved onto the table's shares."""
    pytest.importorskip("torch")
    con = synthtab_db.connect()
    con.execute("""
        SELECT setseed(0.125);
        CREATE TABLE t AS SELECT range AS i,
            CASE WHEN range % 200 = 7 THEN 'rare' WHEN random() < 0.6 THEN 'a' ELSE 'b' END AS kind,
            CASE WHEN range % 100 < 7 THEN NULL ELSE random() * 100 END AS amount
        FROM range(20000)
    """)
    table = read_schema(con.duckdb).table(TableRef(name="t", schema="main"))
    options = {"seed": 1, "train_rows": 500, "epochs": 3}
    learned = learn_table(con.duckdb, table, table.ref, {}, get_model(model), options)
    encoding = learned.model.encoding if model == "argn" else learned.model.encoder
    codecs = encoding.encoders if model == "argn" else encoding.codecs
    encoders = dict(zip([c.name for c in encoding.columns], codecs))
    from synthtab_db.engine.sample import sample_sql  # noqa: PLC0415

    sampled = con.execute(f"SELECT count(*) FROM ({sample_sql('SELECT * FROM t', 500, 1)}) WHERE kind = 'rare'")
    assert sampled.fetchone()[0] < 5  # the sample alone holds too few to keep: it would pool them
    assert "rare" in encoders["kind"].transform.labels.to_pylist()
    assert encoders["amount"].nulls.rate == pytest.approx(0.07, abs=1e-12)
    con.execute(f"GENERATE SYNTHETIC FROM t ROWS 20000 INTO s USING {model} WITH (seed = 2, train_rows = 500, epochs = 3)")
    share = con.execute("SELECT avg((kind = 'rare')::INT), avg((amount IS NULL)::INT) FROM s").fetchone()
    assert share[0] == pytest.approx(0.005, abs=0.003) and share[1] == pytest.approx(0.07, abs=0.015)


def _blas_threads() -> set[int]:
    from threadpoolctl import threadpool_info  # noqa: PLC0415

    return {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"}


def test_numpys_blas_keeps_to_one_thread_while_batches_are_made_then_gets_its_own_back():
    """OpenBLAS workers spin after each product and take the cores DuckDB's insert needs."""
    con = synthtab_db.connect()
    con.execute(SOURCE)
    before = _blas_threads()
    seen: list[set[int]] = []
    con.progress = lambda table, done, total: seen.append(_blas_threads())
    con.execute("GENERATE SYNTHETIC FROM src ROWS 3000 INTO out USING copula WITH (seed = 1, sample_batch_size = 1000)")
    assert seen and all(s == {1} for s in seen)
    assert _blas_threads() == before


def test_a_child_tables_slots_are_the_sorted_draws_in_four_bytes_a_row():
    """A child table's parent per row is planned up front; planning it as ``draw_parents`` then a
    sort shuffled 8 bytes a row only for the sort to undo it.  The chunked plan gives the same
    parents (the shift is the first draw of the same generator), 4 bytes a row."""
    from synthtab_db.engine import foreign_keys as fks  # noqa: PLC0415

    weights = np.random.default_rng(3).gamma(0.5, size=1000)
    n = 3 * fks._CHUNK_ROWS + 12_345  # several chunks and a partial one
    planned = fks.parents_in_order(weights, n, np.random.default_rng(7))
    assert planned.dtype == np.int32
    assert np.array_equal(planned, np.sort(fks.draw_parents(weights, n, np.random.default_rng(7))))


def test_overlapping_statements_share_one_blas_limit_and_the_last_gives_it_back():
    """Two GENERATEs at once (two proxy clients): the first to finish must not lift the other's
    limit, and the last must not restore the limit instead of the original."""
    import numpy  # noqa: F401, PLC0415 (its BLAS is loaded)

    from synthtab_db.engine.threads import one_blas_thread  # noqa: PLC0415

    before = _blas_threads()
    first, second = one_blas_thread(), one_blas_thread()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    assert _blas_threads() == {1}
    second.__exit__(None, None, None)
    assert _blas_threads() == before
