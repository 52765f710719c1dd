"""Password authentication the way libpq expects it: SCRAM-SHA-256 (RFC 5802/7677)
or md5; trust only when asked for, and only for loopback clients.

Each method is a small class with one ``authenticate(channel, user)`` that returns
True or False; the server picks one by name from METHODS.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import os

from synthtab_db.proxy import codec
from synthtab_db.proxy.codec import Body, ProtocolViolation

SCRAM_ITERATIONS = 4096
_AUTH_OK, _AUTH_MD5, _AUTH_SASL, _AUTH_SASL_CONTINUE, _AUTH_SASL_FINAL = 0, 5, 10, 11, 12


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return host == "localhost"


def _password_message(channel: codec.Channel) -> bytes:
    message = channel.read()
    if message.kind != "p":
        raise ProtocolViolation(f"expected a password message, got {message.kind!r}")
    return message.body


class Trust:
    """No password: for loopback clients of a server started with --trust."""

    name = "trust"

    def authenticate(self, channel: codec.Channel, user: str, peer: str) -> bool:
        return is_loopback(peer)


class Md5:
    name = "md5"

    def __init__(self, user: str, password: str):
        self.user, self.password = user, password

    def authenticate(self, channel: codec.Channel, user: str, peer: str) -> bool:
        salt = os.urandom(4)
        channel.send(codec.authentication(_AUTH_MD5, salt))
        answer = Body(_password_message(channel)).cstring()
        inner = hashlib.md5((self.password + self.user).encode()).hexdigest()
        expected = "md5" + hashlib.md5(inner.encode() + salt).hexdigest()
        return user == self.user and hmac.compare_digest(answer, expected)


class Scram:
    """SCRAM-SHA-256 without channel binding (the proxy refuses SSL)."""

    name = "scram-sha-256"

    def __init__(self, user: str, password: str):
        self.user = user
        self.salt = os.urandom(16)
        salted = hashlib.pbkdf2_hmac("sha256", password.encode(), self.salt, SCRAM_ITERATIONS)
        self.stored_key = hashlib.sha256(_hmac(salted, b"Client Key")).digest()
        self.server_key = _hmac(salted, b"Server Key")

    def authenticate(self, channel: codec.Channel, user: str, peer: str) -> bool:
        channel.send(codec.authentication(_AUTH_SASL, codec.cstr("SCRAM-SHA-256") + b"\0"))
        first = Body(_password_message(channel))
        if first.cstring() != "SCRAM-SHA-256":
            raise ProtocolViolation("unsupported SASL mechanism")
        client_first = first.bytes(first.int32()).decode()
        header, bare = _split_gs2(client_first)
        client_nonce = _attributes(bare)["r"]
        nonce = client_nonce + base64.b64encode(os.urandom(18)).decode()
        server_first = f"r={nonce},s={base64.b64encode(self.salt).decode()},i={SCRAM_ITERATIONS}"
        channel.send(codec.authentication(_AUTH_SASL_CONTINUE, server_first.encode()))
        client_final = _password_message(channel).decode()
        without_proof, _, proof_part = client_final.rpartition(",p=")
        attrs = _attributes(without_proof)
        if attrs.get("r") != nonce or attrs.get("c") != base64.b64encode(header.encode()).decode():
            return False
        auth_message = f"{bare},{server_first},{without_proof}".encode()
        if not self._proof_ok(base64.b64decode(proof_part), auth_message) or user != self.user:
            return False
        signature = base64.b64encode(_hmac(self.server_key, auth_message)).decode()
        channel.send(codec.authentication(_AUTH_SASL_FINAL, f"v={signature}".encode()))
        return True

    def _proof_ok(self, proof: bytes, auth_message: bytes) -> bool:
        signature = _hmac(self.stored_key, auth_message)
        if len(proof) != len(signature):
            return False
        client_key = bytes(a ^ b for a, b in zip(proof, signature))
        return hmac.compare_digest(hashlib.sha256(client_key).digest(), self.stored_key)


def _hmac(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()


def _split_gs2(client_first: str) -> tuple[str, str]:
    """'n,,n=user,r=nonce' -> ('n,,', 'n=user,r=nonce'); 'p=…' (channel binding) is refused."""
    flag, _, rest = client_first.partition(",")
    authzid, _, bare = rest.partition(",")
    if flag not in ("n", "y"):
        raise ProtocolViolation("SCRAM channel binding is not offered without SSL")
    return f"{flag},{authzid},", bare


def _attributes(text: str) -> dict[str, str]:
    out = {}
    for item in text.split(","):
        key, sep, value = item.partition("=")
        if sep:
            out[key] = value
    if "r" not in out:
        raise ProtocolViolation("malformed SCRAM message")
    return out


METHODS = {"scram-sha-256": Scram, "md5": Md5}


def make_authenticator(method: str, user: str, password: str | None, trust: bool):
    """``trust`` with no password: loopback clients only. Otherwise a password method."""
    if password is None:
        if not trust:
            raise ValueError("give a password (--password or SYNTHTAB_PASSWORD) or --trust for loopback-only access")
        return Trust()
    if method not in METHODS:
        raise ValueError(f"unknown auth method {method!r}; allowed: {', '.join(METHODS)}")
    return METHODS[method](user, password)


def auth_ok() -> bytes:
    return codec.authentication(_AUTH_OK)


