"""USING gpt: the transformer generator on tiny real data (bundled Adult slice and Chinook tracks), CPU, short budgets."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pytest

pytest.importorskip("transformers")

import synthtab_db  # noqa: E402
from synthtab_db.catalog import read_schema  # noqa: E402
from synthtab_db.conditions import parse_conditions  # noqa: E402
from synthtab_db.errors import SynthError  # noqa: E402
from synthtab_db.models import default_model, get_model  # noqa: E402
from synthtab_db.models.gpt.encoding import BOS, NULL, SEP  # noqa: E402
from synthtab_db.models.gpt.parsing import Parsed, parse  # noqa: E402

DATA = Path(synthtab_db.__file__).parent / "data"
FAST = {"seed": 1, "epochs": 4, "max_seconds": 8, "device": "cpu"}
TRACKS_SQL = f"""
    CREATE TABLE tracks AS
    SELECT t.name, g.name AS genre, t.milliseconds
    FROM read_csv('{DATA / "chinook" / "track.csv"}') t JOIN read_csv('{DATA / "chinook" / "genre.csv"}') g USING (genre_id)
    ORDER BY t.track_id LIMIT 600
"""


def _load(sql: str, name: str):
    con = duckdb.connect()
    con.execute(sql)
    table = read_schema(con).table(name)
    return con.sql(f"SELECT * FROM {name}").to_arrow_table(), table


@pytest.fixture(scope="module")
def adult():
    return _load(f"""CREATE TABLE adult AS SELECT age, workclass, education, sex, relationship, hours_per_week, income
                     FROM read_csv('{DATA / "adult_sample.csv"}') LIMIT 400""", "adult")


@pytest.fixture(scope="module")
def tracks():
    return _load(TRACKS_SQL, "tracks")


@pytest.fixture(scope="module")
def adult_model(adult):
    return get_model("gpt")(**FAST).fit(*adult)


@pytest.fixture(scope="module")
def tracks_model(tracks):
    return get_model("gpt")(**FAST, max_text_tokens=16).fit(*tracks)


def test_registered_below_argn(monkeypatch):
    monkeypatch.delenv("SYNTHTAB_DEFAULT_MODEL", raising=False)
    assert get_model("gpt").preference < get_model("argn").preference
    assert default_model() == "auto"  # auto (models/auto.py) chooses argn or the copula, never gpt


def test_fit_sample_persist_round_trip(adult, adult_model):
    data, _ = adult
    out = adult_model.sample(300, seed=5)
    assert out.num_rows == 300 and out.column_names == data.column_names
    assert [f.type for f in out.schema] == [f.type for f in data.schema]
    assert out.equals(adult_model.sample(300, seed=5))
    assert not out.equals(adult_model.sample(300, seed=6))
    reloaded = type(adult_model).from_bytes(adult_model.to_bytes())
    assert reloaded.sample(300, seed=5).equals(out)
    learned = set(data.column("education").to_pylist())
    assert set(out.column("education").to_pylist()) <= learned
    assert len(set(out.column("education").to_pylist())) > 3


def test_parser_flags_malformed_rows(tracks_model):
    """Duplicate or missing columns, an unterminated text, a stray special token: all flagged."""
    codec = tracks_model.codec
    offsets, piece = codec.layout.offsets, codec.layout.text_offset + 5
    name, genre, ms = (int(o) for o in offsets)
    good = [name, piece, piece, SEP, genre + 1, ms + 2]
    rows = [good, [name, piece, SEP, genre, genre, ms], [name, piece, piece, genre, ms],
            [name, NULL, genre, ms + 1], [name, piece, SEP, genre, BOS, ms], [name, piece, SEP, ms]]
    width = max(map(len, rows))
    matrix = np.array([r + [-1] * (width - len(r)) for r in rows])
    parsed = parse(matrix, codec.layout, codec.text, max_text_tokens=4)
    assert parsed.ok.tolist() == [True, False, False, True, False, False]
    assert parsed.texts[0][0] == [piece, piece] and parsed.nulls[0][3]


def test_malformed_rows_are_rejected_and_redrawn(tracks_model):
    """A short text limit makes an undertrained model write rows that are too long: they are
    counted and redrawn, and what comes back is exactly n clean rows."""
    before = tracks_model.malformed_rows
    tracks_model.settings = tracks_model.settings.model_copy(update={"max_text_tokens": 3})
    try:
        out = tracks_model.sample(200, seed=2)
    finally:
        tracks_model.settings = tracks_model.settings.model_copy(update={"max_text_tokens": 16})
    assert tracks_model.malformed_rows > before
    assert out.num_rows == 200 and out.column("name").null_count == 0
    longest_piece = max(len(p) for p in tracks_model.codec.tokenizer.pieces())
    names = out.column("name").to_pylist()
    assert max(map(len, names)) <= 3 * longest_piece and not any("\ufffd" in v for v in names)


def test_generate_through_sql_passes_the_checks():
    con = synthtab_db.connect()
    con.execute("CREATE TABLE tracks (name VARCHAR NOT NULL CHECK (length(name) <= 30), genre VARCHAR NOT NULL, "
                "milliseconds INTEGER CHECK (milliseconds > 0))")
    con.execute(f"INSERT INTO tracks {TRACKS_SQL.split(' AS', 1)[1].replace('SELECT t.name', 'SELECT left(t.name, 30)')}")
    (row,) = con.execute("GENERATE SYNTHETIC FROM tracks ROWS 150 INTO synth USING gpt "
                         "WITH (seed = 1, epochs = 3, max_seconds = 8, max_text_tokens = 12)").fetchall()
    assert row[2] == 150 and row[3] == "gpt"
    bad = con.execute("SELECT count(*) FROM synth WHERE name IS NULL OR length(name) > 30 OR milliseconds <= 0 "
                      "OR genre NOT IN (SELECT genre FROM tracks) OR contains(name, '\ufffd')").fetchone()[0]
    assert bad == 0
    con.close()


def test_free_text_column_is_generated_as_text(tracks, tracks_model):
    data, _ = tracks
    assert [tracks_model.codec.columns[j].name for j in tracks_model.codec.text] == ["name"]
    names = tracks_model.sample(300, seed=3).column("name").to_pylist()
    real = set(data.column("name").to_pylist())
    novel = [v for v in names if v not in real]
    assert len(set(names)) > 150 and len(novel) > 100  # text, not a category: new strings
    assert sum(" " in v for v in names) > 30


def test_where_conditions_are_sampled(adult_model, tracks_model):
    out = adult_model.sample(200, seed=1, conditions=parse_conditions("sex = 'Female' AND age BETWEEN 30 AND 40"))
    assert set(out.column("sex").to_pylist()) == {"Female"}
    assert 30 <= min(out.column("age").to_pylist()) and max(out.column("age").to_pylist()) <= 40
    wanted = ("Balls to the Wall", "Fast As a Shark")
    texts = tracks_model.sample(100, seed=1, conditions=parse_conditions(f"name IN {wanted} AND genre = 'Rock'"))
    assert set(texts.column("name").to_pylist()) == set(wanted) and set(texts.column("genre").to_pylist()) == {"Rock"}
    ranged = tracks_model.sample(50, seed=1, conditions=parse_conditions("name >= 'M'"))
    assert min(ranged.column("name").to_pylist()) >= "M"
    with pytest.raises(SynthError, match="not among the learned values"):
        adult_model.sample(10, conditions=parse_conditions("sex = 'Other'"))


def test_where_through_sql():
    con = synthtab_db.connect()
    con.execute(f"CREATE TABLE adult AS SELECT * FROM read_csv('{DATA / 'adult_sample.csv'}') LIMIT 300")
    con.execute("GENERATE SYNTHETIC FROM adult ROWS 100 INTO s USING gpt WHERE income = '>50K' AND age >= 50 "
                "WITH (seed = 2, epochs = 2, max_seconds = 6)")
    assert con.execute("SELECT count(*), count(*) FILTER (WHERE income <> '>50K' OR age < 50) FROM s").fetchone() == (100, 0)
    con.close()


def test_malformed_rows_show_in_the_result_set():
    con = synthtab_db.connect()
    con.execute(TRACKS_SQL)
    row = con.execute("GENERATE SYNTHETIC FROM tracks ROWS 100 INTO s USING gpt "
                      "WITH (seed = 1, epochs = 2, max_seconds = 5, max_text_tokens = 4)").fetchone()
    rejected = dict(row[7])
    assert row[2] == 100 and rejected["malformed model output"] > 0 and row[6] >= rejected["malformed model output"]
    con.close()


def test_trained_synthesizer_with_retrieval_generates_from_the_database(tmp_path):
    path = str(tmp_path / "db.duckdb")
    con = synthtab_db.connect(path)
    con.execute(f"CREATE TABLE adult AS SELECT * FROM read_csv('{DATA / 'adult_sample.csv'}') LIMIT 300")
    con.execute("TRAIN SYNTHESIZER lm ON adult USING gpt WITH (seed = 1, epochs = 2, max_seconds = 6, retrieve = 1)")
    con.close()
    con = synthtab_db.connect(path)
    con.execute("GENERATE SYNTHETIC FROM SYNTHESIZER lm ROWS 80 INTO s WHERE sex = 'Female' WITH (seed = 3)")
    assert con.execute("SELECT count(*), count(DISTINCT sex), min(sex) FROM s").fetchone() == (80, 1, "Female")
    con.close()


def test_retrieval_on_and_off(adult, adult_model):
    data, table = adult
    assert adult_model.context_rows is None
    model = get_model("gpt")(**FAST, retrieve=2).fit(data, table)
    assert model.context_rows.shape[0] == data.num_rows
    found = parse_conditions("education = 'Masters'")
    from synthtab_db.models.gpt.conditioning import conditioning

    prompts = model._prompts(50, conditioning(model.codec, found), np.random.default_rng(0))
    masters = int(model.codec.layout.offsets[2]) + int(np.flatnonzero(
        np.isfinite(model.codec.encoders[2].restrict(found["education"]).log_weights))[0])
    assert ((prompts == masters).sum(axis=1) == 2).all()  # both retrieved rows share the WHERE value
    out = model.sample(100, seed=1, conditions=found)
    assert set(out.column("education").to_pylist()) == {"Masters"}
    reloaded = type(model).from_bytes(model.to_bytes())
    assert reloaded.sample(100, seed=1, conditions=found).equals(out)
    assert len(model.to_bytes()) > len(adult_model.to_bytes())


def test_retrieval_is_refused_under_differential_privacy():
    with pytest.raises(SynthError, match="retrieve puts real rows"):
        get_model("gpt")(retrieve=3, epsilon=1.0)
    assert get_model("gpt")(epsilon=1.0).settings.epsilon == 1.0  # DP-SGD: tests/test_gpt_privacy.py


def test_memorization_guard_rejects_a_planted_copy(tracks, tracks_model):
    """A planted rare text, fed back as model output, is rejected; a frequent one is let through."""
    codec = tracks_model.codec
    planted = tracks[0].column("name")[7].as_py()
    assert len(codec.tokenizer.encode([planted])[0]) > tracks_model.settings.memorization_tokens
    before = tracks_model.memorized_rows
    rows = [codec.text_ids([planted])[0], codec.text_ids(["Zq zq zzq qqz novel"])[0]]
    parsed = Parsed(ok=np.ones(2, dtype=bool), texts={0: rows}, nulls={0: np.zeros(2, dtype=bool)},
                    fixed={1: np.full(2, codec.layout.offsets[1]), 2: np.full(2, codec.layout.offsets[2])})
    from synthtab_db.models.gpt.conditioning import Conditioning

    kept = tracks_model._accepted(parsed, Conditioning(), np.random.default_rng(0))
    assert kept.column("name").to_pylist() == ["Zq zq zzq qqz novel"]
    assert tracks_model.memorized_rows == before + 1
    assert planted not in tracks_model.sample(400, seed=9).column("name").to_pylist()


def test_memorization_guard_end_to_end(tracks):
    """Overfitted on 40 titles seen 3 times each, the model writes training titles verbatim; the
    guard removes every one longer than the threshold, and off it lets them through."""
    data, table = tracks
    small = pa.concat_tables([data.slice(0, 40)] * 3)
    options = {**FAST, "epochs": 20, "max_seconds": 3600, "max_text_tokens": 16}  # bounded by epochs, never the clock
    guarded = get_model("gpt")(**options).fit(small, table)
    tokens = guarded.codec.tokenizer.encode
    long_titles = {v for v in small.column("name").to_pylist() if len(tokens([v])[0]) > 3}
    out = guarded.sample(300, seed=1).column("name").to_pylist()
    assert guarded.memorized_rows > 0 and not long_titles & set(out)
    free = get_model("gpt")(**options, memorization_frequent=1).fit(small, table)
    assert long_titles & set(free.sample(300, seed=1).column("name").to_pylist())


def test_pretrained_path_without_a_model_is_refused(adult, tmp_path):
    with pytest.raises(SynthError, match="no model checkpoint at"):
        get_model("gpt")(**FAST, pretrained=str(tmp_path / "missing")).fit(*adult)
    (tmp_path / "empty").mkdir()
    with pytest.raises(SynthError, match="pretrained"):
        get_model("gpt")(**FAST, pretrained=str(tmp_path / "empty")).fit(*adult)


def test_pretrained_local_checkpoint_is_fine_tuned(adult, tmp_path):
    from transformers import GPT2Config, GPT2LMHeadModel

    checkpoint = GPT2LMHeadModel(GPT2Config(vocab_size=500, n_positions=64, n_embd=32, n_layer=1, n_head=2))
    checkpoint.save_pretrained(tmp_path / "ckpt")
    model = get_model("gpt")(**FAST, pretrained=str(tmp_path / "ckpt")).fit(*adult)
    assert model.network.config.n_embd == 32 and model.network.config.vocab_size == model.codec.layout.vocabulary
    out = type(model).from_bytes(model.to_bytes()).sample(100, seed=1)
    assert out.num_rows == 100 and out.equals(model.sample(100, seed=1))
    small = GPT2LMHeadModel(GPT2Config(vocab_size=50, n_positions=4, n_embd=16, n_layer=1, n_head=2))
    small.save_pretrained(tmp_path / "short")
    with pytest.raises(SynthError, match="positions"):
        get_model("gpt")(**FAST, pretrained=str(tmp_path / "short")).fit(*adult)


def test_bad_options_are_refused():
    with pytest.raises(SynthError, match="n_head"):
        get_model("gpt")(n_embd=30, n_head=4)
    with pytest.raises(SynthError, match="retrieve"):
        get_model("gpt")(retrieve=-1)
