"""One client connection: startup, authentication, then the simple and extended
query protocols over an Executor.

Extended protocol: Parse stores a statement, Bind makes a portal (decoding text or
binary parameters), Describe/Execute run it on first need (Execute with a row
limit suspends the portal), Sync ends the implicit batch. After an error every
message up to the next Sync is discarded, as PostgreSQL does.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import struct
import time
from dataclasses import dataclass, field
from typing import Any

from synthtab_db.actor import Actor, act_as
from synthtab_db.dialect import split_script
from synthtab_db.proxy import codec, types
from synthtab_db.proxy.codec import Body, Message, ProtocolViolation
from synthtab_db.proxy.errors import PgError, message_of, sqlstate_of
from synthtab_db.proxy.executor import Executor
from synthtab_db.proxy.outcome import Outcome
from synthtab_db.proxy.settings import Settings

_FLUSH_AT = 64 * 1024
log = logging.getLogger("synthtab_db.proxy")


@dataclass
class Prepared:
    sql: str
    param_oids: list[int]


@dataclass
class Portal:
    prepared: Prepared
    params: list[Any]
    result_formats: list[int]
    outcome: Outcome | None = None
    finished: bool = False


@dataclass
class Output:
    """Backend messages batched until a flush point (Sync, Flush, end of a Query)."""

    channel: codec.Channel
    parts: list[bytes] = field(default_factory=list)
    size: int = 0

    def add(self, data: bytes) -> None:
        self.parts.append(data)
        self.size += len(data)
        if self.size >= _FLUSH_AT:
            self.flush()

    def flush(self) -> None:
        if self.parts:
            self.channel.send(*self.parts)
        self.parts, self.size = [], 0


class Session:
    def __init__(self, server, channel: codec.Channel, peer: str):
        self.server = server
        self.channel = channel
        self.peer = peer
        self.out = Output(channel)
        self.pid = os.getpid() ^ (id(self) & 0x7FFFFFFF)
        self.secret = secrets.randbits(31)
        self.statements: dict[str, Prepared] = {}
        self.portals: dict[str, Portal] = {}
        self.skipping = False  # after an error in the extended protocol, until Sync
        self.mode_extended = False
        self.executor: Executor | None = None
        self.client = None  # ClientInfo once authenticated

    # -- startup --------------------------------------------------------------------
    def start(self) -> bool:
        """Startup packet(s) and authentication; False when the connection should close."""
        while True:
            code, body = self.channel.read_startup()
            if code == codec.SSL_REQUEST and self.server.tls is not None:
                self.channel.send(b"S")
                self.channel.upgrade(self.server.tls)
                continue
            if code in (codec.SSL_REQUEST, codec.GSSENC_REQUEST):
                self.channel.send(b"N")
                continue
            if code == codec.CANCEL_REQUEST:
                if len(body) != 8:
                    raise ProtocolViolation("malformed CancelRequest")
                pid, secret = struct.unpack("!ii", body)
                self.server.cancel(pid, secret)
                return False
            break
        if code >> 16 != 3:
            self.channel.send(codec.error_response("0A000", f"unsupported frontend protocol {code >> 16}.{code & 0xFFFF}"))
            return False
        params = codec.startup_parameters(body)
        unknown = [k for k in params if k.startswith("_pq_.")]
        if code & 0xFFFF or unknown:
            self.channel.send(codec.negotiate_protocol_version(0, unknown))
        return self._authenticate(params)

    def _authenticate(self, params: dict[str, str]) -> bool:
        user = params.get("user", "")
        if not self.server.authenticator.authenticate(self.channel, user, self.peer, self.server.role_verifier):
            self._refuse_login(user)
            return False
        self.server.failed_logins.succeed(self.peer)
        self.client = self.server.client(user, self.peer)
        if not self.server.admit(self):
            log.warning("too many connections: refused %s from %s", user, self.peer)
            self.channel.send(codec.error_response("53300", "sorry, too many clients already", "FATAL"))
            return False
        act_as(Actor(role=user, client=self.peer))  # the audit trail's who and from where (synthtab.runs)
        settings = Settings(params)
        self.executor = self.server.open_executor(settings, self.client)
        self.executor.on_deallocate = self._deallocate
        log.info("connection authorized: user=%s address=%s owner=%s", user, self.peer, self.client.owner)
        self.channel.send(
            codec.authentication(0),
            *[codec.parameter_status(k, v) for k, v in settings.reported().items()],
            codec.backend_key_data(self.pid, self.secret),
            codec.ready_for_query("I"),
        )
        return True

    def _refuse_login(self, user: str) -> None:
        """Logged with the address; the answer is held longer for each recent failure."""
        delay = self.server.failed_logins.fail(self.peer)
        log.warning('password authentication failed for user "%s" from %s (held %.1f s)', user, self.peer, delay)
        time.sleep(delay)
        self.channel.send(codec.error_response("28P01", f'password authentication failed for user "{user}"', "FATAL"))

    # -- main loop ------------------------------------------------------------------
    def serve(self) -> None:
        while True:
            message = self.channel.read()
            if message.kind == "X":
                return
            if self.skipping and message.kind not in ("S", "Q"):
                continue
            handler = _HANDLERS.get(message.kind)
            if handler is None:
                raise ProtocolViolation(f"unsupported message type {message.kind!r}")
            try:
                handler(self, message)
            except (ProtocolViolation, OSError):
                raise
            except Exception as err:  # every statement error goes back to the client
                self._error(err)

    def _error(self, err: BaseException) -> None:
        log.info("error %s for %s@%s: %s", sqlstate_of(err), self.client.role, self.peer, message_of(err))
        self.executor.tx.fail()
        self.out.add(codec.error_response(sqlstate_of(err), message_of(err)))
        self.skipping = self.mode_extended
        if not self.mode_extended:
            self._ready()

    def _ready(self) -> None:
        self.out.add(codec.ready_for_query(self.executor.tx.status))
        self.out.flush()

    # -- simple query -----------------------------------------------------------------
    def on_query(self, message: Message) -> None:
        self.mode_extended = False
        self.skipping = False
        sql = Body(message.body).cstring()
        pieces = split_script(sql)
        if not pieces:
            self.out.add(codec.EMPTY_QUERY)
        for piece in pieces:
            started = time.perf_counter()
            outcome = self.executor.run(piece.text)
            self._send_rows(outcome, [0], 0, describe=True)
            self.executor.end_of_transaction()
            self._log_statement(piece.text, started)
        self._ready()

    # -- extended query ---------------------------------------------------------------
    def on_parse(self, message: Message) -> None:
        self.mode_extended = True
        body = Body(message.body)
        name, sql = body.cstring(), body.cstring()
        oids = [body.int32() for _ in range(body.int16())]
        if name and name in self.statements:
            raise PgError("42P05", f'prepared statement "{name}" already exists')
        self.statements[name] = Prepared(sql, oids)
        self.out.add(codec.PARSE_COMPLETE)

    def on_bind(self, message: Message) -> None:
        self.mode_extended = True
        body = Body(message.body)
        portal, name = body.cstring(), body.cstring()
        prepared = self._statement(name)
        formats = [body.int16() for _ in range(body.int16())]
        raw = []
        for _ in range(body.int16()):
            length = body.int32()
            raw.append(None if length < 0 else body.bytes(length))
        result_formats = [body.int16() for _ in range(body.int16())]
        oids = prepared.param_oids + [0] * (len(raw) - len(prepared.param_oids))
        params = [
            types.decode_parameter(value, oids[i], _format(formats, i) == 1) for i, value in enumerate(raw)
        ]
        self.portals[portal] = Portal(prepared, params, result_formats)
        self.out.add(codec.BIND_COMPLETE)

    def on_describe(self, message: Message) -> None:
        body = Body(message.body)
        kind, name = body.bytes(1), body.cstring()
        if kind == b"S":
            prepared = self._statement(name)
            count = max(len(prepared.param_oids), _placeholders(prepared.sql))
            oids = [(prepared.param_oids[i] if i < len(prepared.param_oids) else 0) or types.TEXT.oid for i in range(count)]
            self.out.add(codec.parameter_description(oids))
            columns = self.executor.describe(prepared.sql, count)
            self.out.add(_row_description(columns, []) if columns is not None else codec.NO_DATA)
            return
        cursor = self.executor.cursors.get(name)
        if name not in self.portals and cursor is not None:  # a DECLAREd cursor is a portal too
            self.out.add(_row_description(cursor.columns, []))
            return
        portal = self._portal(name)
        outcome = self._run_portal(portal)
        self.out.add(_row_description(outcome.columns, portal.result_formats) if outcome.returns_rows else codec.NO_DATA)

    def on_execute(self, message: Message) -> None:
        body = Body(message.body)
        name, limit = body.cstring(), body.int32()
        portal = self._portal(name)
        if portal.finished:
            raise PgError("55000", f'portal "{name}" cannot be run')
        started = time.perf_counter()
        outcome = self._run_portal(portal)
        done = self._send_rows(outcome, portal.result_formats, max(limit, 0), describe=False)
        if not done:
            if self.executor.live is outcome:
                self.executor.park()
            self.out.add(codec.PORTAL_SUSPENDED)
            return
        portal.finished = True
        self.executor.end_of_transaction()
        self._log_statement(portal.prepared.sql, started)

    def on_sync(self, message: Message) -> None:
        self.skipping = False
        self.portals.pop("", None)
        self._ready()

    def on_close(self, message: Message) -> None:
        body = Body(message.body)
        kind, name = body.bytes(1), body.cstring()
        (self.statements if kind == b"S" else self.portals).pop(name, None)
        self.out.add(codec.CLOSE_COMPLETE)

    def on_flush(self, message: Message) -> None:
        self.out.flush()

    def on_copy(self, message: Message) -> None:
        raise PgError("0A000", "COPY FROM STDIN is not supported by the proxy")

    # -- helpers ------------------------------------------------------------------------
    def _statement(self, name: str) -> Prepared:
        if name not in self.statements:
            raise PgError("26000", f'prepared statement "{name}" does not exist')
        return self.statements[name]

    def _portal(self, name: str) -> Portal:
        if name not in self.portals:
            raise PgError("34000", f'portal "{name}" does not exist')
        return self.portals[name]

    def _run_portal(self, portal: Portal) -> Outcome:
        if portal.outcome is None:
            portal.outcome = self.executor.run(portal.prepared.sql, portal.params or None)
        return portal.outcome

    def _send_rows(self, outcome: Outcome, formats: list[int], limit: int, describe: bool) -> bool:
        """DataRow messages as the rows stream from DuckDB: memory stays flat in the row count."""
        if outcome.returns_rows:
            if describe:
                self.out.add(_row_description(outcome.columns, formats))
            oids = [pg.oid for _, pg in outcome.columns]
            binary = [_format(formats, i) == 1 for i in range(len(oids))]
            for row in outcome.stream(limit):
                self.out.add(codec.data_row([types.encode(v, oids[i], binary[i]) for i, v in enumerate(row)]))
            if not outcome.done:
                return False
        self.out.add(codec.command_complete(outcome.final_tag()))
        return True

    def _log_statement(self, sql: str, started: float) -> None:
        if log.isEnabledFor(logging.INFO):
            took = (time.perf_counter() - started) * 1000
            log.info("statement by %s@%s (%.1f ms): %s", self.client.role, self.peer, took, for_log(sql))

    def _deallocate(self, name: str | None) -> None:
        if name is None:
            self.statements.clear()
        elif self.statements.pop(name.strip('"'), None) is None:
            raise PgError("26000", f'prepared statement "{name}" does not exist')

    def close(self) -> None:
        if self.executor is not None:
            self.executor.tx.abandon()
            self.server.close_executor(self.executor)


def for_log(sql: str) -> str:
    """One line, at most 200 characters, with passwords of role statements masked."""
    text = re.sub(r"(PASSWORD\s+)'(?:[^']|'')*'", r"\1'***'", " ".join(sql.split()), flags=re.IGNORECASE)
    return text if len(text) <= 200 else text[:197] + "..."


def _format(formats: list[int], i: int) -> int:
    if not formats:
        return 0
    return formats[0] if len(formats) == 1 else (formats[i] if i < len(formats) else 0)


def _placeholders(sql: str) -> int:
    found = [int(n) for n in re.findall(r"\$(\d+)", sql)]
    return max(found, default=0)


def _row_description(columns, formats: list[int]) -> bytes:
    return codec.row_description(
        [(name, pg.oid, pg.size, pg.modifier, _format(formats, i)) for i, (name, pg) in enumerate(columns)]
    )


_HANDLERS = {
    "Q": Session.on_query,
    "P": Session.on_parse,
    "B": Session.on_bind,
    "D": Session.on_describe,
    "E": Session.on_execute,
    "S": Session.on_sync,
    "C": Session.on_close,
    "H": Session.on_flush,
    "d": Session.on_copy,
    "c": Session.on_copy,
    "f": Session.on_copy,
}
