"""The threaded wire server: one thread and one DuckDB cursor per client.

A client that breaks the protocol, sends an oversized message or vanishes loses
its own connection only; a CancelRequest interrupts the statement its backend
key names.  Connections still in startup are bounded (the oldest is dropped when
``max_pending`` is reached, so half-open connections can't starve real clients)
and must authenticate within ``auth_timeout``; authenticated sessions are capped at
``max_connections``.
"""

from __future__ import annotations

import logging
import socket
import socketserver
import ssl
import threading
from collections import OrderedDict

import duckdb

from synthtab_db import store
from synthtab_db.connection import Connection
from synthtab_db.privacy.ledger import ensure_ledger
from synthtab_db.proxy import codec, roles
from synthtab_db.proxy.client import ClientInfo
from synthtab_db.proxy.codec import ClientGone, ProtocolViolation
from synthtab_db.proxy.executor import Executor
from synthtab_db.proxy.limits import FailedLogins, Limits
from synthtab_db.proxy.session import Session
from synthtab_db.proxy.settings import Settings
from synthtab_db.udfs.function_owner import adopt
from synthtab_db.udfs.synthesizer_functions import register_all

log = logging.getLogger("synthtab_db.proxy")


class _Handler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        server: ProxyServer = self.server  # type: ignore[assignment]
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.request.settimeout(server.limits.auth_timeout)
        channel = codec.Channel(self.request, server.max_message, server.limits.startup_limit)
        session = Session(server, channel, self.client_address[0])
        try:
            started = session.start()
            server.started(self.request)
            if started:
                channel.sock.settimeout(None)  # channel.sock: the TLS socket once upgraded
                session.serve()
        except ProtocolViolation as err:
            log.warning("protocol violation from %s: %s", session.peer, err)
            _try_send(channel, codec.error_response("08P01", str(err), "FATAL"))
        except TimeoutError:
            log.warning("authentication timeout for %s", session.peer)
        except (ClientGone, ConnectionError, OSError, ssl.SSLError):
            pass
        except Exception as err:  # a bug must cost one connection, never the server
            log.exception("session failed")
            _try_send(channel, codec.error_response("XX000", f"internal error: {err}", "FATAL"))
        finally:
            server.started(self.request)
            server.unregister(session)
            session.close()
            channel.close()


def _try_send(channel: codec.Channel, data: bytes) -> None:
    try:
        channel.send(data)
    except (OSError, ValueError):
        pass


class ProxyServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = Limits.backlog

    def __init__(self, database: duckdb.DuckDBPyConnection, address: tuple[str, int], authenticator,
                 max_message: int = codec.DEFAULT_MAX_MESSAGE, limits: Limits = Limits(),
                 tls: ssl.SSLContext | None = None, owner: str = "synth"):
        self.request_queue_size = limits.backlog
        super().__init__(address, _Handler)
        self.database = database
        self.authenticator = authenticator
        self.max_message = max_message
        self.limits = limits
        self.tls = tls
        self.owner = owner
        self.failed_logins = FailedLogins()
        self.sessions: dict[int, Session] = {}
        self.pending: OrderedDict[int, socket.socket] = OrderedDict()
        self.lock = threading.Lock()
        self.role_cursor = database.cursor()
        for ensure in (store.ensure_state, ensure_ledger, roles.ensure):
            ensure(database)  # made once here: clients creating them at once conflict in DuckDB's catalog
        register_all(database)  # the synthesizers' UDFs live on the database connection, once

    @property
    def port(self) -> int:
        return self.server_address[1]

    # -- connections in startup ------------------------------------------------------
    def process_request(self, request, client_address) -> None:
        """Runs in the accepting thread: the oldest connection still in startup makes room."""
        with self.lock:
            self.pending[id(request)] = request
            evicted = self.pending.popitem(last=False)[1] if len(self.pending) > self.limits.max_pending else None
        if evicted is not None:
            _shutdown(evicted)
        super().process_request(request, client_address)

    def started(self, request: socket.socket) -> None:
        with self.lock:
            self.pending.pop(id(request), None)

    # -- sessions ----------------------------------------------------------------------
    def role_verifier(self, name: str) -> roles.Verifier | None:
        with self.lock:
            return roles.lookup(self.role_cursor, name)

    def client(self, user: str, address: str) -> ClientInfo:
        return ClientInfo(role=user, address=address, owner=user == self.owner, database_owner=self.owner)

    def open_executor(self, settings: Settings, client: ClientInfo) -> Executor:
        with self.lock:
            cursor = adopt(self.database.cursor(), self.database)
        return Executor(Connection(cursor), settings, client)

    def close_executor(self, executor: Executor) -> None:
        try:
            executor.cursor.close()
        except duckdb.Error:
            pass

    def admit(self, session: Session) -> bool:
        """Registers an authenticated session; False when max_connections are in use."""
        with self.lock:
            if len(self.sessions) >= self.limits.max_connections:
                return False
            self.sessions[session.pid] = session
            return True

    def unregister(self, session: Session) -> None:
        with self.lock:
            if self.sessions.get(session.pid) is session:
                del self.sessions[session.pid]

    def cancel(self, pid: int, secret: int) -> None:
        with self.lock:
            session = self.sessions.get(pid)
        if session is not None and session.secret == secret and session.executor is not None:
            session.executor.cursor.interrupt()

    def serve_in_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, name="synthtab-proxy", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        try:
            self.role_cursor.close()
        except duckdb.Error:
            pass


def _shutdown(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
