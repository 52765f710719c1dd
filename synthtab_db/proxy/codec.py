"""PostgreSQL v3 wire messages: framing in, builders out.

Every frontend message after startup is ``type byte + int32 length + body``; the
startup packet has no type byte. Lengths are checked against a limit before any
body is read, so an oversized or lying client costs one closed connection, never
the server's memory.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass

PROTOCOL_3 = 196608
SSL_REQUEST = 80877103
GSSENC_REQUEST = 80877104
CANCEL_REQUEST = 80877102
DEFAULT_MAX_MESSAGE = 64 * 1024 * 1024
STARTUP_LIMIT = 10_000


class ProtocolViolation(Exception):
    """The client broke the protocol; its connection is closed (SQLSTATE 08P01)."""


class ClientGone(Exception):
    """The socket closed in the middle of (or before) a message."""


@dataclass(frozen=True)
class Message:
    kind: str  # one ASCII letter
    body: bytes


class Channel:
    """Buffered reads of whole messages from one client socket."""

    def __init__(self, sock: socket.socket, max_message: int = DEFAULT_MAX_MESSAGE, startup_limit: int = STARTUP_LIMIT):
        self.sock = sock
        self.max_message = max_message
        self.startup_limit = startup_limit
        self.reader = sock.makefile("rb", buffering=65536)

    def upgrade(self, context) -> None:
        """TLS after an SSLRequest answered 'S' (the client sends nothing else before its handshake)."""
        self.sock = context.wrap_socket(self.sock, server_side=True)
        self.reader = self.sock.makefile("rb", buffering=65536)

    def _exact(self, n: int) -> bytes:
        data = self.reader.read(n)
        if data is None or len(data) < n:
            raise ClientGone()
        return data

    def _length(self, minimum: int, maximum: int) -> int:
        (length,) = struct.unpack("!i", self._exact(4))
        if length < minimum or length > maximum:
            raise ProtocolViolation(f"invalid message length {length} (allowed {minimum}..{maximum})")
        return length

    def read_startup(self) -> tuple[int, bytes]:
        length = self._length(8, self.startup_limit)
        body = self._exact(length - 4)
        return struct.unpack("!i", body[:4])[0], body[4:]

    def read(self) -> Message:
        kind = self._exact(1)
        length = self._length(4, self.max_message)
        return Message(kind.decode("latin-1"), self._exact(length - 4))

    def send(self, *messages: bytes) -> None:
        self.sock.sendall(b"".join(messages))

    def close(self) -> None:
        """Closes the TLS socket too (wrapping detached the one socketserver closes)."""
        for closing in (self.reader.close, self.sock.close):
            try:
                closing()
            except OSError:
                pass


class Body:
    """Cursor over a message body; running past its end is a protocol violation."""

    def __init__(self, data: bytes):
        self.data = data
        self.at = 0

    def _take(self, n: int) -> bytes:
        if n < 0 or self.at + n > len(self.data):
            raise ProtocolViolation("message shorter than its contents")
        chunk = self.data[self.at : self.at + n]
        self.at += n
        return chunk

    def int16(self) -> int:
        return struct.unpack("!h", self._take(2))[0]

    def int32(self) -> int:
        return struct.unpack("!i", self._take(4))[0]

    def cstring(self) -> str:
        end = self.data.find(b"\0", self.at)
        if end < 0:
            raise ProtocolViolation("unterminated string in message")
        text = self.data[self.at : end].decode("utf-8", errors="replace")
        self.at = end + 1
        return text

    def bytes(self, n: int) -> bytes:
        return self._take(n)

    def rest(self) -> bytes:
        return self._take(len(self.data) - self.at)


def startup_parameters(body: bytes) -> dict[str, str]:
    reader, params = Body(body), {}
    while reader.at < len(body):
        key = reader.cstring()
        if not key:
            break
        params[key] = reader.cstring()
    return params


# -- backend messages -------------------------------------------------------------


def frame(kind: bytes, payload: bytes = b"") -> bytes:
    return kind + struct.pack("!i", len(payload) + 4) + payload


def cstr(text: str) -> bytes:
    return text.encode("utf-8") + b"\0"


def authentication(code: int, extra: bytes = b"") -> bytes:
    return frame(b"R", struct.pack("!i", code) + extra)


def parameter_status(key: str, value: str) -> bytes:
    return frame(b"S", cstr(key) + cstr(value))


def backend_key_data(pid: int, secret: int) -> bytes:
    return frame(b"K", struct.pack("!ii", pid, secret))


def ready_for_query(status: str) -> bytes:
    return frame(b"Z", status.encode())


def command_complete(tag: str) -> bytes:
    return frame(b"C", cstr(tag))


def error_response(sqlstate: str, message: str, severity: str = "ERROR", detail: str | None = None) -> bytes:
    fields = [b"S" + cstr(severity), b"V" + cstr(severity), b"C" + cstr(sqlstate), b"M" + cstr(message)]
    if detail:
        fields.append(b"D" + cstr(detail))
    return frame(b"E", b"".join(fields) + b"\0")


def notice_response(message: str) -> bytes:
    return frame(b"N", b"S" + cstr("NOTICE") + b"V" + cstr("NOTICE") + b"C" + cstr("00000") + b"M" + cstr(message) + b"\0")


def row_description(fields: list[tuple[str, int, int, int, int]]) -> bytes:
    """fields: (name, type oid, type size, type modifier, format code)."""
    parts = [struct.pack("!h", len(fields))]
    for name, oid, size, modifier, fmt in fields:
        parts.append(cstr(name) + struct.pack("!ihihih", 0, 0, oid, size, modifier, fmt))
    return frame(b"T", b"".join(parts))


def data_row(values: list[bytes | None]) -> bytes:
    parts = [struct.pack("!h", len(values))]
    for value in values:
        parts.append(struct.pack("!i", -1) if value is None else struct.pack("!i", len(value)) + value)
    return frame(b"D", b"".join(parts))


def parameter_description(oids: list[int]) -> bytes:
    return frame(b"t", struct.pack("!h", len(oids)) + b"".join(struct.pack("!i", o) for o in oids))


def negotiate_protocol_version(minor: int, unknown: list[str]) -> bytes:
    return frame(b"v", struct.pack("!ii", minor, len(unknown)) + b"".join(cstr(u) for u in unknown))


PARSE_COMPLETE = frame(b"1")
BIND_COMPLETE = frame(b"2")
CLOSE_COMPLETE = frame(b"3")
NO_DATA = frame(b"n")
EMPTY_QUERY = frame(b"I")
PORTAL_SUSPENDED = frame(b"s")
