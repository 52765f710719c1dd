"""Login roles and their grants, kept in the database (``synthtab.roles``,
``synthtab.grants``) so a served file carries them.  A role's password is kept
only as a SCRAM-SHA-256 verifier, in PostgreSQL's own format
(``SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>``), never as text.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass

import duckdb

from synthtab_db.duck import run_sql
from synthtab_db.proxy.errors import PgError
from synthtab_db.store import STATE

ROLES = f"{STATE}.roles"
GRANTS = f"{STATE}.grants"
ITERATIONS = 4096

_DDL = f"""
CREATE SCHEMA IF NOT EXISTS {STATE};
CREATE TABLE IF NOT EXISTS {ROLES} (
    name VARCHAR PRIMARY KEY,
    verifier VARCHAR NOT NULL,   -- SCRAM-SHA-256 verifier, never the password
    created TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS {GRANTS} (
    role VARCHAR NOT NULL,
    privilege VARCHAR NOT NULL,  -- SELECT | GENERATE | CREATE | USAGE
    kind VARCHAR NOT NULL,       -- TABLE | SCHEMA
    object VARCHAR NOT NULL,     -- schema.table or schema, lower case
    PRIMARY KEY (role, privilege, kind, object)
);
"""


@dataclass(frozen=True)
class Verifier:
    salt: bytes
    iterations: int
    stored_key: bytes
    server_key: bytes

    def text(self) -> str:
        b64 = lambda b: base64.b64encode(b).decode()  # noqa: E731
        return f"SCRAM-SHA-256${self.iterations}:{b64(self.salt)}${b64(self.stored_key)}:{b64(self.server_key)}"


def make_verifier(password: str, salt: bytes | None = None, iterations: int = ITERATIONS) -> Verifier:
    if not password:
        raise PgError("28P01", "empty passwords are not allowed")
    salt = salt or os.urandom(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    return Verifier(salt, iterations, hashlib.sha256(client_key).digest(), server_key)


def parse_verifier(text: str) -> Verifier | None:
    """A stored verifier (or one psql's \\password sends ready-made); None if malformed."""
    try:
        method, params, keys = text.split("$")
        iterations, salt = params.split(":")
        stored, server = keys.split(":")
        if method != "SCRAM-SHA-256":
            return None
        decode = base64.b64decode
        return Verifier(decode(salt, validate=True), int(iterations), decode(stored, validate=True),
                        decode(server, validate=True))
    except ValueError:
        return None


def verifier_from_password(password: str) -> Verifier:
    """A password as written in CREATE/ALTER ROLE: plain text, or a SCRAM verifier."""
    if password.startswith("SCRAM-SHA-256$"):
        verifier = parse_verifier(password)
        if verifier is None:
            raise PgError("22023", "malformed SCRAM-SHA-256 verifier given as PASSWORD")
        return verifier
    return make_verifier(password)


def ensure(con: duckdb.DuckDBPyConnection) -> None:
    run_sql(con, _DDL)


def _has_tables(con: duckdb.DuckDBPyConnection) -> bool:
    rows = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE schema_name = $s AND table_name IN ('roles', 'grants')",
        {"s": STATE},
    ).fetchall()
    return rows[0][0] == 2


def lookup(con: duckdb.DuckDBPyConnection, name: str) -> Verifier | None:
    if not _has_tables(con):
        return None
    rows = con.execute(f"SELECT verifier FROM {ROLES} WHERE name = $n", {"n": name}).fetchall()
    return parse_verifier(rows[0][0]) if rows else None


def exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return _has_tables(con) and bool(con.execute(f"SELECT 1 FROM {ROLES} WHERE name = $n", {"n": name}).fetchall())


def create(con: duckdb.DuckDBPyConnection, name: str, verifier: Verifier) -> None:
    ensure(con)
    if exists(con, name):
        raise PgError("42710", f'role "{name}" already exists')
    run_sql(con, f"INSERT INTO {ROLES} (name, verifier) VALUES ($n, $v)", {"n": name, "v": verifier.text()})


def set_verifier(con: duckdb.DuckDBPyConnection, name: str, verifier: Verifier) -> None:
    require(con, name)
    run_sql(con, f"UPDATE {ROLES} SET verifier = $v WHERE name = $n", {"n": name, "v": verifier.text()})


def drop(con: duckdb.DuckDBPyConnection, name: str, if_exists: bool) -> None:
    if not exists(con, name):
        if if_exists:
            return
        require(con, name)
    run_sql(con, f"DELETE FROM {GRANTS} WHERE role = $n", {"n": name})
    run_sql(con, f"DELETE FROM {ROLES} WHERE name = $n", {"n": name})


def require(con: duckdb.DuckDBPyConnection, name: str) -> None:
    if not exists(con, name):
        raise PgError("42704", f'role "{name}" does not exist')


def grant(con: duckdb.DuckDBPyConnection, role: str, privilege: str, kind: str, obj: str) -> None:
    require(con, role)
    run_sql(
        con,
        f"INSERT INTO {GRANTS} VALUES ($r, $p, $k, $o) ON CONFLICT DO NOTHING",
        {"r": role, "p": privilege, "k": kind, "o": obj},
    )


def revoke(con: duckdb.DuckDBPyConnection, role: str, privilege: str, kind: str, obj: str) -> None:
    require(con, role)
    run_sql(
        con,
        f"DELETE FROM {GRANTS} WHERE role = $r AND privilege = $p AND kind = $k AND object = $o",
        {"r": role, "p": privilege, "k": kind, "o": obj},
    )


def grants_of(con: duckdb.DuckDBPyConnection, role: str) -> frozenset[tuple[str, str, str]]:
    """(privilege, kind, object) rows the role holds."""
    if not _has_tables(con):
        return frozenset()
    rows = con.execute(f"SELECT privilege, kind, object FROM {GRANTS} WHERE role = $r", {"r": role}).fetchall()
    return frozenset(rows)


def names(con: duckdb.DuckDBPyConnection) -> list[str]:
    if not _has_tables(con):
        return []
    return [r[0] for r in con.execute(f"SELECT name FROM {ROLES} ORDER BY name").fetchall()]
