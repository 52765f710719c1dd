"""CREATE/ALTER/DROP ROLE, GRANT and REVOKE through the proxy, PostgreSQL's way;
the owner's alone.  Each is one entry in ROLE_COMMANDS: (pattern, handler).

Privileges: SELECT and GENERATE on a table (``ON [TABLE] t``) or on every table
of a schema (``ON SCHEMA s`` or ``ON ALL TABLES IN SCHEMA s``, which also covers
tables made later); CREATE and USAGE on a schema (CREATE lets a role create, write
and drop tables there).  ``ALL [PRIVILEGES]`` is every privilege that fits.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Callable

from synthtab_db.proxy import roles
from synthtab_db.proxy.errors import PgError
from synthtab_db.proxy.outcome import Outcome
from synthtab_db.proxy.privileges import DEFAULT_SCHEMA, denied
from synthtab_db.store import STATE

if TYPE_CHECKING:
    from synthtab_db.proxy.executor import Executor

_F = re.IGNORECASE | re.DOTALL
_IDENT = r'"(?:[^"]|"")+"|[A-Za-z_][\w$]*'
_QUALIFIED = rf"(?:{_IDENT})(?:\s*\.\s*(?:{_IDENT}))?"
_LIST = lambda item: rf"{item}(?:\s*,\s*{item})*"  # noqa: E731
_PASSWORD = r"'((?:[^']|'')*)'"
ON_TABLE = ("SELECT", "GENERATE")
ON_SCHEMA = ("SELECT", "GENERATE", "CREATE", "USAGE")


def ident(text: str) -> str:
    """An identifier as DuckDB resolves it: quoted kept, unquoted lower-cased."""
    text = text.strip()
    return text[1:-1].replace('""', '"') if text.startswith('"') else text.lower()


def _items(text: str) -> list[str]:
    return [ident(x) for x in re.findall(_IDENT, text)]


def _owner_only(ex: Executor, what: str) -> None:
    if not ex.client.owner:
        raise denied(f"{what} for role {ex.client.role}")


def _role_name(ex: Executor, text: str) -> str:
    name = ident(text)
    if name == ex.client.role:  # only the owner gets here
        raise PgError("42939", f'role name "{name}" is the owner\'s')
    return name


def _password(options: str) -> roles.Verifier:
    found = re.search(rf"PASSWORD\s+{_PASSWORD}", options or "", _F)
    if found is None:
        raise PgError("0A000", "a role logs in with a password: CREATE ROLE name WITH LOGIN PASSWORD '…'")
    return roles.verifier_from_password(found[1].replace("''", "'"))


def _create(ex: Executor, m: re.Match) -> Outcome:
    _owner_only(ex, "CREATE ROLE")
    _unsupported_options(m["options"])
    roles.create(ex.cursor, _role_name(ex, m["name"]), _password(m["options"]))
    return Outcome("CREATE ROLE")


def _unsupported_options(options: str) -> None:
    rest = re.sub(rf"\b(WITH|LOGIN|ENCRYPTED\s+PASSWORD\s+{_PASSWORD}|PASSWORD\s+{_PASSWORD})", " ", options or "",
                  flags=_F)
    if rest.strip():
        raise PgError("0A000", f"role option {rest.split()[0]!r} is not supported: roles log in with a password "
                               "and get privileges through GRANT")


def _alter(ex: Executor, m: re.Match) -> Outcome:
    _owner_only(ex, "ALTER ROLE")
    roles.set_verifier(ex.cursor, _role_name(ex, m["name"]), _password(m["options"]))
    return Outcome("ALTER ROLE")


def _drop(ex: Executor, m: re.Match) -> Outcome:
    _owner_only(ex, "DROP ROLE")
    for name in _items(m["names"]):
        roles.drop(ex.cursor, name, bool(m["exists"]))
    return Outcome("DROP ROLE")


def _privileges(text: str, allowed: tuple[str, ...]) -> list[str]:
    words = [w.strip().upper() for w in text.split(",")]
    if words in (["ALL"], ["ALL PRIVILEGES"]):
        return list(allowed)
    wrong = [w for w in words if w not in allowed]
    if wrong:
        raise PgError("0LP01" if wrong[0] in ON_SCHEMA else "42601",
                      f"privilege {wrong[0]} does not apply here; allowed: {', '.join(allowed)}")
    return words


def _objects(m: re.Match) -> tuple[str, list[str], tuple[str, ...]]:
    """('TABLE' | 'SCHEMA', object names, privileges that fit)."""
    if m["schema"]:
        names, kind = [ident(n) for n in re.findall(_IDENT, m["objects"])], "SCHEMA"
    else:
        names, kind = [_qualified(t) for t in re.findall(_QUALIFIED, m["objects"])], "TABLE"
    if any(n == STATE or n.startswith(STATE + ".") for n in names):
        raise PgError("42501", f"schema {STATE} holds the engine's state and the roles' verifiers: it is not granted")
    allowed = ON_TABLE if kind == "TABLE" or m["all_tables"] else ON_SCHEMA
    return kind, names, allowed


def _qualified(text: str) -> str:
    parts = [ident(p) for p in re.findall(_IDENT, text)]
    return ".".join(parts if len(parts) == 2 else [DEFAULT_SCHEMA, *parts])


def _grant_or_revoke(apply: Callable, tag: str) -> Callable[[Executor, re.Match], Outcome]:
    def handler(ex: Executor, m: re.Match) -> Outcome:
        _owner_only(ex, tag)
        kind, names, allowed = _objects(m)
        for privilege in _privileges(m["privileges"], allowed):
            for role in _items(m["roles"]):
                for name in names:
                    apply(ex.cursor, role, privilege, kind, name)
        return Outcome(tag)

    return handler


_OBJECTS = (
    r"ON\s+(?:(?P<all_tables>ALL\s+TABLES\s+IN\s+)?(?P<schema>SCHEMA)\s+|TABLE\s+)?"
    rf"(?P<objects>{_LIST(_QUALIFIED)})"
)
_PRIVS = r"(?P<privileges>ALL(?:\s+PRIVILEGES)?|[A-Za-z]+(?:\s*,\s*[A-Za-z]+)*)"

ROLE_COMMANDS: list[tuple[re.Pattern, Callable[[Executor, re.Match], Outcome]]] = [
    (re.compile(rf"\s*CREATE\s+(?:ROLE|USER)\s+(?P<name>{_IDENT})(?P<options>.*?)\s*;?\s*$", _F), _create),
    (re.compile(rf"\s*ALTER\s+(?:ROLE|USER)\s+(?P<name>{_IDENT})\s+(?P<options>(?:WITH\s+)?(?:ENCRYPTED\s+)?"
                rf"PASSWORD\s+{_PASSWORD})\s*;?\s*$", _F), _alter),
    (re.compile(rf"\s*DROP\s+(?:ROLE|USER)\s+(?P<exists>IF\s+EXISTS\s+)?(?P<names>{_LIST(_IDENT)})\s*;?\s*$", _F),
     _drop),
    (re.compile(rf"\s*GRANT\s+{_PRIVS}\s+{_OBJECTS}\s+TO\s+(?P<roles>{_LIST(_IDENT)})\s*;?\s*$", _F),
     _grant_or_revoke(roles.grant, "GRANT")),
    (re.compile(rf"\s*REVOKE\s+{_PRIVS}\s+{_OBJECTS}\s+FROM\s+(?P<roles>{_LIST(_IDENT)})\s*;?\s*$", _F),
     _grant_or_revoke(roles.revoke, "REVOKE")),
]


def match_role_command(sql: str) -> tuple[Callable, re.Match] | None:
    for pattern, handler in ROLE_COMMANDS:
        found = pattern.match(sql)
        if found:
            return handler, found
    return None
