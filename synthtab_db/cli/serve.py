"""Serve a DuckDB database over the PostgreSQL wire protocol, so psql, psycopg and
a PostgreSQL server's postgres_fdw can query it and run GENERATE SYNTHETIC …
Any database name a client asks for reaches the served file."""

from __future__ import annotations

import argparse
import os

import synthtab_db
from synthtab_db.proxy import serve
from synthtab_db.proxy.auth import METHODS

NAME = "serve"
HELP = "PostgreSQL wire-protocol server over a DuckDB database (psql, psycopg, postgres_fdw)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("database", help="DuckDB database file (created if missing)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=5433, help="port (default 5433)")
    parser.add_argument("--user", default="synth", help="the one user name clients log in as (default synth)")
    parser.add_argument("--password", help="password (default: $SYNTHTAB_PASSWORD)")
    parser.add_argument("--auth", choices=sorted(METHODS), default="scram-sha-256", help="password method")
    parser.add_argument(
        "--allow-file-access",
        action="store_true",
        help="let clients use DuckDB's file functions (read_csv, COPY TO, ATTACH); off by default",
    )
    parser.add_argument(
        "--trust", action="store_true", help="no password: accept loopback clients only (for local development)"
    )


def run(args: argparse.Namespace) -> int:
    password = args.password or os.environ.get("SYNTHTAB_PASSWORD")
    if password is None and not args.trust:
        raise synthtab_db.SynthError("give --password or set SYNTHTAB_PASSWORD (or --trust for loopback-only access)")
    con = synthtab_db.connect(args.database)
    server = serve(
        con.duckdb, args.host, args.port, args.user, password, args.auth, args.trust, args.allow_file_access
    )
    method = "trust (loopback only)" if password is None else args.auth
    print(f"serving {args.database} on {args.host}:{server.port} as user {args.user} ({method}); Ctrl-C stops")
    try:
        server.serve_forever()
    finally:
        server.server_close()
        con.close()
    return 0
