"""Statements the proxy answers itself, matched by a leading pattern: transaction
control, SET/SHOW/RESET, cursors (DECLARE/FETCH/CLOSE), DEALLOCATE, DISCARD.

Adding one is one entry in COMMANDS: (pattern, handler(executor, match) -> Outcome).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Callable

from synthtab_db.proxy import types
from synthtab_db.proxy.errors import PgError
from synthtab_db.proxy.outcome import Outcome

if TYPE_CHECKING:
    from synthtab_db.proxy.executor import Executor

_F = re.IGNORECASE | re.DOTALL


def _begin(ex: Executor, m: re.Match) -> Outcome:
    ex.tx.begin()
    return Outcome("BEGIN")


def _commit(ex: Executor, m: re.Match) -> Outcome:
    return Outcome(ex.tx.commit())


def _rollback(ex: Executor, m: re.Match) -> Outcome:
    ex.tx.rollback()
    return Outcome("ROLLBACK")


def _savepoint(ex: Executor, m: re.Match) -> Outcome:
    """postgres_fdw opens savepoints for local subtransactions; DuckDB has none, and
    nothing the proxy runs inside one needs undoing apart from the whole transaction."""
    return Outcome(m[1].upper())


def _rollback_to(ex: Executor, m: re.Match) -> Outcome:
    raise PgError("0A000", "ROLLBACK TO SAVEPOINT is not supported (DuckDB has no savepoints); ROLLBACK the transaction")


def _unquote(value: str) -> str:
    value = value.strip().rstrip(";").strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1].replace(value[0] * 2, value[0])
    return value


def _set(ex: Executor, m: re.Match) -> Outcome:
    name, value = m["name"], _unquote(m["value"])
    if name.lower() == "time zone":
        name = "timezone"
    ex.set_parameter(name, value)
    return Outcome("SET")


def _show(ex: Executor, m: re.Match) -> Outcome | None:
    name = m[1]
    value = ex.settings.get(name)
    if value is None:
        return None  # not ours: SHOW TABLES and friends go to DuckDB
    return Outcome("SHOW", [(name.lower(), types.TEXT)], iter([(value,)]))


def _reset(ex: Executor, m: re.Match) -> Outcome:
    ex.settings.reset(None if m[1].upper() == "ALL" else m[1])
    return Outcome("RESET")


def _declare(ex: Executor, m: re.Match) -> Outcome:
    ex.declare(m["name"], m["query"], hold=bool(m["hold"]))
    return Outcome("DECLARE CURSOR")


def _fetch(ex: Executor, m: re.Match) -> Outcome:
    count = m["count"]
    limit = 0 if count is None and m["all"] else int(count or 1)
    return ex.fetch(m["name"], limit, move=m["verb"].upper() == "MOVE")


def _close(ex: Executor, m: re.Match) -> Outcome:
    ex.close_cursor(None if m[1].upper() == "ALL" else m[1])
    return Outcome("CLOSE CURSOR")


def _deallocate(ex: Executor, m: re.Match) -> Outcome:
    ex.deallocate(None if m[1].upper() == "ALL" else m[1])
    return Outcome("DEALLOCATE")


def _discard(ex: Executor, m: re.Match) -> Outcome:
    ex.discard()
    return Outcome("DISCARD ALL")


def _noop(tag: str) -> Callable[[Executor, re.Match], Outcome]:
    return lambda ex, m: Outcome(tag)


_NAME = r'(?P<name>"[^"]+"|[A-Za-z_][\w$]*)'

COMMANDS: list[tuple[re.Pattern, Callable[[Executor, re.Match], Outcome | None]]] = [
    (re.compile(r"\s*(BEGIN|START\s+TRANSACTION)\b", _F), _begin),
    (re.compile(r"\s*(COMMIT|END)(\s+(WORK|TRANSACTION))?\s*;?\s*$", _F), _commit),
    (re.compile(r"\s*(ROLLBACK|ABORT)(\s+(WORK|TRANSACTION))?\s*;?\s*$", _F), _rollback),
    (re.compile(r"\s*ROLLBACK\s+(WORK\s+|TRANSACTION\s+)?TO\b", _F), _rollback_to),
    (re.compile(r"\s*(SAVEPOINT|RELEASE)\b", _F), _savepoint),
    (re.compile(r"\s*SET\s+(SESSION\s+|LOCAL\s+)?(?P<name>TIME\s+ZONE)\s+(?P<value>.+)$", _F), _set),
    (re.compile(r"\s*SET\s+(SESSION\s+|LOCAL\s+)?(?P<name>[\w.]+)\s*(=|\s+TO\s+)\s*(?P<value>.+)$", _F), _set),
    (re.compile(r"\s*SHOW\s+([\w.]+)\s*;?\s*$", _F), _show),
    (re.compile(r"\s*RESET\s+([\w.]+)\s*;?\s*$", _F), _reset),
    (
        re.compile(
            rf"\s*DECLARE\s+{_NAME}\s+(BINARY\s+)?(INSENSITIVE\s+)?((NO\s+)?SCROLL\s+)?CURSOR\s+"
            r"((?P<hold>WITH)\s+HOLD\s+|WITHOUT\s+HOLD\s+)?FOR\s+(?P<query>.+)$",
            _F,
        ),
        _declare,
    ),
    (
        re.compile(
            r"\s*(?P<verb>FETCH|MOVE)\s+((FORWARD|NEXT)\s+)?((?P<all>ALL)|(?P<count>\d+))?\s*"
            rf"((FROM|IN)\s+)?{_NAME}\s*;?\s*$",
            _F,
        ),
        _fetch,
    ),
    (re.compile(r'\s*CLOSE\s+("[^"]+"|[\w$]+)\s*;?\s*$', _F), _close),
    (re.compile(r'\s*DEALLOCATE\s+(?:PREPARE\s+)?("[^"]+"|[\w$]+)\s*;?\s*$', _F), _deallocate),
    (re.compile(r"\s*DISCARD\s+ALL\s*;?\s*$", _F), _discard),
    (re.compile(r"\s*(LISTEN|UNLISTEN|NOTIFY)\b", _F), lambda ex, m: Outcome(m[1].upper())),
]


def match_command(sql: str) -> tuple[Callable, re.Match] | None:
    for pattern, handler in COMMANDS:
        found = pattern.match(sql)
        if found:
            return handler, found
    return None


def ends_transaction(sql: str) -> bool:
    return bool(re.match(r"\s*(COMMIT|END|ROLLBACK|ABORT)\b", sql, _F)) and not re.match(
        r"\s*ROLLBACK\s+(WORK\s+|TRANSACTION\s+)?TO\b", sql, _F
    )
