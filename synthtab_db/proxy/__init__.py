"""A PostgreSQL wire-protocol (v3) server over a DuckDB database, so psql, psycopg
and a real PostgreSQL's postgres_fdw can run our statements and read synthetic
tables. ``serve()`` starts one; the parts:

- codec.py: message framing and builders; auth.py: SCRAM-SHA-256, md5, trust
- session.py: startup and the simple/extended protocols; executor.py: dispatch
- commands.py: statements answered by the proxy (transactions, SET/SHOW, cursors)
- catalog.py: pg_catalog queries from DuckDB's catalog; translate.py: sqlglot
- types.py: DuckDB types as PostgreSQL OIDs and encodings
"""

from __future__ import annotations

import ssl

import duckdb

from synthtab_db.proxy.auth import make_authenticator
from synthtab_db.proxy.client import ClientInfo
from synthtab_db.proxy.limits import Limits
from synthtab_db.proxy.server import ProxyServer


def serve(
    database: str | duckdb.DuckDBPyConnection,
    host: str = "127.0.0.1",
    port: int = 5433,
    user: str = "synth",
    password: str | None = None,
    auth: str = "scram-sha-256",
    trust: bool = False,
    file_access: bool = False,
    limits: Limits = Limits(),
    tls: ssl.SSLContext | None = None,
) -> ProxyServer:
    """A bound (not yet serving) server; call ``serve_forever()`` or ``serve_in_thread()``.

    Unless ``file_access``, DuckDB's file functions (read_csv, COPY TO, ATTACH …) are
    switched off for the whole database: a network client must not read or write the
    server's files. GENERATE and the rest work without them.
    """
    con = duckdb.connect(database) if isinstance(database, str) else database
    if not file_access:
        con.execute("SET enable_external_access = false")
    authenticator = make_authenticator(auth, user, password, trust)
    return ProxyServer(con, (host, port), authenticator, limits=limits, tls=tls, owner=user)


def tls_context(cert: str, key: str) -> ssl.SSLContext:
    """A server context from a PEM certificate and key (TLS 1.2 or later)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    return context


__all__ = ["ClientInfo", "Limits", "ProxyServer", "serve", "tls_context"]
