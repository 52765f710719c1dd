"""One client's statements against its own DuckDB cursor.

Order of dispatch: statements the proxy answers itself (commands.py), our
statements (GENERATE …, through synthtab_db's Connection), catalog queries
(catalog.py), then plain SQL for DuckDB (translate.py).
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import duckdb

from synthtab_db.connection import Connection
from synthtab_db.dialect import STATEMENT_LEADS, split_script
from synthtab_db.duck import run_sql
from synthtab_db.guard import refuse_text_writes
from synthtab_db.proxy import catalog, privileges, translate
from synthtab_db.proxy.client import EMBEDDED, ClientInfo
from synthtab_db.proxy.commands import ends_transaction, match_command
from synthtab_db.proxy.errors import PgError
from synthtab_db.proxy.outcome import Outcome, from_arrow, from_cursor
from synthtab_db.proxy.role_commands import match_role_command
from synthtab_db.proxy.settings import TO_DUCKDB, Settings
from synthtab_db.proxy.transaction import FAILED, Transaction
from synthtab_db.udfs.function_owner import owner_of
from synthtab_db.udfs.synthesizer_functions import declare_all_macros

_RETRYABLE = (duckdb.ParserException, duckdb.BinderException, duckdb.CatalogException)


class Executor:
    def __init__(self, connection: Connection, settings: Settings, client: ClientInfo = EMBEDDED):
        self.connection = connection
        self.client = client
        self.cursor = connection.duckdb
        self.settings = settings
        self.tx = Transaction(self.cursor)
        self.cursors: dict[str, Outcome] = {}
        self.held: set[str] = set()  # WITH HOLD cursors outlive their transaction
        self.live: Outcome | None = None
        self.on_deallocate = lambda name: None
        self.params: list[Any] | None = None
        self.macros_at = -1  # the function owner's version this cursor's TEMP macros match

    # -- entry --------------------------------------------------------------------
    def run(self, sql: str, params: list[Any] | None = None) -> Outcome:
        if self.tx.status == FAILED and not ends_transaction(sql):
            self.tx.before_plain_statement()  # raises 25P02
        refuse_text_writes(sql)  # synthtab.* is the engine's alone, whoever asks
        command = match_command(sql) or match_role_command(sql)
        self.params = params  # DECLARE … CURSOR FOR <query with $n> binds them
        if command is not None:
            outcome = command[0](self, command[1])
            if outcome is not None:
                return outcome
        if params and _is_ours(sql):
            sql, params = with_literals(sql, params), None
        pieces = split_script(sql)
        if any(p.tree is not None for p in pieces):
            return self._ours(sql, pieces)
        if catalog.is_catalog_query(sql):
            self.park()
            return catalog.run(self.cursor, sql, params, self.settings, self.client.database_owner)
        return self._plain(sql, params)

    def _check(self, pieces) -> None:
        """Privileges first (privileges.py): a refused statement has touched nothing."""
        for piece in pieces:
            if piece.tree is not None:
                privileges.check_ours(self.cursor, self.client, piece.tree)
            else:
                privileges.check_plain(self.cursor, self.client, piece.text)

    def _ours(self, sql: str, pieces) -> Outcome:
        self.tx.before_own_statement(" ".join(translate.words(sql, 2)))
        self.park()
        self._check(pieces)
        result = self.connection.execute(sql)
        if hasattr(result, "arrow"):
            return from_arrow(result.arrow())
        return Outcome(translate.command_tag(sql))

    def _plain(self, sql: str, params: list[Any] | None) -> Outcome:
        self.tx.before_plain_statement()
        self.park()
        privileges.check_plain(self.cursor, self.client, sql)
        self.refresh_macros()
        self._execute(sql, params)
        return self._outcome(sql)

    def _execute(self, sql: str, params: list[Any] | None) -> None:
        """Parse first: inside a transaction a failed statement would abort it, so a
        text DuckDB can't parse is translated before it runs; a bind error is retried
        translated only outside a transaction."""
        if not self._parses(sql):
            sql = translate.translate(sql) or sql
        try:
            self._call(sql, params)
        except _RETRYABLE as err:
            translated = None if self.tx.duckdb_open else translate.translate(sql)
            if translated is None or translated.strip() == sql.strip():
                raise
            try:
                self._call(translated, params)
            except duckdb.Error:
                raise err from None

    def _parses(self, sql: str) -> bool:
        try:
            self.cursor.extract_statements(sql)
        except duckdb.ParserException:
            return False
        return True

    def _call(self, sql: str, params: list[Any] | None) -> None:
        if params:
            self.cursor.execute(sql, params)
        else:
            self.cursor.execute(sql)

    def _outcome(self, sql: str) -> Outcome:
        if translate.returns_rows(sql) and self.cursor.description:
            self.live = from_cursor(self.cursor)
            return self.live
        verb = translate.words(sql, 1)
        counted = self.cursor.fetchall() if self.cursor.description else []
        n = counted[0][0] if counted and len(counted[0]) == 1 and isinstance(counted[0][0], int) else 0
        if translate.is_ctas(sql):
            return Outcome(f"SELECT {n}")
        if verb and verb[0] in translate.COUNT_VERBS:
            return Outcome(translate.COUNT_VERBS[verb[0]].format(n=n))
        return Outcome(translate.command_tag(sql))

    def refresh_macros(self) -> None:
        """Another client may have trained or dropped a synthesizer since this cursor
        declared its table macros: declare them again."""
        if owner_of(self.cursor).version != self.macros_at:
            self.macros_at = declare_all_macros(self.cursor)

    def park(self) -> None:
        """A result still streaming must be read out before the cursor runs anything else."""
        if self.live is not None:
            self.live.materialize()
            self.live = None

    # -- description without running ------------------------------------------------
    def describe(self, sql: str, n_params: int) -> list | None:
        """Row shape of a statement before Bind: only queries, run with NULLs and no rows."""
        if not translate.returns_rows(sql) or match_command(sql) or any(p.tree for p in split_script(sql)):
            return None
        if catalog.is_catalog_query(sql):
            return catalog.run(self.cursor, sql, [None] * n_params, self.settings,
                               self.client.database_owner).columns
        self.tx.before_plain_statement()
        self.park()
        privileges.check_plain(self.cursor, self.client, sql)
        self._execute(f"SELECT * FROM ({sql.strip().rstrip(';')}) AS __describe LIMIT 0", [None] * n_params)
        outcome = from_cursor(self.cursor)
        self.cursor.fetchall()
        return outcome.columns

    # -- session parameters -----------------------------------------------------------
    def set_parameter(self, name: str, value: str) -> None:
        duckdb_name = TO_DUCKDB.get(name.lower())
        if duckdb_name:
            try:
                run_sql(self.cursor, f"SET SESSION {duckdb_name} = $v", {"v": value})
            except duckdb.Error as err:
                raise PgError("22023", f"invalid value for parameter {name}: {value!r} ({err})") from None
        self.settings.set(name, value)

    # -- cursors --------------------------------------------------------------------
    def declare(self, name: str, query: str, hold: bool) -> None:
        key = _cursor_name(name)
        if key in self.cursors:
            raise PgError("42P03", f'cursor "{key}" already exists')
        if self.tx.status == "I" and not hold:
            raise PgError("25P01", "DECLARE CURSOR can only be used in transaction blocks")
        outcome = self.run(query, self.params)
        if not outcome.returns_rows:
            raise PgError("42P11", "cursor can only scan a query that returns rows")
        outcome.materialize()
        self.live = None
        self.cursors[key] = outcome
        if hold:
            self.held.add(key)

    def fetch(self, name: str, limit: int, move: bool = False) -> Outcome:
        key = _cursor_name(name)
        source = self.cursors.get(key)
        if source is None:
            raise PgError("34000", f'cursor "{key}" does not exist')
        rows, _ = source.take(limit)
        if move:
            return Outcome(f"MOVE {len(rows)}")
        out = Outcome("FETCH", source.columns, iter(rows))
        return out

    def close_cursor(self, name: str | None) -> None:
        if name is None:
            self.cursors.clear()
            self.held.clear()
            return
        key = _cursor_name(name)
        self.held.discard(key)
        if self.cursors.pop(key, None) is None:
            raise PgError("34000", f'cursor "{key}" does not exist')

    def deallocate(self, name: str | None) -> None:
        self.on_deallocate(name)

    def discard(self) -> None:
        self.cursors.clear()
        self.settings.reset(None)
        self.on_deallocate(None)

    def end_of_transaction(self) -> None:
        """Cursors without HOLD live only as long as their transaction."""
        if self.tx.status == "I":
            self.cursors = {k: v for k, v in self.cursors.items() if k in self.held}


def _is_ours(sql: str) -> bool:
    lead = tuple(translate.words(sql, 2))
    return any(lead[: len(words)] == words for words in STATEMENT_LEADS)


def with_literals(sql: str, params: list[Any]) -> str:
    """Our statements are parsed before DuckDB sees them, so $n parameters become SQL literals."""

    def literal(match: re.Match) -> str:
        index = int(match[1]) - 1
        if index >= len(params):
            raise PgError("08P01", f"statement uses ${index + 1} but only {len(params)} parameters were bound")
        value = params[index]
        if value is None:
            return "NULL"
        if isinstance(value, bool):
            return "TRUE" if value else "FALSE"
        if isinstance(value, (int, float, Decimal)):
            return str(value)
        return "'" + str(value).replace("'", "''") + "'"

    return re.sub(r"\$(\d+)", literal, sql)


def _cursor_name(name: str) -> str:
    return name[1:-1] if name.startswith('"') else name.lower()


