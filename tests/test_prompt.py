"""GENERATE SYNTHETIC DATABASE FROM PROMPT on a real (tiny) language model.

The model is a 2-layer, 64-dimension GPT-2 trained in this session on a few
request → JSON-schema pairs (tests/tiny_llm.py) and saved as a local checkpoint;
it is used through both backends: ``transformers`` directly, and ``openai``
against a stdlib HTTP server on 127.0.0.1 that runs the same checkpoint.
"""

from __future__ import annotations

import re
import socket

import pytest

pytest.importorskip("transformers")

from tiny_llm import LIBRARY_REQUEST, POEM_REQUEST, SHOP_REQUEST, train  # noqa: E402

import synthtab_db  # noqa: E402
from synthtab_db.prompt.local_server import serve  # noqa: E402

SHOP = f"GENERATE SYNTHETIC DATABASE FROM PROMPT '{SHOP_REQUEST}' INTO SCHEMA shop"


@pytest.fixture(scope="session")
def checkpoint(tmp_path_factory):
    return str(train(tmp_path_factory.mktemp("tiny_llm")))


@pytest.fixture(scope="session")
def endpoint(checkpoint):
    server = serve(checkpoint)
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


def local(checkpoint: str, extra: str = "") -> str:
    return f"WITH (llm = 'transformers', path = '{checkpoint}'{extra})"


def tables(con) -> list[tuple]:
    return con.execute("SELECT schema_name, table_name FROM duckdb_tables() ORDER BY ALL").fetchall()


def test_explain_shows_ddl_and_rows_and_creates_nothing(checkpoint):
    con = synthtab_db.connect()
    result = con.execute(f"EXPLAIN {SHOP} ROWS 20 {local(checkpoint)}").arrow().to_pylist()
    assert [(r["table"], r["rows"]) for r in result] == [("shop.customers", 20), ("shop.orders", 60)]
    assert "REFERENCES \"customers\" (\"id\")" in result[1]["ddl"]
    assert "CHECK (status IN ('new', 'paid', 'shipped'))" in result[1]["ddl"]
    assert tables(con) == []
    assert con.execute("SELECT count(*) FROM duckdb_schemas() WHERE schema_name = 'shop'").fetchone()[0] == 0


def test_transformers_backend_creates_and_fills_plausible_rows(checkpoint):
    con = synthtab_db.connect()
    result = con.execute(f"{SHOP} {local(checkpoint, ', seed = 7')}").arrow().to_pylist()
    assert [(r["table"], r["rows"], r["attempts"]) for r in result] == [("shop.customers", 30, 1),
                                                                         ("shop.orders", 90, 1)]
    emails = [e for (e,) in con.execute("SELECT email FROM shop.customers WHERE email IS NOT NULL").fetchall()]
    assert emails and all(re.fullmatch(r"[a-zü]+\.[a-zü]+\d+@example\.com", e) for e in emails)
    named = con.execute("SELECT count(*) FROM shop.customers WHERE email NOT LIKE lower(replace(name, ' ', '.')) || '%'")
    assert named.fetchone()[0] == 0  # each address spells its row's name
    assert con.execute("SELECT count(*) FROM shop.customers WHERE name NOT LIKE '% %'").fetchone()[0] == 0
    statuses = {s for (s,) in con.execute("SELECT DISTINCT status FROM shop.orders WHERE status IS NOT NULL").fetchall()}
    assert statuses <= {"new", "paid", "shipped"}
    dangling = con.execute("SELECT count(*) FROM shop.orders o ANTI JOIN shop.customers c ON o.customer_id = c.id")
    assert dangling.fetchone()[0] == 0
    low, high = con.execute("SELECT min(n), max(n) FROM (SELECT count(o.id) n FROM shop.customers c "
                            "LEFT JOIN shop.orders o ON o.customer_id = c.id GROUP BY c.id)").fetchone()
    assert low < 3 < high  # 3 per customer on average, spread out rather than all equal
    dates = con.execute("SELECT min(ordered_on), max(ordered_on) FROM shop.orders").fetchone()
    assert dates[0].year >= 2021 and dates[1].year <= 2025
    comment = con.execute("SELECT comment FROM duckdb_columns() WHERE schema_name = 'shop' "
                          "AND column_name = 'email'").fetchone()[0]
    assert comment == "contact email"


def test_openai_backend_against_a_local_server_gives_the_same_database(checkpoint, endpoint):
    con = synthtab_db.connect()
    con.execute(f"{SHOP} {local(checkpoint, ', seed = 3')}")
    con.execute(f"GENERATE SYNTHETIC DATABASE FROM PROMPT '{SHOP_REQUEST}' INTO SCHEMA shop2 "
                f"WITH (llm = 'openai', endpoint = '{endpoint}', model = 'tiny', seed = 3)")
    for table in ("customers", "orders"):
        same = con.execute(f"SELECT count(*) FROM (SELECT * FROM shop.{table} EXCEPT ALL SELECT * FROM shop2.{table})")
        assert same.fetchone()[0] == 0, table
        assert con.execute(f"SELECT count(*) FROM shop2.{table}").fetchone()[0] > 0


def test_python_api_matches_sql(checkpoint):
    con = synthtab_db.connect()
    result = con.generate_from_prompt(SHOP_REQUEST, "py", rows=5, llm="transformers", path=checkpoint, seed=1)
    assert result.column("rows").to_pylist() == [5, 15]
    con.execute(f"GENERATE SYNTHETIC DATABASE FROM PROMPT '{SHOP_REQUEST}' INTO SCHEMA sql ROWS 5 "
                f"{local(checkpoint, ', seed = 1')}")
    diff = con.execute("SELECT count(*) FROM (SELECT * FROM py.orders EXCEPT ALL SELECT * FROM sql.orders)")
    assert diff.fetchone()[0] == 0


