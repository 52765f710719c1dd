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

import duckdb

from synthtab_db.proxy.auth import make_authenticator
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
) -> ProxyServer:
    """A bound (not yet serving) server; call ``serve_forever()`` or ``serve_in_thread()``.

    Unless ``file_access``, DuckDB's file functions (read_csv, COPY TO, ATTACH …) are
    switched off for the whole database: a network client must not read or write the
    server's files. GENERATE and the rest work without them.
    """
    con = duckdb.connect(database) if isinstance(database, str) else database
    if not file_access:
        con.execute("SET enable_external_access = false")
    return ProxyServer(con, (host, port), make_authenticator(auth, user, password, trust))


__all__ = ["ProxyServer", "serve"]
