"""Password authentication the way libpq expects it: SCRAM-SHA-256 (RFC 5802/7677)
or md5; trust only when asked for, and only for loopback clients.

Each method is a small class with one ``authenticate(channel, user, peer, roles)``
that returns True or False; the server picks one by name from METHODS.  The user
given to ``serve`` is the owner; ``roles(name)`` looks up the SCRAM verifier of a
login role created with CREATE ROLE (None for no such role).  md5 can only check the
owner (a role's verifier is not an md5 secret).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import os
from typing import Callable

from synthtab_db.proxy import codec
from synthtab_db.proxy.codec import Body, ProtocolViolation
from synthtab_db.proxy.roles import Verifier, make_verifier

RoleLookup = Callable[[str], "Verifier | None"]

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

    def __init__(self, owner: str):
        self.owner = owner

    def authenticate(self, channel: codec.Channel, user: str, peer: str, roles: RoleLookup) -> bool:
        return is_loopback(peer) and (user == self.owner or roles(user) is not None)


class Md5:
    name = "md5"

    def __init__(self, user: str, password: str):
        self.user, self.password = user, password

    def authenticate(self, channel: codec.Channel, user: str, peer: str, roles: RoleLookup) -> bool:
        salt = os.urandom(4)
        channel.send(codec.authentication(_AUTH_MD5, salt))
        answer = Body(_password_message(channel)).cstring()
        inner = hashlib.md5((self.password + self.user).encode()).hexdigest()
        expected = "md5" + hashlib.md5(inner.encode() + salt).hexdigest()
        return user == self.user and hmac.compare_digest(answer, expected)


class Scram:
    """SCRAM-SHA-256 without channel binding.  An unknown user goes through the whole
    exchange against a decoy verifier, so a client can't tell which roles exist."""

    name = "scram-sha-256"

    def __init__(self, user: str, password: str):
        self.user = user
        self.owner = make_verifier(password)
        self.decoy = make_verifier(os.urandom(16).hex())

    def authenticate(self, channel: codec.Channel, user: str, peer: str, roles: RoleLookup) -> bool:
        known = self.owner if user == self.user else roles(user)
        verifier = known or self.decoy
        channel.send(codec.authentication(_AUTH_SASL, codec.cstr("SCRAM-SHA-256") + b"\0"))
        first = Body(_password_message(channel))
        if first.cstring() != "SCRAM-SHA-256":
            raise ProtocolViolation("unsupported SASL mechanism")
        client_first = first.bytes(first.int32()).decode(errors="replace")
        header, bare = _split_gs2(client_first)
        nonce = _attributes(bare)["r"] + base64.b64encode(os.urandom(18)).decode()
        salt = base64.b64encode(verifier.salt).decode()
        server_first = f"r={nonce},s={salt},i={verifier.iterations}"
        channel.send(codec.authentication(_AUTH_SASL_CONTINUE, server_first.encode()))
        client_final = _password_message(channel).decode(errors="replace")
        without_proof, _, proof_part = client_final.rpartition(",p=")
        attrs = _attributes(without_proof)
        if attrs.get("r") != nonce or attrs.get("c") != base64.b64encode(header.encode()).decode():
            return False
        auth_message = f"{bare},{server_first},{without_proof}".encode()
        if known is None or not _proof_ok(verifier, _b64(proof_part), auth_message):
            return False
        signature = base64.b64encode(_hmac(verifier.server_key, auth_message)).decode()
        channel.send(codec.authentication(_AUTH_SASL_FINAL, f"v={signature}".encode()))
        return True


def _b64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:
        raise ProtocolViolation("malformed SCRAM proof") from None


def _proof_ok(verifier: Verifier, proof: bytes, auth_message: bytes) -> bool:
    signature = _hmac(verifier.stored_key, auth_message)
    if len(proof) != len(signature):
        return False
    client_key = bytes(a ^ b for a, b in zip(proof, signature))
    return hmac.compare_digest(hashlib.sha256(client_key).digest(), verifier.stored_key)


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
            raise ValueError(
                "give a password (--password-file or SYNTHTAB_PASSWORD) or --trust for loopback-only access"
            )
        return Trust(user)
    if not password:
        raise ValueError("the password is empty: give a non-empty one (or --trust for loopback-only access)")
    if method not in METHODS:
        raise ValueError(f"unknown auth method {method!r}; allowed: {', '.join(METHODS)}")
    return METHODS[method](user, password)


def auth_ok() -> bytes:
    return codec.authentication(_AUTH_OK)