def test_session_settings_choose_the_backend(checkpoint, endpoint):
    con = synthtab_db.connect()
    con.execute("SET synthtab.llm = 'openai'")
    con.execute(f"SET synthtab.llm_endpoint = '{endpoint}'")
    rows = con.execute(f"EXPLAIN {SHOP}").arrow().column("rows").to_pylist()
    assert rows == [30, 90]
    con.execute("SET synthtab.llm = NULL")
    with pytest.raises(synthtab_db.SynthError, match="no language model configured.*SET synthtab.llm"):
        con.execute(f"EXPLAIN {SHOP}")


def test_a_refused_proposal_is_retried_with_the_exact_error(checkpoint):
    con = synthtab_db.connect()
    result = con.execute(f"GENERATE SYNTHETIC DATABASE FROM PROMPT '{LIBRARY_REQUEST}' INTO SCHEMA lib ROWS 8 "
                         f"{local(checkpoint)}").arrow().to_pylist()
    assert [(r["table"], r["rows"], r["attempts"]) for r in result] == [("lib.authors", 8, 2), ("lib.books", 24, 2)]
    assert con.execute("SELECT count(*) FROM lib.books").fetchone()[0] == 24


def test_a_proposal_that_never_validates_fails_with_the_last_error_and_proposal(checkpoint):
    con = synthtab_db.connect()
    with pytest.raises(synthtab_db.SynthError, match=r"(?s)refused 1 time.*references table writers.*last proposal:"):
        con.execute(f"GENERATE SYNTHETIC DATABASE FROM PROMPT '{LIBRARY_REQUEST}' INTO SCHEMA lib "
                    f"{local(checkpoint, ', max_attempts = 1')}")
    assert tables(con) == []


def test_a_request_that_is_not_a_database_is_refused(checkpoint):
    con = synthtab_db.connect()
    with pytest.raises(synthtab_db.SynthError, match="does not describe a database"):
        con.execute(f"GENERATE SYNTHETIC DATABASE FROM PROMPT '{POEM_REQUEST}' INTO SCHEMA p {local(checkpoint)}")
    assert tables(con) == []


def test_same_seed_same_rows(checkpoint):
    con = synthtab_db.connect()
    for schema in ("a", "b"):
        con.execute(f"GENERATE SYNTHETIC DATABASE FROM PROMPT '{SHOP_REQUEST}' INTO SCHEMA {schema} ROWS 10 "
                    f"{local(checkpoint, ', seed = 11')}")
    diff = con.execute("SELECT count(*) FROM (SELECT * FROM a.orders EXCEPT ALL SELECT * FROM b.orders)")
    assert diff.fetchone()[0] == 0


def test_an_existing_table_is_refused_and_left_alone(checkpoint):
    con = synthtab_db.connect()
    con.execute("CREATE SCHEMA shop; CREATE TABLE shop.orders (x INTEGER); INSERT INTO shop.orders VALUES (1)")
    with pytest.raises(synthtab_db.SynthError, match="already has table orders"):
        con.execute(f"{SHOP} {local(checkpoint)}")
    assert tables(con) == [("shop", "orders")]
    assert con.execute("SELECT * FROM shop.orders").fetchall() == [(1,)]


def test_an_unreachable_endpoint_says_so():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    con = synthtab_db.connect()
    with pytest.raises(synthtab_db.SynthError, match=rf"127.0.0.1:{port}/v1/chat/completions is unreachable"):
        con.execute(f"{SHOP} WITH (llm = 'openai', endpoint = 'http://127.0.0.1:{port}/v1', timeout = 5)")


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("GENERATE SYNTHETIC DATABASE FROM PROMPT 'x'", "needs INTO SCHEMA"),
        ("GENERATE SYNTHETIC DATABASE FROM PROMPT 'x' INTO SCHEMA s WITH (llm = 'gemini')", "unknown llm 'gemini'"),
        ("GENERATE SYNTHETIC DATABASE FROM PROMPT 'x' INTO SCHEMA s WITH (llm = 'openai', tempo = 1)",
         "unknown option 'tempo'"),
        ("GENERATE SYNTHETIC DATABASE FROM PROMPT 'x' INTO SCHEMA s WITH (llm = 'transformers', path = '/nope')",
         "no transformers checkpoint at /nope"),
        ("GENERATE SYNTHETIC DATABASE FROM PROMPT 'x' INTO SCHEMA s WITH (llm = 'openai')", "needs WITH \\(endpoint"),
        ("SET synthtab.colour = 'red'", "unknown setting synthtab.colour"),
        ("GENERATE SYNTHETIC DATABASE FROM PROMPT 'x' INTO SCHEMA s ROWS 0", "ROWS must be a positive integer"),
        ("GENERATE SYNTHETIC DATABASE FROM PROMPT 'x' INTO SCHEMA s WITH (rows = {a: 0})", "option 'rows.a'"),
        ("GENERATE SYNTHETIC DATABASE FROM PROMPT '  ' INTO SCHEMA s", "needs a request"),
    ],
)
def test_clear_errors(sql, message):
    with pytest.raises(synthtab_db.SynthError, match=message):
        synthtab_db.connect().execute(sql)
