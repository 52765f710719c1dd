"""Protocol fuzz: random, truncated, lying and oversized messages each cost their own
connection only; a client connected the whole time and new clients keep being served."""

from __future__ import annotations

import random
import socket
import struct
import time
from pathlib import Path

import pytest

import synthtab_db
from synthtab_db.datasets import load_relational
from synthtab_db.proxy import serve

psycopg = pytest.importorskip("psycopg", reason="psycopg not installed: pip install 'synthtab-db[postgres]'")

PASSWORD = "fuzz-pw"
CHINOOK = Path(synthtab_db.__file__).parent / "data" / "chinook"


@pytest.fixture(scope="module")
def proxy():
    con = synthtab_db.connect()
    load_relational(con.duckdb, CHINOOK)
    server = serve(con.duckdb, port=0, password=PASSWORD, trust=False)
    server.max_message = 1 << 20
    server.serve_in_thread()
    yield server
    server.stop()
    con.close()


def _dsn(server) -> str:
    return f"host=127.0.0.1 port={server.port} user=synth password={PASSWORD} dbname=fuzz connect_timeout=5"


def _startup(user: str = "synth") -> bytes:
    body = struct.pack("!i", 196608) + b"user\0" + user.encode() + b"\0database\0x\0\0"
    return struct.pack("!i", len(body) + 4) + body


def _send_and_drain(server, payload: bytes, close_early: bool = False) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        try:
            sock.sendall(payload)
            if close_early:
                return
            sock.shutdown(socket.SHUT_WR)
            while sock.recv(65536):
                pass
        except OSError:
            pass  # the server closing on us is the expected outcome


def _cases(rng: random.Random) -> list[bytes]:
    startup = _startup()
    cases = [
        b"",
        b"\x00\x00",  # truncated length
        struct.pack("!i", 3),  # length below the minimum
        struct.pack("!i", 2**31 - 1) + b"x" * 64,  # oversized startup
        startup[: len(startup) // 2],  # truncated startup
        struct.pack("!ii", 8, 1234),  # unknown protocol
        struct.pack("!ii", 8, 80877103) + b"garbage",  # SSL request, then junk
        startup + b"p" + struct.pack("!i", 4000) + b"short",  # truncated password message
        startup + b"Q" + struct.pack("!i", 1 << 30),  # oversized message after startup
    ]
    cases += [bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 300))) for _ in range(25)]
    cases += [startup + bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 200))) for _ in range(25)]
    return cases


def test_fuzzed_connections_leave_the_server_serving(proxy):
    rng = random.Random(7)
    with psycopg.connect(_dsn(proxy), autocommit=True) as steady:
        before = steady.execute("SELECT count(*) FROM track").fetchone()
        for i, payload in enumerate(_cases(rng)):
            _send_and_drain(proxy, payload, close_early=i % 3 == 0)
            if i % 10 == 0:
                with psycopg.connect(_dsn(proxy)) as fresh:
                    assert fresh.execute("SELECT 1").fetchone() == (1,)
        assert steady.execute("SELECT count(*) FROM track").fetchone() == before


def _authenticated(server) -> socket.socket:
    """A raw socket past authentication, via trust on a second server sharing the database."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    sock.sendall(_startup())
    buffer = b""
    while b"Z\x00\x00\x00\x05" not in buffer:
        chunk = sock.recv(65536)
        assert chunk, "server closed during startup"
        buffer += chunk
    return sock


def test_garbage_after_authentication_closes_only_that_connection(proxy):
    trusted = serve(proxy.database, port=0, trust=True)
    trusted.max_message = 1 << 20
    trusted.serve_in_thread()
    rng = random.Random(11)
    try:
        with psycopg.connect(_dsn(proxy), autocommit=True) as steady:
            for _ in range(20):
                sock = _authenticated(trusted)
                kind = rng.choice([b"Q", b"P", b"B", b"E", b"D", b"?", b"\x00"])
                body = bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 60)))
                length = rng.choice([len(body) + 4, len(body) + 400, 2, 1 << 29])
                try:
                    sock.sendall(kind + struct.pack("!i", length) + body)
                    sock.shutdown(socket.SHUT_WR)
                    sock.settimeout(5)
                    while sock.recv(65536):
                        pass
                except OSError:
                    pass
                finally:
                    sock.close()
                assert steady.execute("SELECT 1").fetchone() == (1,)
    finally:
        trusted.stop()


def test_a_silent_client_does_not_block_others(proxy):
    silent = socket.create_connection(("127.0.0.1", proxy.port), timeout=5)
    try:
        silent.sendall(_startup()[:6])  # half a startup packet, then nothing
        started = time.perf_counter()
        with psycopg.connect(_dsn(proxy)) as conn:
            assert conn.execute("SELECT count(*) FROM genre").fetchone()[0] > 0
        assert time.perf_counter() - started < 10
    finally:
        silent.close()
