"""Serve a DuckDB database over the PostgreSQL wire protocol, so psql, psycopg and
a PostgreSQL server's postgres_fdw can query it and run GENERATE SYNTHETIC …
Any database name a client asks for reaches the served file.  The user given here
owns the database and creates login roles through the proxy (CREATE ROLE, GRANT)."""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

import synthtab_db
from synthtab_db.proxy import Limits, serve, tls_context
from synthtab_db.proxy.auth import METHODS

NAME = "serve"
HELP = "PostgreSQL wire-protocol server over a DuckDB database (psql, psycopg, postgres_fdw)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("database", help="DuckDB database file (created if missing)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=5433, help="port (default 5433)")
    parser.add_argument("--user", default="synth", help="the owner's user name (default synth)")
    parser.add_argument("--password-file", help="file whose first line is the owner's password")
    parser.add_argument(
        "--password", help="the owner's password (visible in the process list: prefer --password-file or "
                           "$SYNTHTAB_PASSWORD)"
    )
    parser.add_argument("--auth", choices=sorted(METHODS), default="scram-sha-256", help="password method")
    parser.add_argument("--max-connections", type=int, default=Limits.max_connections,
                        help=f"authenticated sessions at once (default {Limits.max_connections}); beyond: 53300")
    parser.add_argument("--auth-timeout", type=float, default=Limits.auth_timeout,
                        help=f"seconds a client has to log in (default {Limits.auth_timeout:g})")
    parser.add_argument("--tls-cert", help="PEM certificate: answer SSLRequest with TLS (sslmode=require)")
    parser.add_argument("--tls-key", help="PEM private key for --tls-cert")
    parser.add_argument(
        "--allow-file-access",
        action="store_true",
        help="let clients use DuckDB's file functions (read_csv, COPY TO, ATTACH); off by default",
    )
    parser.add_argument(
        "--trust", action="store_true", help="no password: accept loopback clients only (for local development)"
    )


def read_password(args: argparse.Namespace) -> str | None:
    """--password-file, then $SYNTHTAB_PASSWORD, then --password; an empty one is refused."""
    if args.password_file:
        lines = Path(args.password_file).read_text().splitlines()
        password = lines[0] if lines else ""
    else:
        password = os.environ.get("SYNTHTAB_PASSWORD") or args.password
    if password is None and not args.trust:
        raise synthtab_db.SynthError(
            "give --password-file or set SYNTHTAB_PASSWORD (or --trust for loopback-only access)"
        )
    if password is not None and not password:
        raise synthtab_db.SynthError("the password is empty: give a non-empty one")
    return password


def _tls(args: argparse.Namespace):
    if bool(args.tls_cert) != bool(args.tls_key):
        raise synthtab_db.SynthError("give both --tls-cert and --tls-key, or neither")
    return tls_context(args.tls_cert, args.tls_key) if args.tls_cert else None


def run(args: argparse.Namespace) -> int:
    password = read_password(args)
    tls = _tls(args)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    limits = Limits(max_connections=args.max_connections, auth_timeout=args.auth_timeout)
    con = synthtab_db.connect(args.database)
    server = serve(con.duckdb, args.host, args.port, args.user, password, args.auth, args.trust,
                   args.allow_file_access, limits=limits, tls=tls)
    method = "trust (loopback only)" if password is None else args.auth
    print(f"serving {args.database} on {args.host}:{server.port} as owner {args.user} ({method}"
          f"{', TLS' if tls else ''}); Ctrl-C stops", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
        con.close()
    return 0
