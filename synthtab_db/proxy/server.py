"""The threaded wire server: one thread and one DuckDB cursor per client.

A client that breaks the protocol, sends an oversized message or vanishes loses
its own connection only; a CancelRequest interrupts the statement its backend
key names.
"""

from __future__ import annotations

import logging
import socket
import socketserver
import threading

import duckdb

from synthtab_db.connection import Connection
from synthtab_db.proxy import codec
from synthtab_db.proxy.codec import ClientGone, ProtocolViolation
from synthtab_db.proxy.executor import Executor
from synthtab_db.proxy.session import Session
from synthtab_db.proxy.settings import Settings
from synthtab_db.udfs.function_owner import adopt
from synthtab_db.udfs.synthesizer_functions import register_all

log = logging.getLogger("synthtab_db.proxy")


class _Handler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        server: ProxyServer = self.server  # type: ignore[assignment]
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        channel = codec.Channel(self.request, server.max_message)
        session = Session(server, channel, self.client_address[0])
        try:
            if session.start():
                server.register(session)
                session.serve()
        except ProtocolViolation as err:
            _try_send(channel, codec.error_response("08P01", str(err), "FATAL"))
        except (ClientGone, ConnectionError, OSError):
            pass
        except Exception as err:  # a bug must cost one connection, never the server
            log.exception("session failed")
            _try_send(channel, codec.error_response("XX000", f"internal error: {err}", "FATAL"))
        finally:
            server.unregister(session)
            session.close()


def _try_send(channel: codec.Channel, data: bytes) -> None:
    try:
        channel.send(data)
    except OSError:
        pass


class ProxyServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, database: duckdb.DuckDBPyConnection, address: tuple[str, int], authenticator,
                 max_message: int = codec.DEFAULT_MAX_MESSAGE):
        super().__init__(address, _Handler)
        self.database = database
        self.authenticator = authenticator
        self.max_message = max_message
        self.sessions: dict[int, Session] = {}
        self.lock = threading.Lock()
        register_all(database)  # the synthesizers' UDFs live on the database connection, once

    @property
    def port(self) -> int:
        return self.server_address[1]

    def open_executor(self, settings: Settings) -> Executor:
        with self.lock:
            cursor = adopt(self.database.cursor(), self.database)
        return Executor(Connection(cursor), settings)

    def close_executor(self, executor: Executor) -> None:
        try:
            executor.cursor.close()
        except duckdb.Error:
            pass

    def register(self, session: Session) -> None:
        with self.lock:
            self.sessions[session.pid] = session

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
